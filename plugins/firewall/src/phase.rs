//! The firewall [`Phase`]: reads `X-GR-Guardrails` with the headers, decides at the request stage
//! which rules apply to this request (its workspace, key and model, and the guardrail level), checks
//! the prompt and metadata, and keeps what the answer stage needs with `ex.put_data`; then checks the
//! answer, whole or streamed, only when a response rule applies.

use switchyard_sdk::ir::ChatResponse;
use switchyard_sdk::{AnswerWatch, Decision, Endpoint, Exchange, Phase, StreamDecision};

use crate::check;
use crate::guardrails::{self, Guardrails};
use crate::policy::{Firewall, RuleBits, RuleId, Who};
use crate::stream::{self, StreamState};

pub(crate) const NAME: &str = "firewall";

/// The compiled policies of one snapshot, as a phase.
#[derive(Debug)]
pub(crate) struct FirewallPhase {
    pub fw: Firewall,
}

/// What the request stage decided, for the answer stage.
#[derive(Debug, Default)]
pub(crate) struct RequestState {
    level: Guardrails,
    /// Response rules that apply.
    response: Vec<RuleId>,
    /// Response rules that apply if the answering model matches their model filter.
    later: Vec<RuleId>,
    /// The response rules once the answering model is known.
    want: Option<RuleBits>,
    /// The longest a response match can be (capped): what a stream may hold back.
    window: usize,
    stream: StreamState,
}

fn who(ex: &Exchange) -> Who<'_> {
    Who {
        workspace: ex.identity.as_ref().map(|i| &*i.workspace),
        key: ex.identity.as_ref().map(|i| &*i.key_name),
        requested: ex.request().map(|r| r.model.as_str()),
        answering: ex.answering_model.as_deref(),
    }
}

impl FirewallPhase {
    /// Settle the response rules once the answering model is known (the first answer-stage call).
    fn resolve(&self, ex: &mut Exchange) {
        let Some(st) = ex.data::<RequestState>(NAME) else {
            return;
        };
        if st.want.is_some() {
            return;
        }
        let w = who(ex);
        let mut ids = st.response.clone();
        ids.extend(st.later.iter().copied().filter(|id| self.fw.admits_later(*id, &w)));
        let want = RuleBits::of(&ids);
        if let Some(st) = ex.data_mut::<RequestState>(NAME) {
            st.want = Some(want);
        }
    }
}

impl Phase for FirewallPhase {
    fn name(&self) -> &'static str {
        NAME
    }

    /// An invalid `X-GR-Guardrails` is refused before the body is read.
    fn on_headers(&self, head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        if !ex.endpoint.is_inference() && ex.endpoint != Endpoint::RulesPreview {
            return Decision::Continue;
        }
        match guardrails::from_headers(&head.headers) {
            Ok(level) => {
                ex.put_data(
                    NAME,
                    RequestState {
                        level,
                        ..RequestState::default()
                    },
                );
                Decision::Continue
            }
            Err(reject) => Decision::Respond(reject),
        }
    }

    fn on_request(&self, head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let level = match ex.data::<RequestState>(NAME) {
            Some(st) => st.level,
            None => match guardrails::from_headers(&head.headers) {
                Ok(level) => level,
                Err(reject) => return Decision::Respond(reject),
            },
        };
        let plan = self.fw.plan(&who(ex), level);
        let checked = ex.request().map(|req| check::check_request(&self.fw, req, &plan));
        if let Some(c) = checked {
            self.fw.report(ex, c.reports);
            if let Some(block) = c.block {
                return Decision::Respond(self.fw.block(ex, &block));
            }
            if !c.edits.is_empty() {
                if let Some(req) = ex.request_mut() {
                    check::apply_edits(req, c.edits);
                }
            }
        }
        let window = plan
            .response
            .iter()
            .chain(&plan.later)
            .map(|id| self.fw.window(*id))
            .max()
            .unwrap_or(0);
        // The Headers stage left its state for inference requests: fill it in place rather than box a
        // second one per request.
        match ex.data_mut::<RequestState>(NAME) {
            Some(st) => {
                st.response = plan.response;
                st.later = plan.later;
                st.window = window;
                st.want = None;
                st.stream = StreamState::default();
            }
            None => ex.put_data(
                NAME,
                RequestState {
                    level,
                    response: plan.response,
                    later: plan.later,
                    want: None,
                    window,
                    stream: StreamState::default(),
                },
            ),
        }
        Decision::Continue
    }

    fn watch_answer(&self, ex: &Exchange) -> Option<AnswerWatch> {
        let st = ex.data::<RequestState>(NAME)?;
        if st.response.is_empty() && st.later.is_empty() {
            return None;
        }
        Some(AnswerWatch {
            whole: true,
            stream: true,
            holdback: stream::holdback(st.window),
            collect: false,
        })
    }

    fn on_answer(&self, ex: &mut Exchange, answer: &mut ChatResponse) -> Decision {
        self.resolve(ex);
        let Some(want) = ex.data::<RequestState>(NAME).and_then(|st| st.want.clone()) else {
            return Decision::Continue;
        };
        if want.is_empty() {
            return Decision::Continue;
        }
        let (reports, block) = check::check_answer(&self.fw, answer, &want);
        self.fw.report(ex, reports);
        match block {
            Some(b) => Decision::Respond(self.fw.block(ex, &b)),
            None => Decision::Continue,
        }
    }

    fn on_stream_delta(&self, ex: &mut Exchange, held: &mut String, last: bool) -> StreamDecision {
        self.resolve(ex);
        let Some(st) = ex.data_mut::<RequestState>(NAME) else {
            return StreamDecision::Release(held.len());
        };
        let RequestState {
            want, window, stream, ..
        } = st;
        let Some(want) = want.as_ref().filter(|w| !w.is_empty()) else {
            return StreamDecision::Release(held.len());
        };
        let delta = stream.delta(&self.fw, want, *window, held, last);
        self.fw.report(ex, delta.reports);
        match delta.block {
            Some(b) => StreamDecision::End(self.fw.block(ex, &b)),
            None => StreamDecision::Release(delta.release),
        }
    }
}

//! Unit tests of the phase runner and the answer hooks (typed inputs in, decisions out).

use std::sync::{Arc, Mutex};

use switchyard_sdk::ir::{ChatRequest, ChatResponse, Message, OutPart, Role};
use switchyard_sdk::{AnswerWatch, Decision, Endpoint, Exchange, Phase, Reject, RejectKind, StreamDecision};

use super::*;

fn head() -> http::request::Parts {
    http::Request::new(()).into_parts().0
}

fn ex() -> Exchange {
    let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
    ex.set_request(ChatRequest {
        model: "m".into(),
        messages: vec![Message::text(Role::User, "hi")],
        ..Default::default()
    });
    ex
}

/// Records what it saw; refuses, answers or edits as told.
struct Probe {
    name: &'static str,
    seen: Arc<Mutex<Vec<String>>>,
    refuse: bool,
    answer: bool,
}

impl Phase for Probe {
    fn name(&self) -> &'static str {
        self.name
    }

    fn on_request(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        self.seen.lock().unwrap().push(format!("{}:request", self.name));
        if self.refuse {
            return Decision::Respond(Reject::new(RejectKind::Forbidden, "no", "refused"));
        }
        if self.answer {
            return Decision::Answer(Box::new(switchyard_sdk::PhaseAnswer {
                response: ChatResponse::default(),
                model: "m".into(),
                router: None,
                headers: vec![],
                kind: switchyard_sdk::AnswerKind::Cached,
            }));
        }
        if let Some(r) = ex.request_mut() {
            r.model.push('!');
        }
        Decision::Continue
    }
}

fn probe(name: &'static str, seen: &Arc<Mutex<Vec<String>>>, refuse: bool, answer: bool) -> Arc<dyn Phase> {
    Arc::new(Probe {
        name,
        seen: seen.clone(),
        refuse,
        answer,
    })
}

#[test]
fn phases_run_in_order_and_the_first_refusal_stops_the_rest() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let phases = vec![
        probe("a", &seen, false, false),
        probe("b", &seen, true, false),
        probe("c", &seen, false, false),
    ];
    let mut e = ex();
    let r = Pipeline::new(&phases).run(Stage::Request, &head(), &mut e);
    assert!(matches!(r, Err(GatewayError::Rejected(ref x)) if x.code == "no"));
    assert_eq!(*seen.lock().unwrap(), vec!["a:request", "b:request"]);
    assert_eq!(e.request().unwrap().model, "m!", "a's edit is kept");
    assert!(e.request_modified());
}

#[test]
fn an_answer_ends_the_stage_and_names_its_phase() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let phases = vec![probe("cache", &seen, false, true), probe("late", &seen, false, false)];
    let mut e = ex();
    match Pipeline::new(&phases).run(Stage::Request, &head(), &mut e) {
        Ok(Verdict::Answered { phase, .. }) => assert_eq!(phase, "cache"),
        _ => panic!("expected an answer"),
    }
    assert_eq!(*seen.lock().unwrap(), vec!["cache:request"]);
    assert!(!e.request_modified());
}

/// Masks `secret` in answers and streams, holding back up to 5 bytes; blocks on `stop`.
struct Masker {
    holdback: usize,
}

impl Phase for Masker {
    fn name(&self) -> &'static str {
        "masker"
    }

    fn watch_answer(&self, _ex: &Exchange) -> Option<AnswerWatch> {
        Some(AnswerWatch {
            whole: true,
            stream: true,
            holdback: self.holdback,
            collect: false,
        })
    }

    fn on_answer(&self, _ex: &mut Exchange, answer: &mut ChatResponse) -> Decision {
        for p in &mut answer.parts {
            if let OutPart::Text(t) = p {
                if t.contains("stop") {
                    return Decision::Respond(Reject::new(RejectKind::Forbidden, "blocked", "no"));
                }
                *t = t.replace("secret", "[X]");
            }
        }
        Decision::Continue
    }

    fn on_stream_delta(&self, _ex: &mut Exchange, held: &mut String, last: bool) -> StreamDecision {
        if held.contains("stop") {
            return StreamDecision::End(Reject::new(RejectKind::Forbidden, "blocked", "no"));
        }
        *held = held.replace("secret", "[X]");
        if last {
            return StreamDecision::Release(held.len());
        }
        // Hold back a tail that could be the start of "secret".
        let keep = (1..="secret".len())
            .rev()
            .find(|&k| {
                k <= held.len()
                    && held.is_char_boundary(held.len() - k)
                    && "secret".starts_with(&held[held.len() - k..])
            })
            .unwrap_or(0);
        StreamDecision::Release(held.len() - keep)
    }
}

#[test]
fn no_watcher_keeps_the_fast_path() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let phases = vec![probe("a", &seen, false, false)];
    let h = Pipeline::new(&phases).watch(&ex());
    assert!(h.is_empty() && !h.wants_whole() && !h.wants_stream());
}

#[test]
fn whole_answers_are_edited_or_refused() {
    let phases: Vec<Arc<dyn Phase>> = vec![Arc::new(Masker { holdback: 64 })];
    let mut e = ex();
    let h = Pipeline::new(&phases).watch(&e);
    let mut resp = ChatResponse {
        parts: vec![OutPart::Text("my secret is out".into())],
        ..Default::default()
    };
    h.on_answer(&phases, &mut e, &mut resp).unwrap();
    assert_eq!(resp.text(), "my [X] is out");
    let mut resp = ChatResponse {
        parts: vec![OutPart::Text("stop".into())],
        ..Default::default()
    };
    assert!(h.on_answer(&phases, &mut e, &mut resp).is_err());
}

#[test]
fn a_match_split_across_deltas_never_leaves_unmasked() {
    let phases: Vec<Arc<dyn Phase>> = vec![Arc::new(Masker { holdback: 64 })];
    let mut e = ex();
    let mut s = Pipeline::new(&phases).watch(&e).stream_hooks();
    let mut out = String::new();
    for d in ["the se", "cr", "et is ", "é", "secr"] {
        let released = s.delta(&phases, &mut e, d).unwrap();
        out.push_str(&released);
        assert!(!out.contains("secret"), "{out:?}");
    }
    assert_eq!(out, "the [X] is é");
    out.push_str(&s.finish(&phases, &mut e).unwrap());
    assert_eq!(out, "the [X] is ésecr", "an incomplete match is released at the end");
}

#[test]
fn the_holdback_is_bounded_and_cuts_on_char_boundaries() {
    let phases: Vec<Arc<dyn Phase>> = vec![Arc::new(Hoarder)];
    let mut e = ex();
    let mut s = AnswerHooks::new(&phases, &e).stream_hooks();
    let first = s.delta(&phases, &mut e, "ééééé").unwrap();
    // 10 bytes held, at most 3 may stay: 7 released, moved up to a char boundary (8).
    assert_eq!(first, "éééé");
    let rest = s.finish(&phases, &mut e).unwrap();
    assert_eq!(rest, "é");
}

/// Holds everything it may.
struct Hoarder;

impl Phase for Hoarder {
    fn name(&self) -> &'static str {
        "hoarder"
    }

    fn watch_answer(&self, _ex: &Exchange) -> Option<AnswerWatch> {
        Some(AnswerWatch {
            stream: true,
            holdback: 3,
            ..Default::default()
        })
    }

    fn on_stream_delta(&self, _ex: &mut Exchange, _held: &mut String, _last: bool) -> StreamDecision {
        StreamDecision::Release(0)
    }
}

#[test]
fn a_block_mid_stream_ends_it() {
    let phases: Vec<Arc<dyn Phase>> = vec![Arc::new(Masker { holdback: 64 })];
    let mut e = ex();
    let mut s = Pipeline::new(&phases).watch(&e).stream_hooks();
    assert_eq!(s.delta(&phases, &mut e, "fine ").unwrap(), "fine ");
    assert_eq!(
        s.delta(&phases, &mut e, "then stop").map_err(|r| r.code),
        Err("blocked")
    );
}

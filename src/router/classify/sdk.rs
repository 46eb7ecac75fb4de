//! The classifier as the plugin SDK sees it: [`Classifier`] implements `switchyard_sdk::Classify`, so
//! a request's [`Exchange`](switchyard_sdk::Exchange) can classify its prompt lazily, at most once,
//! for whoever asks first (a rule with a task condition, or `auto`), and the router reads the same
//! result back as its own [`Classification`].

use std::sync::Arc;

use switchyard_sdk::ir::ChatRequest;

use super::{Classification, Classifier, Task, Tier};

impl switchyard_sdk::Classify for Classifier {
    fn classify(&self, req: &ChatRequest) -> switchyard_sdk::Classification {
        self.classify_request(req).to_sdk()
    }
}

impl Tier {
    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "SIMPLE" => Some(Tier::Simple),
            "MEDIUM" => Some(Tier::Medium),
            "COMPLEX" => Some(Tier::Complex),
            _ => None,
        }
    }
}

impl Classification {
    pub fn to_sdk(&self) -> switchyard_sdk::Classification {
        switchyard_sdk::Classification {
            task: self.task.as_str(),
            confidence: self.confidence,
            runner_up: self.runner_up.as_str(),
            complexity_tier: self.complexity_tier.as_str(),
            complexity_score: self.complexity_score,
            language: self.language,
            tokens: self.tokens,
            strong: self.strong,
            reasons: self.reasons.clone(),
        }
    }

    /// The router's view of a classification the exchange holds. Task and tier names come from this
    /// module's own `as_str`, so they parse; unknown ones (a phase's own classification) read as chat
    /// and simple.
    pub fn from_sdk(c: &switchyard_sdk::Classification) -> Classification {
        Classification {
            task: Task::parse(c.task).unwrap_or(Task::Chat),
            confidence: c.confidence,
            runner_up: Task::parse(c.runner_up).unwrap_or(Task::Chat),
            complexity_tier: Tier::parse(c.complexity_tier).unwrap_or(Tier::Simple),
            complexity_score: c.complexity_score,
            language: c.language,
            tokens: c.tokens,
            strong: c.strong,
            reasons: c.reasons.clone(),
        }
    }
}

/// The classifier for a snapshot: the weights file's, or the built-in weights.
pub fn build(weights: Option<&std::path::Path>) -> Result<Arc<dyn switchyard_sdk::Classify>, String> {
    let c = match weights {
        None => Classifier::builtin(),
        Some(p) => Classifier::load(p)?,
    };
    Ok(Arc::new(c))
}

/// A bare prompt's classification (a one-message conversation), through a snapshot's classifier.
pub fn classify_prompt(c: &dyn switchyard_sdk::Classify, prompt: &str) -> Classification {
    let req = ChatRequest {
        messages: vec![switchyard_sdk::ir::Message::text(
            switchyard_sdk::ir::Role::User,
            prompt,
        )],
        ..Default::default()
    };
    Classification::from_sdk(&c.classify(&req))
}

/// A request's classification through a snapshot's classifier.
pub fn classify_request(c: &dyn switchyard_sdk::Classify, req: &ChatRequest) -> Classification {
    Classification::from_sdk(&c.classify(req))
}

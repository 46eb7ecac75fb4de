//! `POST /v1/auto/feedback {prompt, classified_task, correct, confidence, suggested_task?}`: a client
//! says whether the classifier got a prompt's task right.
//!
//! What happens to it: it is validated, written to the store (durable; the `feedback` table, subject to
//! the store's retention; `GET /v1/preferences/suggestions` reads it), and kept in this process's
//! memory, per workspace, the newest `PER_WORKSPACE` entries (the prompt is kept up to `PROMPT_BYTES`
//! bytes, never logged) with counters (received, correct, per task, the most frequent corrections)
//! since the process started. Feeding corrections back into the classifier's calibration is later
//! work. The answer carries the entry's id, the classifier's current view of the prompt, and the
//! workspace's summary since start.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use serde_json::{json, Map, Value};

use super::fields::{body_object, field, opt_bool, opt_f64, opt_str, opt_task, round3};
use super::Call;
use crate::error::GatewayError;
use crate::router::classify::Task;

/// Entries kept per workspace.
pub const PER_WORKSPACE: usize = 1000;
/// Bytes of a prompt kept with its entry.
pub const PROMPT_BYTES: usize = 4096;
/// Corrections listed in the summary.
const TOP_CORRECTIONS: usize = 5;

#[allow(dead_code)] // the memory copy of what the store keeps; the summary reads the counters
struct Entry {
    id: String,
    received_unix: u64,
    key: String,
    prompt: String,
    classified: Task,
    correct: bool,
    confidence: f64,
    suggested: Option<Task>,
}

#[derive(Default)]
struct Workspace {
    entries: VecDeque<Entry>,
    received: u64,
    correct: u64,
    /// Per classified task: (received, correct).
    by_task: HashMap<Task, (u64, u64)>,
    /// (classified, suggested) → count.
    corrections: HashMap<(Task, Task), u64>,
}

static STORE: LazyLock<Mutex<HashMap<String, Workspace>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
static SEQ: AtomicU64 = AtomicU64::new(0);

fn new_id() -> String {
    let mut b = [0u8; 8];
    let n = match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => SEQ.fetch_add(1, Ordering::Relaxed) ^ 0x5eed_f00d_0000_0000,
    };
    format!("fb_{n:016x}")
}

fn missing(param: &str, what: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        code: "missing_field",
        message: format!("{param} is required: {what}"),
        param: Some(param.to_string()),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

struct Parsed<'a> {
    prompt: &'a str,
    classified: Task,
    correct: bool,
    confidence: f64,
    suggested: Option<Task>,
}

fn parse(o: &Map<String, Value>) -> Result<Parsed<'_>, GatewayError> {
    let prompt = opt_str(o, "prompt")?.ok_or_else(|| missing("prompt", "the prompt that was classified"))?;
    if prompt.trim().is_empty() {
        return Err(GatewayError::invalid("prompt", "prompt must not be empty"));
    }
    let classified = opt_task(o, "classified_task")?
        .ok_or_else(|| missing("classified_task", "the task the prompt was classified as"))?;
    let correct = opt_bool(o, "correct")?.ok_or_else(|| missing("correct", "whether the classification was right"))?;
    if field(o, "confidence").is_none() {
        return Err(missing("confidence", "the classification's confidence, 0 to 1"));
    }
    let confidence = opt_f64(o, "confidence")?.unwrap_or_default();
    if !(0.0..=1.0).contains(&confidence) {
        return Err(GatewayError::invalid(
            "confidence",
            "confidence must be between 0 and 1",
        ));
    }
    let suggested = opt_task(o, "suggested_task")?;
    match suggested {
        Some(s) if correct && s != classified => {
            return Err(GatewayError::invalid(
                "suggested_task",
                "suggested_task differs from classified_task but correct is true",
            ))
        }
        Some(s) if !correct && s == classified => {
            return Err(GatewayError::invalid(
                "suggested_task",
                "suggested_task must differ from classified_task when correct is false",
            ))
        }
        _ => {}
    }
    Ok(Parsed {
        prompt,
        classified,
        correct,
        confidence,
        suggested,
    })
}

pub fn submit(call: &Call) -> Result<Value, GatewayError> {
    let o = body_object(call)?;
    let p = parse(&o)?;
    let workspace = call.identity.map_or("", |i| &*i.workspace).to_string();
    let now = crate::router::classify::sdk::classify_prompt(&*call.snap.classifier, p.prompt);
    let id = new_id();
    let entry = Entry {
        id: id.clone(),
        received_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        key: call.identity.map_or("", |i| &*i.key_name).to_string(),
        prompt: truncate(p.prompt, PROMPT_BYTES),
        classified: p.classified,
        correct: p.correct,
        confidence: p.confidence,
        suggested: p.suggested,
    };
    let stored = call.store.is_some_and(|st| {
        st.feedback(crate::store::feedback::FeedbackRow {
            id: id.clone(),
            ts_ms: crate::store::now_ms(),
            workspace: workspace.clone(),
            key_name: entry.key.clone(),
            prompt: entry.prompt.clone(),
            classified_task: p.classified.as_str(),
            correct: p.correct,
            confidence: p.confidence,
            suggested_task: p.suggested.map(Task::as_str),
        })
    });
    let summary = {
        let mut store = STORE.lock().unwrap_or_else(|e| e.into_inner());
        let ws = store.entry(workspace.clone()).or_default();
        ws.received += 1;
        ws.correct += u64::from(p.correct);
        let t = ws.by_task.entry(p.classified).or_default();
        t.0 += 1;
        t.1 += u64::from(p.correct);
        if let Some(s) = p.suggested.filter(|_| !p.correct) {
            *ws.corrections.entry((p.classified, s)).or_default() += 1;
        }
        if ws.entries.len() >= PER_WORKSPACE {
            ws.entries.pop_front();
        }
        ws.entries.push_back(entry);
        summary_json(ws)
    };
    Ok(json!({
        "object": "auto.feedback",
        "accepted": true,
        "id": id,
        "workspace": workspace,
        "classified_task": p.classified.as_str(),
        "correct": p.correct,
        "confidence": p.confidence,
        "suggested_task": p.suggested.map(Task::as_str),
        "classifier_now": {
            "task": now.task.as_str(),
            "confidence": round3(f64::from(now.confidence)),
            "agrees_with_classified_task": now.task == p.classified,
        },
        "storage": if stored {
            "stored durably; the summary counts what this process received since it started".to_string()
        } else {
            format!("the store is off: kept in memory only, newest {PER_WORKSPACE} per workspace; lost at restart")
        },
        "summary": summary,
    }))
}

fn summary_json(ws: &Workspace) -> Value {
    let by_task: BTreeMap<&str, Value> = ws
        .by_task
        .iter()
        .map(|(t, (n, c))| (t.as_str(), json!({"received": n, "correct": c})))
        .collect();
    let mut corrections: Vec<(&(Task, Task), &u64)> = ws.corrections.iter().collect();
    corrections.sort_by(|a, b| {
        b.1.cmp(a.1)
            .then_with(|| a.0 .0.as_str().cmp(b.0 .0.as_str()))
            .then_with(|| a.0 .1.as_str().cmp(b.0 .1.as_str()))
    });
    json!({
        "received": ws.received,
        "correct": ws.correct,
        "incorrect": ws.received - ws.correct,
        "accuracy": if ws.received > 0 { round3(ws.correct as f64 / ws.received as f64) } else { 0.0 },
        "kept": ws.entries.len(),
        "capacity": PER_WORKSPACE,
        "by_task": by_task,
        "top_corrections": corrections.iter().take(TOP_CORRECTIONS).map(|((from, to), n)| json!({
            "from": from.as_str(), "to": to.as_str(), "count": n,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn parse_checks_fields() {
        let p = |s: &str| {
            let o: Map<String, Value> = serde_json::from_str(s).unwrap();
            parse(&o)
                .map(|_| ())
                .map_err(|e| (e.status(), e.param().map(str::to_string)))
        };
        let ok = r#"{"prompt":"x","classified_task":"code","correct":false,"confidence":0.4,"suggested_task":"math"}"#;
        assert!(p(ok).is_ok());
        let err = |s: &str| p(s).unwrap_err().1.unwrap();
        assert_eq!(
            err(r#"{"classified_task":"code","correct":true,"confidence":0.4}"#),
            "prompt"
        );
        assert_eq!(
            err(r#"{"prompt":"x","classified_task":"cod","correct":true,"confidence":0.4}"#),
            "classified_task"
        );
        assert_eq!(
            err(r#"{"prompt":"x","classified_task":"code","correct":"yes","confidence":0.4}"#),
            "correct"
        );
        assert_eq!(
            err(r#"{"prompt":"x","classified_task":"code","correct":true,"confidence":1.4}"#),
            "confidence"
        );
        assert_eq!(
            err(r#"{"prompt":"x","classified_task":"code","correct":true}"#),
            "confidence"
        );
        assert_eq!(
            err(r#"{"prompt":"x","classified_task":"code","correct":true,"confidence":0.4,"suggested_task":"math"}"#),
            "suggested_task"
        );
    }
}

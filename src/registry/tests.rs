//! Unit tests of the registry: typed sections, reuse of unchanged phases, state across rebuilds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use switchyard_sdk::{BuildEnv, Built, Exchange, Phase, Plugin};

use super::Registry;
use crate::config;

/// Counts the requests it sees in state that outlives its phase; `step` is how much each adds.
struct CounterPlugin;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterConfig {
    step: u64,
}

struct Counter {
    step: u64,
    seen: Arc<AtomicU64>,
}

impl Phase for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn on_request(&self, _head: &http::request::Parts, _ex: &mut Exchange) -> switchyard_sdk::Decision {
        self.seen.fetch_add(self.step, Ordering::SeqCst);
        switchyard_sdk::Decision::Continue
    }
}

impl Plugin for CounterPlugin {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn build(&self, section: Option<&serde_json::Value>, env: &BuildEnv) -> Built {
        let Some(section) = section else { return Ok(None) };
        let c: CounterConfig = switchyard_sdk::typed(section).map_err(|e| vec![e])?;
        let seen = env.state.get_or_init("counter", || AtomicU64::new(0));
        Ok(Some(Arc::new(Counter { step: c.step, seen })))
    }
}

fn write(dir: &std::path::Path, section: &str) {
    std::fs::write(
        dir.join("switchyard.yaml"),
        format!("providers:\n  p: {{kind: mock}}\nplugins:\n  counter:\n{section}"),
    )
    .unwrap();
    std::fs::write(
        dir.join("models.yaml"),
        "models:\n  - id: p/m\n    pricing: {input: 1, output: 2}\n    context_window: 1000\n    max_output: 100\n",
    )
    .unwrap();
}

/// One request through the snapshot's counter phase.
fn count(snap: &config::Snapshot) {
    let phase = snap.phases.iter().find(|p| p.name() == "counter").unwrap();
    let head = http::Request::new(()).into_parts().0;
    let mut ex = Exchange::new("r".into(), switchyard_sdk::Endpoint::ChatCompletions);
    phase.on_request(&head, &mut ex);
}

#[test]
fn a_plugins_state_survives_a_rebuild_and_an_unchanged_section_keeps_its_phase() {
    let d = tempfile::tempdir().unwrap();
    let reg = Registry::with(vec![Arc::new(CounterPlugin)]);
    let path = d.path().join("switchyard.yaml");
    write(d.path(), "    step: 1\n");
    let a = config::load(&path, &reg).unwrap();
    count(&a);
    let b = config::load(&path, &reg).unwrap();
    let same = |x: &config::Snapshot, y: &config::Snapshot| {
        let f = |s: &config::Snapshot| s.phases.iter().find(|p| p.name() == "counter").cloned().unwrap();
        Arc::ptr_eq(&f(x), &f(y))
    };
    assert!(same(&a, &b), "an unchanged section keeps its phase");
    write(d.path(), "    step: 10\n");
    let c = config::load(&path, &reg).unwrap();
    assert!(!same(&b, &c), "a changed section builds a new phase");
    count(&c);
    let seen = reg.state.get_or_init("counter", || AtomicU64::new(99));
    assert_eq!(
        seen.load(Ordering::SeqCst),
        11,
        "the old phase's count carried into the new one"
    );
}

#[test]
fn a_bad_section_names_file_line_and_field_and_unknown_plugins_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let reg = Registry::with(vec![Arc::new(CounterPlugin)]);
    let path = d.path().join("switchyard.yaml");
    write(d.path(), "    step: lots\n");
    let e = config::load(&path, &reg).unwrap_err().to_string();
    assert!(
        e.contains("switchyard.yaml:5: plugins.counter.step: invalid type"),
        "{e}"
    );
    std::fs::write(
        &path,
        "providers:\n  p: {kind: mock}\nplugins:\n  counter: {step: 1}\n  nosuch: {}\n",
    )
    .unwrap();
    let e = config::load(&path, &reg).unwrap_err().to_string();
    assert!(
        e.contains("plugins.nosuch: unknown plugin \"nosuch\"; known: counter"),
        "{e}"
    );
}

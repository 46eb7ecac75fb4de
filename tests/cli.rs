//! The command line: `check` names file, line and field path for every problem; `keys` prints keys
//! and hashes the gateway accepts; `classify --bench` times each prompt or all of them in turn.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::check;

fn write(dir: &std::path::Path, cfg: &str, models: &str) {
    std::fs::write(dir.join("switchyard.yaml"), cfg).unwrap();
    std::fs::write(dir.join("models.yaml"), models).unwrap();
}

const MODELS: &str =
    "models:\n  - id: p/m\n    pricing: {input: 1, output: 2}\n    context_window: 1000\n    max_output: 100\n";

#[test]
fn the_shipped_config_is_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (ok, out) = check(&root.join("conf"));
    assert!(ok, "{out}");
    assert!(out.contains("OK"), "{out}");
}

#[test]
fn a_structural_error_names_file_line_and_field() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "server:\n  listen: 127.0.0.1:1\n  bogus: true\nproviders:\n  p: {kind: mock}\n",
        MODELS,
    );
    let (ok, out) = check(d.path());
    assert!(!ok);
    assert!(
        out.contains("switchyard.yaml:3: server.bogus: unknown field `bogus`"),
        "{out}"
    );

    write(
        d.path(),
        "server:\n  max_body_bytes: lots\nproviders:\n  p: {kind: mock}\n",
        MODELS,
    );
    let (ok, out) = check(d.path());
    assert!(!ok);
    assert!(
        out.contains("switchyard.yaml:2: server.max_body_bytes: invalid type"),
        "{out}"
    );

    write(
        d.path(),
        "providers:\n  p:\n    kind: openai\n    base_url: ${SWITCHYARD_TEST_NOT_SET}\n",
        MODELS,
    );
    let (ok, out) = check(d.path());
    assert!(!ok);
    assert!(
        out.contains(
            "switchyard.yaml:4: providers.p.base_url: environment variable SWITCHYARD_TEST_NOT_SET is not set"
        ),
        "{out}"
    );

    write(d.path(), "providers: [unclosed\n", MODELS);
    let (ok, out) = check(d.path());
    assert!(!ok && out.contains("switchyard.yaml:"), "{out}");
}

#[test]
fn every_semantic_problem_is_listed_with_its_line() {
    let d = tempfile::tempdir().unwrap();
    let cfg = "server:\n  listen: nowhere\n  max_attempts: 99\nproviders:\n  p:\n    kind: mock\n  q:\n    kind: telepathy\n  r:\n    kind: openai\nkeys:\n  - name: k\n    hash: sha256:beef\n    workspace: w\n";
    let models = "models:\n  - id: p/m\n    pricing: {input: -1, output: 2}\n    context_window: 1000\n    max_output: 5000\n    capabilities: [flying]\n  - id: nobody/m\n    pricing: {input: 1, output: 2}\n    context_window: 1000\n    max_output: 10\n";
    write(d.path(), cfg, models);
    let (ok, out) = check(d.path());
    assert!(!ok);
    for expect in [
        "switchyard.yaml:2: server.listen:",
        "switchyard.yaml:3: server.max_attempts: 99 is out of range",
        "switchyard.yaml:8: providers.q.kind: unknown kind",
        "switchyard.yaml:9: providers.r.base_url: missing",
        "switchyard.yaml:13: keys[0].hash: must be sha256:",
        "models.yaml:3: models[0].pricing.input:",
        "models.yaml:5: models[0].max_output:",
        "models.yaml:6: models[0].capabilities: unknown capability \"flying\"",
        "models.yaml:7: models[1].id: provider \"nobody\"",
    ] {
        assert!(out.contains(expect), "missing {expect:?} in:\n{out}");
    }
    assert!(out.contains("9 problem(s)"), "{out}");
}

#[test]
fn generated_keys_hash_to_what_the_gateway_checks() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["keys", "generate", "--test", "--name", "ci"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text.lines().find_map(|l| l.strip_prefix("key: ")).unwrap().to_string();
    assert!(key.starts_with("sy_test_") && key.len() == 40, "{key}");
    let hash = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("hash: "))
        .unwrap()
        .to_string();
    assert_eq!(hash, common::hash(&key));
    let out = run_with_stdin(&["keys", "hash"], &key);
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), hash);
}

/// Runs `switchyard` with `args`, `input` on its stdin, and collects its output.
fn run_with_stdin(args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `switchyard classify` with `args` on `input`: (success, stdout lines as JSON, stderr).
fn classify(args: &[&str], input: &str) -> (bool, Vec<serde_json::Value>, String) {
    let out = run_with_stdin(&[&["classify"], args].concat(), input);
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn classify_benchmarks_each_prompt_or_all_in_turn() {
    let long = "Explain how a hash map handles collisions. ".repeat(40);
    let input = format!(
        "{}\n{}\n{}\n",
        serde_json::json!({"prompt": "Write a haiku about autumn."}),
        serde_json::json!({"prompt": long}),
        serde_json::json!({"prompt": "Translate good morning into French."}),
    );
    let (ok, each, err) = classify(&["--bench", "30"], &input);
    assert!(ok, "{err}");
    assert_eq!(each.len(), 3, "one line per prompt: {each:?}");
    let tokens: Vec<u64> = each.iter().map(|v| v["tokens"].as_u64().unwrap()).collect();
    assert!(tokens[1] > 10 * tokens[0], "{tokens:?}");

    let (ok, turn, err) = classify(&["--bench", "30", "--rotate"], &input);
    assert!(ok, "{err}");
    assert_eq!(turn.len(), 1, "one line for all prompts: {turn:?}");
    let v = &turn[0];
    assert_eq!(
        (v["prompts"].as_u64(), v["iterations"].as_u64()),
        (Some(3), Some(30)),
        "{v}"
    );
    assert_eq!(v["tokens_min"].as_u64(), tokens.iter().min().copied(), "{v}");
    assert_eq!(v["tokens_max"].as_u64(), tokens.iter().max().copied(), "{v}");
    let us = |k: &str| v[k].as_f64().unwrap();
    let (p50, p99, max) = (us("median_us"), us("p99_us"), us("max_us"));
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{v}");

    let (ok, _, err) = classify(&["--rotate"], &input);
    assert!(!ok, "--rotate without --bench is refused");
    assert!(err.contains("--bench"), "{err}");
}

#[test]
fn route_explain_with_a_test_key_routes_to_the_simulated_models() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args([
            "route",
            "--explain",
            "Write a haiku about rust",
            "--test-key",
            "--config",
        ])
        .arg(root.join("conf/switchyard.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["model"].as_str().unwrap().starts_with("sim/"), "{v}");
}

#[test]
fn check_warns_about_a_provider_whose_key_is_unset() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "providers:\n  p: {kind: mock}\n  o:\n    kind: openai\n    base_url: https://api.openai.com/v1\n    api_key_env: SWITCHYARD_TEST_KEY_NEVER_SET\n",
        "models:\n  - id: p/m\n    pricing: {input: 1, output: 2}\n    context_window: 1000\n    max_output: 100\n  - id: o/gpt\n    pricing: {input: 1, output: 2}\n    context_window: 1000\n    max_output: 100\n",
    );
    let (ok, out) = check(d.path());
    assert!(ok, "a missing key is a warning, not an error: {out}");
    assert!(
        out.contains("warning: provider o: its key variable SWITCHYARD_TEST_KEY_NEVER_SET is not set"),
        "{out}"
    );
    assert!(!out.contains("warning: provider p"), "{out}");
}

#[test]
fn listen_addresses_expand_environment_variables() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "server:\n  listen: ${SWITCHYARD_TEST_LISTEN_UNSET:-127.0.0.1:0}\n  admin_listen: ${SWITCHYARD_TEST_ADMIN_UNSET}\nproviders:\n  p: {kind: mock}\n",
        MODELS,
    );
    let (ok, out) = check(d.path());
    assert!(!ok);
    assert!(
        out.contains("server.admin_listen: environment variable SWITCHYARD_TEST_ADMIN_UNSET is not set"),
        "{out}"
    );
    assert!(!out.contains("server.listen"), "the default applies: {out}");
}

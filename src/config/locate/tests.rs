//! Unit tests of `locate`.

use super::*;

#[test]
fn finds_nested_paths() {
    let text = "server:\n  listen: a\nproviders:\n  openai:\n    kind: openai\n    base_url: x\nmodels:\n  - id: a\n    pricing: {input: 1, output: 2}\n  - id: b\n";
    let idx = line_index(text);
    assert_eq!(idx.get("server.listen"), Some(&2));
    assert_eq!(idx.get("providers.openai.base_url"), Some(&6));
    assert_eq!(idx.get("models[0].id"), Some(&8));
    assert_eq!(idx.get("models[0].pricing.output"), Some(&9));
    assert_eq!(idx.get("models[1].id"), Some(&10));
    assert_eq!(line_of(&idx, "models[1].id.deeper"), Some(10));
    assert_eq!(line_of(&idx, "nothing.here"), None);
}

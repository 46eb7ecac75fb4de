//! The catalog's alias rules: glob matching and which rule wins.

use super::snapshot::{glob_match, AliasRule, AliasTarget, Catalog};

#[test]
fn glob_matches_runs_of_characters() {
    assert!(glob_match("claude-*", "claude-opus-4-8"));
    assert!(glob_match("claude-opus-*", "claude-opus-"));
    assert!(glob_match("gpt-5*", "gpt-5"));
    assert!(glob_match("*-codex", "gpt-5.5-codex"));
    assert!(glob_match("gpt-*-codex*", "gpt-5.5-codex-mini"));
    assert!(glob_match("exact", "exact"));
    assert!(!glob_match("exact", "exactly"));
    assert!(!glob_match("claude-*", "claud-opus"));
    assert!(!glob_match("gpt-*-codex", "gpt-5.5-codex-mini"));
    assert!(!glob_match("a*a", "a"));
}

#[test]
fn exact_names_then_the_longest_pattern_win() {
    let rule = |p: &str, to: &str| AliasRule {
        pattern: p.into(),
        target: AliasTarget::Models(vec![to.into()]),
    };
    let c = Catalog::new(Vec::new()).with_rules(vec![
        rule("claude-*", "short"),
        rule("claude-opus-*", "long"),
        rule("claude-opus-4-8", "exact"),
    ]);
    let to = |name: &str| match c.alias_rule(name).map(|r| &r.target) {
        Some(AliasTarget::Models(m)) => m[0].clone(),
        _ => "none".into(),
    };
    assert_eq!(to("claude-opus-4-8"), "exact");
    assert_eq!(to("claude-opus-5-5"), "long");
    assert_eq!(to("claude-haiku-4-5"), "short");
    assert_eq!(to("gpt-5"), "none");
}

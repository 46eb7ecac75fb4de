//! Unit tests of `recommend`.

use super::*;

#[test]
fn stemming_meets_word_forms() {
    assert_eq!(stem("summarization"), stem("summarize"));
    assert_eq!(stem("summary"), stem("summarize"));
    assert_eq!(stem("coding"), stem("code"));
    assert_eq!(stem("documents"), "document");
    assert_eq!(stem("analysis"), "analysis");
    assert_eq!(stem("translation"), stem("translate"));
    assert_eq!(stem("stories"), stem("story"));
    assert_eq!(terms("The Fast, fast-model!"), vec!["fast", "fast", "model"]);
}

#[test]
fn bm25_prefers_the_matching_and_rarer_terms() {
    let docs: Vec<Vec<String>> = ["cheap fast chat model", "strong code reasoning model", "chat model"]
        .iter()
        .map(|d| terms(d))
        .collect();
    let s = bm25(&docs, &terms("write code"));
    assert!(s[1].0 > 0.0 && s[0].0 == 0.0 && s[2].0 == 0.0);
    assert_eq!(s[1].1, terms("code"));
    // "model" is in every document: it weighs less than the rarer "chat".
    let s = bm25(&docs, &terms("chat"));
    let m = bm25(&docs, &terms("model"));
    assert!(s[2].0 > m[2].0);
    // A shorter document with the same term scores higher.
    assert!(s[2].0 > s[0].0);
}

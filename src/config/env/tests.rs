//! Unit tests of `env`.

use super::expand;

fn env(k: &str) -> Option<String> {
    (k == "HOME_DIR").then(|| "/home/x".to_string())
}

#[test]
fn expands_defaults_and_escapes() {
    assert_eq!(expand("${HOME_DIR}/a", env).unwrap(), "/home/x/a");
    assert_eq!(expand("${NOPE:-fallback}", env).unwrap(), "fallback");
    assert_eq!(expand("${NOPE:-}", env).unwrap(), "");
    assert_eq!(expand("cost $$5 and $x", env).unwrap(), "cost $5 and $x");
    assert!(expand("${NOPE}", env).unwrap_err().contains("NOPE is not set"));
    assert!(expand("${BAD NAME}", env).is_err());
    assert!(expand("${OPEN", env).is_err());
}

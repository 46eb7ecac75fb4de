//! Unit tests of `keys`.

use super::*;

#[test]
fn keys_have_prefix_length_and_differ() {
    let a = generate(false).unwrap();
    let b = generate(true).unwrap();
    assert!(a.starts_with("sy_live_") && b.starts_with("sy_test_"));
    assert_eq!(a.len(), 40);
    assert!(a[8..].bytes().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(generate(false).unwrap(), a);
    assert_eq!(hash_line("sy_test_abc").len(), "sha256:".len() + 64);
}

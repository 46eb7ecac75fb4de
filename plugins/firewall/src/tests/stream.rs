//! Streamed answers: matches split across events are masked whole, nothing unmasked is ever
//! released, the released text equals the whole answer masked, releases fall on character
//! boundaries, the hold-back stays within what was declared, plain text is not delayed, and a block
//! ends the stream.

use serde_json::json;

use super::*;

fn masking() -> Arc<dyn Phase> {
    phase(rules(json!([
        {"name": "mail", "detector": "email", "scope": "response", "action": "mask"},
        {"name": "phone", "detector": "phone", "scope": "response", "action": "mask"},
        {"name": "host", "regex": r"\bhost-[0-9]{3}\.corp\b", "scope": "response", "action": "mask"},
        {"name": "falcon", "substring": "Project Falcon", "case_sensitive": false, "scope": "response", "action": "mask", "replacement": "[CODENAME]"},
        {"name": "geheim", "substring": "Geheimnis€", "scope": "response", "action": "mask"},
        {"name": "keys", "detector": "secrets", "scope": "response", "action": "mask"},
        {"name": "note", "substring": "confidential", "scope": "response", "action": "warn"},
    ])))
}

fn started(p: &dyn Phase) -> Exchange {
    let mut ex = exchange(user("hi"));
    assert_continue(run(p, &mut ex, None));
    ex
}

fn whole(p: &dyn Phase, text: &str) -> String {
    answer_whole(p, &mut started(p), text).unwrap()
}

/// Stream `deltas` and check the released text against the whole answer masked, and that no
/// released prefix ever holds one of `secrets`.
fn check(p: &dyn Phase, deltas: &[&str], secrets: &[&str]) -> Streamed {
    let text: String = deltas.concat();
    let want = whole(p, &text);
    let mut ex = started(p);
    let s = stream(p, &mut ex, deltas);
    assert!(s.end.is_none());
    for prefix in &s.prefixes {
        for secret in secrets {
            assert!(!prefix.contains(secret), "released {prefix:?} holds {secret:?}");
        }
        assert!(
            want.starts_with(prefix.as_str()),
            "released {prefix:?} is not a prefix of {want:?}"
        );
    }
    assert_eq!(s.out, want, "streamed {deltas:?}");
    for secret in secrets {
        assert_not_leaked(&ex, None, secret);
    }
    s
}

#[test]
fn a_match_split_across_two_events_is_masked() {
    let p = masking();
    let s = check(
        &*p,
        &["Write to jane.doe@corp.exa", "mple.com today."],
        &["jane.doe@corp.example.com"],
    );
    assert_eq!(s.out, "Write to [EMAIL] today.");
    assert_eq!(s.prefixes[0], "Write to ", "the text before the address goes at once");
    let s = check(
        &*p,
        &["Write to jane.doe@corp.exa", "mple.com today. And", " more."],
        &["jane.doe@corp.example.com"],
    );
    assert_eq!(
        s.prefixes[1], "Write to [EMAIL] today. ",
        "a settled address goes before the stream ends"
    );
    check(&*p, &["Ping host-04", "2.corp now"], &["host-042.corp"]);
    check(&*p, &["the project fal", "con ships"], &["project falcon"]);
}

#[test]
fn a_match_split_across_three_events_is_masked() {
    let p = masking();
    let s = check(
        &*p,
        &["mail jane.d", "oe@corp.exa", "mple.com now"],
        &["jane.doe@corp.example.com"],
    );
    assert_eq!(s.out, "mail [EMAIL] now");
    check(&*p, &["call +1 (41", "5) 555-26", "71 soon"], &["555-2671", "+1 (415)"]);
    let key = format!("sk-proj-{}", "Ab3_xY9-Qr7Z".repeat(12));
    let (a, rest) = key.split_at(20);
    let (b, c) = rest.split_at(60);
    let (first, last) = (format!("key {a}"), format!("{c} ok"));
    let deltas = [first.as_str(), b, last.as_str()];
    let s = check(&*p, &deltas, &[&key, &key[..12]]);
    assert_eq!(s.out, "key [SECRET] ok");
}

#[test]
fn multibyte_characters_at_the_cut_are_never_split() {
    let p = masking();
    let cases: [&[&str]; 4] = [
        &["☕ Gehe", "imnis€ und ☕", "☕ jane@corp.example.com ☕"],
        &["東京 jane@corp.exa", "mple.com 東", "京 𝄞"],
        &["Ünïcödé 𝄞", "𝄞 host-0", "42.corp ☕"],
        &["é", "€", "jane@corp.example.com", "é"],
    ];
    for deltas in cases {
        check(&*p, deltas, &["jane@corp.example.com", "Geheimnis€", "host-042.corp"]);
    }
}

#[test]
fn the_last_event_masks_and_releases_everything() {
    let p = masking();
    let s = check(
        &*p,
        &["ends with jane@corp.", "example.com"],
        &["jane@corp.example.com"],
    );
    assert_eq!(s.out, "ends with [EMAIL]");
    let s = check(&*p, &["a trailing host-001.corp"], &["host-001.corp"]);
    assert_eq!(s.out, "a trailing [REDACTED]");
}

#[test]
fn plain_text_is_released_at_once() {
    let p = masking();
    let mut ex = started(&*p);
    let s = stream(&*p, &mut ex, &["Hello there, ", "how are you? ", "Fine. ", "Bye"]);
    assert_eq!(
        s.prefixes,
        vec![
            "Hello there, ",
            "Hello there, how are you? ",
            "Hello there, how are you? Fine. ",
            "Hello there, how are you? Fine. Bye"
        ]
    );
    let mut ex = started(&*p);
    let s = stream(&*p, &mut ex, &["Hello wor", "ld, bye"]);
    assert_eq!(s.prefixes[0], "Hello ", "only a word that could start a match waits");
}

#[test]
fn holdback_is_bounded_by_what_was_declared() {
    // Only an SSN rule: the hold-back is a few bytes.
    let p = phase(rules(
        json!([{"name": "ssn", "detector": "us_ssn", "scope": "response", "action": "mask"}]),
    ));
    let ex = started(&*p);
    let declared = p.watch_answer(&ex).unwrap().holdback;
    assert!(declared <= 24, "an SSN needs 11 bytes, declared {declared}");
    let mut ex = started(&*p);
    let digits: Vec<String> = (0..400).map(|i| format!("{} ", i * 7919 % 100_000)).collect();
    let deltas: Vec<&str> = digits.iter().map(String::as_str).collect();
    let s = stream(&*p, &mut ex, &deltas);
    assert!(s.max_held <= declared);

    // Every detector, over a long answer with numbers, contacts and code: the simulator asserts
    // the bound on every event.
    let p = masking();
    let text = long_answer();
    let mut ex = started(&*p);
    let declared = p.watch_answer(&ex).unwrap().holdback;
    assert!(declared <= 256 + 16, "declared {declared}");
    let deltas = split(&text, 7);
    let s = stream(&*p, &mut ex, &deltas);
    assert_eq!(s.out, whole(&*p, &text));
}

#[test]
fn a_block_rule_ends_the_stream_before_the_secret_is_released() {
    let p = phase(rules(json!([
        {"name": "keys", "detector": "secrets", "scope": "response", "action": "block"},
        {"name": "mail", "detector": "email", "scope": "response", "action": "mask"},
    ])));
    let mut ex = started(&*p);
    let s = stream(
        &*p,
        &mut ex,
        &[
            "Sure, mail a@corp.example.com. The key is AKIAIOS",
            "FODNN7EXAMPLE and",
            " more text",
        ],
    );
    let r = s.end.expect("the stream is ended");
    assert_eq!((r.code, r.kind.status()), ("firewall_blocked", 403));
    assert!(!s.out.contains("AKIA"), "released {:?}", s.out);
    assert!(s.out.starts_with("Sure, mail [EMAIL]."), "{}", s.out);
    assert_eq!(ex.trace.last().unwrap().rule, "pii/keys");
    assert_not_leaked(&ex, Some(&r), "AKIAIOSFODNN7EXAMPLE");
}

#[test]
fn matches_longer_than_the_holdback_are_masked_whole() {
    let p = masking();
    let jwt = format!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJ{}.{}",
        "c3ViIjoiMTIzNDU2Nzg5MCIsIm5hbWUiOiJKb2huIERvZSJ9".repeat(12),
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c".repeat(3)
    );
    assert!(jwt.len() > 600);
    let text = format!("Bearer {jwt}. Done.");
    for size in [3, 16, 50] {
        let deltas = split(&text, size);
        let s = check(&*p, &deltas, &[&jwt[..40], &jwt[jwt.len() - 40..], &jwt[300..340]]);
        assert_eq!(s.out, "Bearer [SECRET]. Done.");
    }
    let body: String = (0..30)
        .map(|i| format!("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC{i:02}\n"))
        .collect();
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----");
    let text = format!("key:\n{pem}\nuse it wisely");
    for size in [5, 33] {
        let deltas = split(&text, size);
        let s = check(&*p, &deltas, &["MIIEvQIBADANBgkq", "-----END RSA"]);
        assert_eq!(s.out, "key:\n[SECRET]\nuse it wisely");
    }
}

#[test]
fn random_splits_stream_exactly_like_the_whole_answer() {
    let p = masking();
    let key = format!("sk-ant-api03-{}AA", "Zx8-Kp2_Lm4Q".repeat(8));
    let texts = [
        format!(
            "Contact jane.doe@corp.example.com or +44 20 7946 0958. Server host-042.corp is down; \
             Project Falcon ships 2024-05-01 (order 100-2345-6789, $1,299.99). Key {key} and \
             AKIAIOSFODNN7EXAMPLE. Ünïcödé ☕ Geheimnis€ confidential end"
        ),
        "☕☕ 東京 jane@corp.example.com 東京 ☕ Geheimnis€☕ 𝄞𝄞 (555) 123-4567".to_string(),
        "Order 100-2345-6789 on 2024-03-15 12:30:45, total $1,299.99 (v1.2.3) at 10:30.".to_string(),
        long_answer(),
    ];
    let secrets = [
        "jane.doe@corp.example.com",
        "host-042.corp",
        "AKIAIOSFODNN7EXAMPLE",
        "Geheimnis€",
        "7946 0958",
        "123-4567",
        &key[..20],
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for text in &texts {
        for _ in 0..40 {
            let mut deltas = Vec::new();
            let mut rest = text.as_str();
            while !rest.is_empty() {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let chars = 1 + (seed >> 59) as usize;
                let cut = rest.char_indices().nth(chars).map_or(rest.len(), |(i, _)| i);
                deltas.push(&rest[..cut]);
                rest = &rest[cut..];
            }
            check(&*p, &deltas, &secrets);
        }
    }
}

#[test]
fn a_block_waits_until_the_match_is_settled() {
    // Whole, `4111 1111 1111 1111 1234` is not a card (a fifth group follows); a stream must not
    // block on the first four groups just because the event ended there.
    let p = phase(rules(json!([
        {"name": "cards", "detector": "payment_card", "scope": "response", "action": "block"},
        {"name": "codes", "regex": r"\bcode-[0-9]{4}\b", "scope": "response", "action": "warn"},
    ])));
    let deltas = ["pay 4111 1111 1111 1111", " 1234 ok, code-1234", "5 done"];
    assert!(answer_whole(&*p, &mut started(&*p), &deltas.concat()).is_ok());
    let mut ex = started(&*p);
    let s = stream(&*p, &mut ex, &deltas);
    assert!(s.end.is_none(), "blocked on a prefix: {:?}", s.end);
    assert_eq!(s.out, deltas.concat());
    assert!(
        ex.firewall.is_empty(),
        "`code-12345` is no `code-NNNN`: {:?}",
        ex.firewall
    );

    let mut ex = started(&*p);
    let s = stream(&*p, &mut ex, &["pay 4111 1111 1111 1111", " now"]);
    assert!(s.end.is_some(), "a settled card blocks");
    assert_eq!(s.out, "pay ");
}

#[test]
fn released_text_still_bounds_the_next_match() {
    // `$4111111111111111` is an amount-like token, not a card; the `$` goes out in an earlier event.
    let p = phase(rules(json!([
        {"name": "cards", "detector": "payment_card", "scope": "response", "action": "mask"},
        {"name": "host", "regex": r"\bhost-[0-9]{3}\b", "scope": "response", "action": "mask"},
    ])));
    let s = check(&*p, &["price $", "4111111111111111 ok"], &[]);
    assert_eq!(s.out, "price $4111111111111111 ok");
    let s = check(&*p, &["see é", "host-123 and ", "xhost-456 ok"], &["host-123"]);
    assert_eq!(s.out, "see é[REDACTED] and xhost-456 ok");
}

#[test]
fn warn_rules_report_once_per_stream() {
    let p = masking();
    let mut ex = started(&*p);
    let s = stream(&*p, &mut ex, &["this is confid", "ential, very confidential"]);
    assert_eq!(s.out, "this is confidential, very confidential");
    let warns: Vec<&str> = ex
        .firewall
        .iter()
        .filter(|e| e.action == "warn")
        .map(|e| &*e.rule)
        .collect();
    assert_eq!(warns, vec!["note"]);
}

/// `text` cut into pieces of `chars` characters.
fn split(text: &str, chars: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest.char_indices().nth(chars).map_or(rest.len(), |(i, _)| i);
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

fn long_answer() -> String {
    let mut s = String::new();
    for i in 0..60 {
        s.push_str(&format!(
            "Step {i}: run `cargo build --release` (took {}.{} s) on 2024-0{}-1{} at 1{}:3{}; ",
            i % 9,
            i % 7,
            1 + i % 9,
            i % 10,
            i % 10,
            i % 6
        ));
        if i % 11 == 0 {
            s.push_str(&format!("mail ops{i}@corp.example.com or call (555) 123-45{:02}. ", i));
        }
        if i % 17 == 0 {
            s.push_str("host-101.corp answered from 10.0.0.1. ");
        }
        s.push_str("Ünïcödé ☕ text follows.\n");
    }
    s
}

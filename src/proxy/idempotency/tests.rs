//! The idempotency table: first request, replay, body mismatch, a repeat waiting for the first, and a
//! failed first request freeing its key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use bytes::Bytes;

use super::*;

fn fresh(b: Begin) -> Claim {
    match b {
        Begin::Fresh(c) => c,
        Begin::Replay(_) => panic!("expected a fresh request"),
    }
}

fn answered(mut c: Claim, body: &'static str) {
    c.header(200, vec![("content-type".into(), "application/json".into())]);
    c.chunk(&Bytes::from_static(body.as_bytes()));
    c.finish(true);
}

#[tokio::test]
async fn a_repeat_replays_and_another_body_is_refused() {
    let t = Idempotency::new(None);
    let c = fresh(t.begin("w", "k".into(), "fp1".into()).await.unwrap());
    answered(c, "{\"a\":1}");
    let Begin::Replay(k) = t.begin("w", "k".into(), "fp1".into()).await.unwrap() else {
        panic!("expected a replay")
    };
    assert_eq!((k.status, k.body.as_slice()), (200, b"{\"a\":1}".as_slice()));
    let e = t.begin("w", "k".into(), "fp2".into()).await.err().unwrap();
    assert_eq!((e.status(), e.code()), (422, "idempotency_key_reused"));
    // Another workspace's key of the same name is its own.
    assert!(matches!(
        t.begin("v", "k".into(), "fp2".into()).await.unwrap(),
        Begin::Fresh(_)
    ));
}

#[tokio::test]
async fn a_repeat_in_flight_waits_for_the_first() {
    let t = Idempotency::new(None);
    let c = fresh(t.begin("w", "k".into(), "fp".into()).await.unwrap());
    let t2 = t.clone();
    let repeat = tokio::spawn(async move { t2.begin("w", "k".into(), "fp".into()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!repeat.is_finished(), "the repeat waits while the first runs");
    answered(c, "first");
    let Begin::Replay(k) = repeat.await.unwrap().unwrap() else {
        panic!("expected the first answer")
    };
    assert_eq!(k.body, b"first");
}

#[tokio::test]
async fn a_failed_first_request_frees_the_key() {
    let t = Idempotency::new(None);
    let mut c = fresh(t.begin("w", "k".into(), "fp".into()).await.unwrap());
    let t2 = t.clone();
    let repeat = tokio::spawn(async move { t2.begin("w", "k".into(), "fp".into()).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.header(502, Vec::new());
    c.finish(true);
    let second = fresh(repeat.await.unwrap().unwrap());
    drop(second);
    assert!(matches!(
        t.begin("w", "k".into(), "fp".into()).await.unwrap(),
        Begin::Fresh(_)
    ));
}

#[test]
fn keys_are_checked() {
    assert!(key_of("abc-123_Z").is_ok());
    assert_eq!(key_of("").unwrap_err().param(), Some("Idempotency-Key"));
    assert!(key_of("has space").is_err());
    assert!(key_of(&"x".repeat(256)).is_err());
    assert_ne!(
        fingerprint("POST", "/v1/chat/completions", b"{}"),
        fingerprint("POST", "/v1/chat/completions", b"{ }")
    );
}

//! The cache phase without the core: the header's check, miss then hit, isolation between workspaces,
//! expiry, the byte bound, and persistence through a key-value store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use switchyard_sdk::ir::{ChatRequest, ChatResponse, Message, OutPart, Role};
use switchyard_sdk::{Decision, Endpoint, Exchange, Identity, Outcome, Phase};

use super::*;

fn head(ttl: Option<&str>) -> http::request::Parts {
    let mut b = http::Request::builder();
    if let Some(t) = ttl {
        b = b.header("X-GR-Cache-TTL", t);
    }
    b.body(()).unwrap().into_parts().0
}

fn exchange(ws: &str, prompt: &str, temperature: Option<f64>) -> Exchange {
    let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
    ex.identity = Some(Identity {
        key_id: "k".into(),
        key_name: "k".into(),
        workspace: ws.into(),
        test_key: false,
        scopes: Default::default(),
        limits: Default::default(),
    });
    ex.set_request(ChatRequest {
        model: "auto".into(),
        messages: vec![Message::text(Role::User, prompt)],
        temperature,
        ..Default::default()
    });
    ex
}

fn cache(max_bytes: usize) -> Cache {
    Cache {
        store: Arc::new(Store::default()),
        max_bytes,
        max_entry_bytes: 1 << 20,
        kv: None,
    }
}

fn answer(text: &str) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-1".into(),
        model: "m".into(),
        parts: vec![OutPart::Text(text.into())],
        ..Default::default()
    }
}

/// Run one request through the phase: headers, request, and (on a miss) completion with `text`.
fn run(c: &Cache, ws: &str, prompt: &str, ttl: &str, text: &str) -> Option<String> {
    let h = head(Some(ttl));
    let mut ex = exchange(ws, prompt, Some(0.7));
    assert!(matches!(c.on_headers(&h, &mut ex), Decision::Continue));
    match c.on_request(&h, &mut ex) {
        Decision::Answer(a) => {
            assert_eq!(a.kind, AnswerKind::Cached);
            assert!(a.headers.contains(&("x-jt-cache", "hit".into())));
            Some(a.response.text())
        }
        Decision::Continue => {
            assert!(ex.response_headers.contains(&("x-jt-cache", "miss".into())));
            assert!(c.watch_answer(&ex).is_some_and(|w| w.collect));
            let a = answer(text);
            c.on_complete(
                &ex,
                &Outcome {
                    status: 200,
                    model: Some("p/m"),
                    answer: Some(&a),
                    router: Some(br#"{"model":"p/m"}"#),
                    ..Outcome::default()
                },
            );
            None
        }
        Decision::Respond(r) => panic!("refused: {r:?}"),
    }
}

#[test]
fn the_header_is_checked() {
    let c = cache(1 << 20);
    for bad in ["0", "3601", "abc", "-1", "1.5"] {
        let mut ex = exchange("w", "hi", None);
        let Decision::Respond(r) = c.on_headers(&head(Some(bad)), &mut ex) else {
            panic!("{bad} accepted")
        };
        assert_eq!((r.kind.status(), r.param.as_deref()), (400, Some("X-GR-Cache-TTL")));
    }
    let mut ex = exchange("w", "hi", None);
    assert!(matches!(c.on_headers(&head(None), &mut ex), Decision::Continue));
    assert!(matches!(c.on_request(&head(None), &mut ex), Decision::Continue));
    assert!(ex.response_headers.is_empty(), "no header asked, no x-jt-cache");
    assert!(c.watch_answer(&ex).is_none());
}

#[test]
fn a_repeat_hits_within_its_workspace_only() {
    let c = cache(1 << 20);
    assert_eq!(run(&c, "a", "hello", "60", "first"), None);
    assert_eq!(run(&c, "a", "hello", "60", "second").as_deref(), Some("first"));
    assert_eq!(
        run(&c, "b", "hello", "60", "b's"),
        None,
        "another workspace never shares"
    );
    assert_eq!(run(&c, "a", "hello!", "60", "other"), None, "another prompt misses");
}

#[test]
fn entries_expire_and_the_byte_bound_evicts_the_oldest() {
    let c = cache(1 << 20);
    run(&c, "a", "p", "1", "x");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(run(&c, "a", "p", "1", "y"), None, "expired");
    let small = cache(1200);
    run(&small, "a", "one", "60", &"1".repeat(400));
    run(&small, "a", "two", "60", &"2".repeat(400));
    run(&small, "a", "three", "60", &"3".repeat(400));
    let (n, bytes) = small.store.usage();
    assert!(bytes <= 1200 && n < 3, "{n} entries, {bytes} bytes");
    assert!(run(&small, "a", "three", "60", "z").is_some(), "the newest stays");
}

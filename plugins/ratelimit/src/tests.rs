//! Unit tests of the limits.

use std::time::Duration;

use super::*;
use switchyard_sdk::ir::{ChatRequest, Message, Role, Usage};
use switchyard_sdk::{Endpoint, Identity, KeyLimits, Scopes};

fn ex_at(limits: KeyLimits, endpoint: Endpoint, key: &str) -> Exchange {
    let mut ex = Exchange::new("r".into(), endpoint);
    ex.identity = Some(Identity {
        key_id: key.into(),
        key_name: key.into(),
        workspace: "w".into(),
        test_key: false,
        scopes: Arc::new(Scopes::default()),
        limits: Arc::new(limits),
    });
    ex.set_request(ChatRequest {
        model: "m".into(),
        messages: vec![Message::text(Role::User, "x".repeat(400))],
        ..Default::default()
    });
    ex
}

fn ex(limits: KeyLimits) -> Exchange {
    ex_at(limits, Endpoint::ChatCompletions, "k")
}

fn head() -> http::request::Parts {
    http::Request::new(()).into_parts().0
}

fn code(d: Decision) -> Option<(&'static str, u16)> {
    match d {
        Decision::Respond(r) => Some((r.code, r.kind.status())),
        Decision::Continue | Decision::Answer(_) => None,
    }
}

fn header<'a>(ex: &'a Exchange, name: &str) -> Option<&'a str> {
    ex.response_headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

fn phase(cfg: serde_json::Value) -> RateLimit {
    RateLimit {
        limiter: Limiter::new(),
        cfg: switchyard_sdk::typed(&cfg).unwrap(),
    }
}

#[test]
fn requests_per_minute_with_headers() {
    let p = RateLimit::new(Limiter::new());
    let limits = KeyLimits {
        requests_per_minute: Some(3),
        ..Default::default()
    };
    for left in [2, 1, 0] {
        let mut e = ex(limits.clone());
        assert_eq!(code(p.on_headers(&head(), &mut e)), None);
        assert_eq!(header(&e, "x-ratelimit-limit-requests"), Some("3"));
        assert_eq!(
            header(&e, "x-ratelimit-remaining-requests"),
            Some(left.to_string().as_str())
        );
        assert!(header(&e, "x-ratelimit-reset-requests").unwrap().ends_with('s'));
    }
    let mut e = ex(limits);
    match p.on_headers(&head(), &mut e) {
        Decision::Respond(r) => match r.kind {
            RejectKind::RateLimited { retry_after_secs } => assert!((1..=60).contains(&retry_after_secs)),
            k => panic!("{k:?}"),
        },
        _ => panic!("fourth request allowed"),
    }
}

#[test]
fn the_catalog_is_counted_apart_with_its_own_default() {
    let p = phase(serde_json::json!({"catalog_requests_per_minute": 2}));
    let limits = KeyLimits {
        requests_per_minute: Some(1),
        ..Default::default()
    };
    for _ in 0..2 {
        let mut e = ex_at(limits.clone(), Endpoint::Models, "k");
        assert_eq!(code(p.on_headers(&head(), &mut e)), None);
    }
    let mut e = ex_at(limits.clone(), Endpoint::Models, "k");
    assert_eq!(code(p.on_headers(&head(), &mut e)), Some(("rate_limited", 429)));
    let mut e = ex(limits.clone());
    assert_eq!(code(p.on_headers(&head(), &mut e)), None, "inference has its own count");
    // A key's own catalog limit wins over the default.
    let own = KeyLimits {
        catalog_requests_per_minute: Some(5),
        ..Default::default()
    };
    for _ in 0..5 {
        let mut e = ex_at(own.clone(), Endpoint::Catalog, "k2");
        assert_eq!(code(p.on_headers(&head(), &mut e)), None);
    }
    let mut e = ex_at(own, Endpoint::Catalog, "k2");
    assert_eq!(code(p.on_headers(&head(), &mut e)), Some(("rate_limited", 429)));
}

#[test]
fn concurrency_is_released_when_the_request_ends() {
    let p = RateLimit::new(Limiter::new());
    let limits = KeyLimits {
        concurrent_requests: Some(2),
        ..Default::default()
    };
    let mut a = ex(limits.clone());
    let mut b = ex(limits.clone());
    assert_eq!(code(p.on_headers(&head(), &mut a)), None);
    assert_eq!(code(p.on_headers(&head(), &mut b)), None);
    let mut c = ex(limits.clone());
    assert_eq!(code(p.on_headers(&head(), &mut c)), Some(("concurrency_limited", 429)));
    assert_eq!(p.limiter.in_flight("k"), 2);
    drop(a);
    assert_eq!(p.limiter.in_flight("k"), 1);
    let mut d = ex(limits);
    assert_eq!(code(p.on_headers(&head(), &mut d)), None);
}

#[test]
fn workspace_limits_bind_every_key_in_it() {
    let p = phase(serde_json::json!({"workspaces": {"w": {"requests_per_minute": 3}}}));
    for key in ["a", "b", "c"] {
        let mut e = ex_at(KeyLimits::default(), Endpoint::ChatCompletions, key);
        assert_eq!(code(p.on_headers(&head(), &mut e)), None);
    }
    let mut e = ex_at(KeyLimits::default(), Endpoint::ChatCompletions, "d");
    assert_eq!(code(p.on_headers(&head(), &mut e)), Some(("rate_limited", 429)));
}

#[test]
fn admission_is_exact_under_concurrency() {
    let p = Arc::new(phase(serde_json::json!({})));
    let limits = KeyLimits {
        requests_per_minute: Some(25),
        ..Default::default()
    };
    let admitted = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    let mut e = ex(limits.clone());
                    if code(p.on_headers(&head(), &mut e)).is_none() {
                        admitted.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(admitted.load(Ordering::SeqCst), 25);
}

#[test]
fn tokens_are_held_then_corrected() {
    let p = RateLimit::new(Limiter::new());
    let limits = KeyLimits {
        tokens_per_minute: Some(250),
        ..Default::default()
    };
    let mut e = ex(limits.clone());
    assert_eq!(code(p.on_headers(&head(), &mut e)), None);
    assert_eq!(
        code(p.on_request(&head(), &mut e)),
        None,
        "about 104 estimated tokens fit"
    );
    let held: u64 = header(&e, "x-ratelimit-remaining-tokens").unwrap().parse().unwrap();
    assert!((140..=150).contains(&held), "{held}");
    let mut e2 = ex(limits.clone());
    assert_eq!(code(p.on_headers(&head(), &mut e2)), None);
    assert_eq!(code(p.on_request(&head(), &mut e2)), None, "two estimates fit");
    let mut e3 = ex(limits.clone());
    assert_eq!(code(p.on_headers(&head(), &mut e3)), None);
    assert_eq!(
        code(p.on_request(&head(), &mut e3)),
        Some(("rate_limited", 429)),
        "a third estimate does not, while the first two are held"
    );
    let small = Outcome {
        status: 200,
        proxied: true,
        usage: Some(Usage {
            input_tokens: 10,
            output_tokens: 10,
            ..Default::default()
        }),
        ..Default::default()
    };
    p.on_complete(&e, &small);
    p.on_complete(&e2, &small);
    let mut e4 = ex(limits);
    assert_eq!(code(p.on_headers(&head(), &mut e4)), None);
    assert_eq!(
        code(p.on_request(&head(), &mut e4)),
        None,
        "the held estimates were corrected to 40"
    );
}

#[test]
fn windows_slide() {
    let t0 = Instant::now();
    let mut w = Window::new(t0);
    w.current = 60;
    w.roll(t0 + Duration::from_secs(90));
    assert_eq!(w.previous, 60);
    let load = w.load(t0 + Duration::from_secs(90));
    assert!(
        (29..=31).contains(&load),
        "half the previous minute still counts: {load}"
    );
    w.roll(t0 + Duration::from_secs(300));
    assert_eq!((w.previous, w.current), (0, 0));
}

#[test]
fn durations_as_openai_writes_them() {
    assert_eq!(openai_duration(Duration::from_millis(20)), "20ms");
    assert_eq!(openai_duration(Duration::from_secs(1)), "1s");
    assert_eq!(openai_duration(Duration::from_millis(8640)), "8.64s");
    assert_eq!(openai_duration(Duration::from_secs(360)), "6m0s");
}

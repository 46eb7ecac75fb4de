//! Unit tests of the caps.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use switchyard_sdk::{Endpoint, Identity, KeyLimits, PluginState, Routed, Scopes};

fn ex(limits: KeyLimits, ws: &str, model: &str, max_cost: u64) -> Exchange {
    let mut ex = Exchange::new("r".into(), Endpoint::ChatCompletions);
    ex.identity = Some(Identity {
        key_id: "key_1".into(),
        key_name: "app".into(),
        workspace: ws.into(),
        test_key: false,
        scopes: Arc::new(Scopes::default()),
        limits: Arc::new(limits),
    });
    ex.routed = Some(Routed {
        model: model.into(),
        provider: "p".into(),
        candidates: 1,
        estimated_cost: Money(max_cost),
        max_cost: Money(max_cost),
        policy: Some("pol".into()),
    });
    ex
}

fn build(section: serde_json::Value, counters: Arc<MemoryCounters>) -> Arc<dyn Phase> {
    let state = PluginState::new();
    let mut env = BuildEnv::new(&state, std::path::Path::new("."));
    env.counters = Some(counters);
    CapsPlugin.build(Some(&section), &env).unwrap().unwrap()
}

fn head() -> http::request::Parts {
    http::Request::new(()).into_parts().0
}

fn done(cost: u64) -> Outcome<'static> {
    Outcome {
        status: 200,
        proxied: true,
        cost: Some(Money(cost)),
        ..Default::default()
    }
}

fn refusal(d: Decision) -> Option<Reject> {
    match d {
        Decision::Respond(r) => Some(r),
        _ => None,
    }
}

#[test]
fn a_daily_key_cap_reserves_the_maximum_and_settles_to_the_actual() {
    let counters = Arc::new(MemoryCounters::default());
    let p = build(json!({}), counters.clone());
    let limits = KeyLimits {
        daily_cost_cap: Some(Money(100)),
        ..Default::default()
    };
    let mut a = ex(limits.clone(), "w", "m", 60);
    assert!(refusal(p.on_routed(&head(), &mut a)).is_none());
    let mut b = ex(limits.clone(), "w", "m", 60);
    let r = refusal(p.on_routed(&head(), &mut b)).expect("60 held + 60 > 100");
    assert_eq!((r.code, r.kind.status()), ("cost_cap_reached", 402));
    assert!(
        r.message.contains("daily cost cap") && r.message.contains("key \"app\""),
        "{}",
        r.message
    );
    let cap = &r.details.as_ref().unwrap()[0].1;
    assert_eq!(cap["period"], "daily");
    assert_eq!(cap["remaining_dollars"].as_f64().unwrap(), 40e-12);
    p.on_complete(&a, &done(10));
    let day = Period::Day.label(now_ms());
    assert_eq!(counters.spent("key:key_1", &day), Money(10));
    assert_eq!(
        counters.spent("workspace:w", &day),
        Money(10),
        "the workspace is counted too"
    );
    let mut c = ex(limits, "w", "m", 60);
    assert!(
        refusal(p.on_routed(&head(), &mut c)).is_none(),
        "10 spent, 60 fits in 100"
    );
}

#[test]
fn workspace_model_and_policy_caps() {
    let counters = Arc::new(MemoryCounters::default());
    let p = build(
        json!({"workspaces": {"w": {"monthly_dollars": 0.000000000100}},
               "routes": [{"model": "dear", "daily_dollars": 0.000000000050}, {"policy": "pol", "daily_dollars": 0.000000001}]}),
        counters.clone(),
    );
    let mut a = ex(KeyLimits::default(), "w", "dear", 60);
    let r = refusal(p.on_routed(&head(), &mut a)).unwrap();
    assert!(r.message.contains("model \"dear\""), "{}", r.message);
    let mut b = ex(KeyLimits::default(), "other", "cheap", 2000);
    let r = refusal(p.on_routed(&head(), &mut b)).unwrap();
    assert!(r.message.contains("policy \"pol\""), "{}", r.message);
    let mut c = ex(KeyLimits::default(), "w", "cheap", 101);
    let r = refusal(p.on_routed(&head(), &mut c)).unwrap();
    assert!(
        r.message.contains("monthly cost cap") && r.message.contains("workspace \"w\""),
        "{}",
        r.message
    );
}

#[test]
fn bad_sections_name_the_field() {
    let state = PluginState::new();
    let env = BuildEnv::new(&state, std::path::Path::new("."));
    let e = CapsPlugin
        .build(
            Some(&json!({"routes": [{"model": "m", "policy": "p", "daily_dollars": 1}]})),
            &env,
        )
        .err()
        .unwrap();
    assert_eq!(e[0].path, "routes[0]");
    let e = CapsPlugin
        .build(Some(&json!({"workspaces": {"w": {"daily_dollars": -1}}})), &env)
        .err()
        .unwrap();
    assert_eq!(e[0].path, "workspaces.w.daily_dollars");
}

#[test]
fn byok_requests_are_not_charged_unless_configured() {
    let counters = Arc::new(MemoryCounters::default());
    let p = build(json!({}), counters.clone());
    let limits = KeyLimits {
        daily_cost_cap: Some(Money(10)),
        ..Default::default()
    };
    let mut a = ex(limits.clone(), "w", "m", 60);
    a.byok = true;
    assert!(refusal(p.on_routed(&head(), &mut a)).is_none());
    p.on_complete(&a, &done(50));
    assert_eq!(counters.spent("key:key_1", &Period::Day.label(now_ms())), Money::ZERO);
    let p = build(json!({"charge_byok": true}), counters);
    let mut b = ex(limits, "w", "m", 60);
    b.byok = true;
    assert!(refusal(p.on_routed(&head(), &mut b)).is_some());
}

#[test]
fn concurrent_requests_never_spend_past_the_cap() {
    let counters = Arc::new(MemoryCounters::default());
    let p = build(json!({}), counters.clone());
    let limits = KeyLimits {
        daily_cost_cap: Some(Money(1000)),
        ..Default::default()
    };
    let admitted = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..20 {
                    let mut e = ex(limits.clone(), "w", "m", 100);
                    if refusal(p.on_routed(&head(), &mut e)).is_none() {
                        admitted.fetch_add(1, Ordering::SeqCst);
                        // The actual cost is the maximum: the worst case.
                        p.on_complete(&e, &done(100));
                    }
                }
            });
        }
    });
    assert_eq!(admitted.load(Ordering::SeqCst), 10);
    assert_eq!(counters.spent("key:key_1", &Period::Day.label(now_ms())), Money(1000));
}

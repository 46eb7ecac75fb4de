use super::*;

const OPEN: Duration = Duration::from_millis(50);

fn fail_as(h: &Health, c: Option<Caller>) {
    h.record("m", "p", c, Outcome::Failure { retry_after: None }, 3, OPEN);
}

fn ok(ms: u64) -> Outcome {
    Outcome::Success {
        ttft: Duration::from_millis(ms),
        tokens_per_sec: None,
    }
}

#[test]
fn circuit_opens_probes_and_closes() {
    let h = Health::new();
    let (a, b) = (Some(h.caller("a")), Some(h.caller("b")));
    assert!(h.available("m", "p", None).is_ok());
    fail_as(&h, a);
    fail_as(&h, b);
    assert!(h.available("m", "p", None).is_ok(), "two failures keep it closed");
    assert!(degraded(&h.model("m")));
    assert_eq!(latency_penalty_ms(&h.model("m")), 2000);
    fail_as(&h, b);
    assert!(matches!(
        h.available("m", "p", None),
        Err(Unavailable::CircuitOpen { .. })
    ));
    std::thread::sleep(OPEN + Duration::from_millis(10));
    assert!(h.available("m", "p", None).is_ok(), "open time over: a probe may go");
    h.begin_attempt("m");
    assert_eq!(
        h.available("m", "p", None),
        Err(Unavailable::Probing),
        "one probe at a time"
    );
    fail_as(&h, a);
    assert!(
        matches!(h.available("m", "p", None), Err(Unavailable::CircuitOpen { .. })),
        "a failed probe reopens"
    );
    std::thread::sleep(OPEN + Duration::from_millis(10));
    h.begin_attempt("m");
    h.record(
        "m",
        "p",
        a,
        Outcome::Success {
            ttft: Duration::from_millis(100),
            tokens_per_sec: Some(50.0),
        },
        3,
        OPEN,
    );
    assert!(h.available("m", "p", None).is_ok());
    let s = h.model("m");
    assert_eq!((s.successes, s.failures, s.consecutive_failures), (1, 4, 0));
    assert_eq!(s.breaker, Breaker::Closed);
    assert!(!degraded(&s));
}

#[test]
fn one_caller_alone_opens_only_its_own_circuit() {
    let h = Health::new();
    let (attacker, other) = (Some(h.caller("attacker")), Some(h.caller("other")));
    for _ in 0..20 {
        fail_as(&h, attacker);
    }
    assert!(h.available("m", "p", other).is_ok(), "the shared circuit stays closed");
    assert_eq!(h.model("m").breaker, Breaker::Closed);
    assert!(
        matches!(h.available("m", "p", attacker), Err(Unavailable::CircuitOpen { .. })),
        "the failing caller skips the model itself"
    );
    // Its own success closes its own circuit.
    std::thread::sleep(OPEN + Duration::from_millis(10));
    h.record("m", "p", attacker, ok(10), 3, OPEN);
    assert!(h.available("m", "p", attacker).is_ok());
    // A second caller's failure on top of a capped streak opens the shared circuit.
    fail_as(&h, attacker);
    fail_as(&h, attacker);
    fail_as(&h, attacker);
    fail_as(&h, other);
    assert!(matches!(
        h.available("m", "p", other),
        Err(Unavailable::CircuitOpen { .. })
    ));
}

#[test]
fn the_provider_breaker_needs_unreachable_failures_on_two_models() {
    let h = Health::new();
    let (a, b) = (Some(h.caller("a")), Some(h.caller("b")));
    // Error answers never touch the provider.
    for c in [a, b, a, b, a, b] {
        h.record("m1", "p", c, Outcome::Failure { retry_after: None }, 3, OPEN);
    }
    assert!(h.available("m2", "p", a).is_ok());
    assert_eq!(h.provider("p").failures, 0);
    // Unreachable on one model only: that model's circuit, not the provider's.
    for c in [a, b, a, b] {
        h.record("u1", "p", c, Outcome::Unreachable, 3, OPEN);
    }
    assert!(h.available("u1", "p", a).is_err());
    assert!(
        h.available("u2", "p", a).is_ok(),
        "one model's outage is not the provider's"
    );
    // Across two models: the provider is out.
    h.record("u2", "p", b, Outcome::Unreachable, 3, OPEN);
    assert!(matches!(
        h.available("u3", "p", a),
        Err(Unavailable::CircuitOpen { .. })
    ));
    h.record("u3", "p", a, ok(5), 3, OPEN);
    assert!(h.available("u4", "p", a).is_ok(), "a success closes it");
}

#[test]
fn retry_after_cools_a_model_down_and_latency_is_averaged() {
    let h = Health::new();
    h.record(
        "m",
        "p",
        None,
        Outcome::Failure {
            retry_after: Some(Duration::from_secs(30)),
        },
        5,
        OPEN,
    );
    match h.available("m", "p", None) {
        Err(Unavailable::CoolingDown { retry_in }) => assert!(retry_in > Duration::from_secs(28)),
        other => panic!("{other:?}"),
    }
    h.record("n", "p", None, ok(100), 5, OPEN);
    h.record("n", "p", None, ok(200), 5, OPEN);
    let e = h.model("n").ewma_ttft_ms.unwrap();
    assert!((e - 130.0).abs() < 1e-6, "{e}");
    h.record("x", "p", None, Outcome::Neutral, 5, OPEN);
    assert_eq!(h.model("x").failures, 0);
}

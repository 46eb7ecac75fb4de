//! Unit tests of the route table, the field readers and the model endpoints.

use http::Method;
use serde_json::{Map, Value};
use switchyard_sdk::Endpoint;

use super::fields::{int_in, percent_decode};
use super::models::model_json_live;
use super::{find, Listener};
use crate::config::ProviderKind;

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("up%2Fa"), "up/a");
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("%zz"), "%zz");
    assert_eq!(percent_decode("plain"), "plain");
    assert_eq!(percent_decode("x%41"), "xA");
}

#[test]
fn integer_fields() {
    let o: Map<String, Value> = serde_json::from_str(r#"{"a": 5, "b": 5.0, "c": 2.5, "d": -1, "e": "5"}"#).unwrap();
    assert_eq!(int_in(&o, "a", 1, 20, 7).unwrap(), 5);
    assert_eq!(int_in(&o, "b", 1, 20, 7).unwrap(), 5);
    assert_eq!(int_in(&o, "zz", 1, 20, 7).unwrap(), 7);
    assert_eq!(int_in(&o, "c", 1, 20, 7).unwrap_err().param(), Some("c"));
    assert_eq!(int_in(&o, "d", 1, 20, 7).unwrap_err().status(), 400);
    assert_eq!(int_in(&o, "e", 1, 20, 7).unwrap_err().code(), "invalid_type");
    assert_eq!(int_in(&o, "a", 6, 20, 7).unwrap_err().code(), "invalid_request");
}

use crate::config::raw::Quirks;
use crate::config::test_model;
use crate::router::health::Outcome;
use crate::router::RouterState;

#[test]
fn live_model_json_carries_performance() {
    let m = test_model(ProviderKind::OpenAi, Quirks::default());
    let router = RouterState::default();
    let cold = model_json_live(&m, &router, None);
    assert_eq!(cold["id"], "p/m");
    assert_eq!(cold["performance"]["successes"], 0);
    assert_eq!(
        cold["performance"]["expected_latency_ms"], 100.0,
        "the catalog prior when cold"
    );
    router.health.record(
        "p/m",
        "p",
        None,
        Outcome::Failure { retry_after: None },
        5,
        std::time::Duration::from_secs(1),
    );
    let warm = model_json_live(&m, &router, None);
    assert_eq!(warm["performance"]["failures"], 1);
    assert_eq!(warm["performance"]["circuit"], "closed");
    assert_eq!(warm["pricing"], cold["pricing"]);
}

#[test]
fn the_route_table_finds_endpoints_and_refuses_the_rest() {
    let ep = |m: Method, p: &str| find(Listener::Client, &m, p).map(|r| r.endpoint);
    assert_eq!(
        ep(Method::POST, "/v1/chat/completions").unwrap(),
        Endpoint::ChatCompletions
    );
    assert_eq!(
        ep(Method::POST, "/v1/chat/completions/").unwrap(),
        Endpoint::ChatCompletions
    );
    assert_eq!(ep(Method::HEAD, "/healthz").unwrap(), Endpoint::Health);
    assert_eq!(ep(Method::GET, "/v1/models/up/a").unwrap(), Endpoint::ModelInfo);
    assert_eq!(
        ep(Method::GET, "/v1/models/up/a/input-schema").unwrap(),
        Endpoint::Catalog
    );
    assert_eq!(
        ep(Method::POST, "/v1/models/up/a/validate-input").unwrap(),
        Endpoint::Catalog
    );
    assert_eq!(ep(Method::GET, "/v1/models/tags").unwrap(), Endpoint::Catalog);
    let e = ep(Method::GET, "/v1/chat/completions").unwrap_err();
    assert_eq!((e.status(), e.code()), (405, "method_not_allowed"));
    assert_eq!(
        ep(Method::GET, "/v1/models/route").unwrap_err().status(),
        405,
        "an exact path wins over a prefix"
    );
    assert_eq!(ep(Method::GET, "/v2/nothing").unwrap_err().status(), 404);
    assert_eq!(
        ep(Method::GET, "/metrics").unwrap_err().status(),
        404,
        "admin routes are not on the client listener"
    );
    assert!(find(Listener::Admin, &Method::GET, "/metrics").is_ok());
    assert_eq!(
        find(Listener::Admin, &Method::GET, "/admin/reload")
            .unwrap_err()
            .status(),
        405
    );
}

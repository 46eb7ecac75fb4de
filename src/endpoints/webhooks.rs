//! `POST /v1/webhooks/polar`: wallet top-ups from Polar, verified as the Standard Webhooks spec says
//! (no API key: the signature is the authentication). The signed content is `{webhook-id}.{webhook-
//! timestamp}.{body}`, its HMAC-SHA256 under the configured secret, base64; `webhook-signature` holds one
//! or more space-separated `v1,<base64>` signatures, any of which may match (compared in constant time by
//! `hmac`'s `verify_slice`); the timestamp must be within the tolerance (5 minutes by default) of now. A
//! bad, missing or stale signature is a 401 and changes nothing.
//!
//! A verified `order.paid`, or a `checkout.updated` whose status is `succeeded`, credits the workspace
//! named in the event's `metadata.workspace` with the paid amount (`net_amount`, before tax, else
//! `total_amount`, else `amount`, in cents; US dollars only). The credit's reference is the checkout
//! (`polar:checkout:<id>`, or the order when it has none), so one purchase credits once even though Polar
//! announces it with both events; a delivery whose `webhook-id` was processed before is acknowledged
//! with 200 and changes nothing; concurrent duplicate deliveries credit once (the ledger checks the
//! reference inside the writer's transaction). Other events are acknowledged and ignored.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use switchyard_sdk::state::signed_dollars;
use switchyard_sdk::{Credit, Credited, Ledger, Money, Reject, RejectKind};

use super::logs::{store_failed, store_off};
use super::{BoxFuture, Call, Reply};
use crate::config::store::WebhookSecret;
use crate::error::GatewayError;

/// Pico-dollars per cent.
const PICO_PER_CENT: u64 = 10_000_000_000;

pub fn polar<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Result<Reply, GatewayError>> {
    Box::pin(run(call))
}

fn unauthorized(message: &str) -> GatewayError {
    GatewayError::Rejected(Reject::new(RejectKind::Unauthenticated, "invalid_signature", message))
}

/// Why a delivery's signature is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    BadTimestamp,
    Stale,
    Mismatch,
}

impl SignatureError {
    fn message(self) -> &'static str {
        match self {
            SignatureError::Missing => "webhook-id, webhook-timestamp and webhook-signature headers are required",
            SignatureError::BadTimestamp => "webhook-timestamp must be Unix seconds",
            SignatureError::Stale => {
                "webhook-timestamp is outside the tolerance: the delivery is stale or from the future"
            }
            SignatureError::Mismatch => "no webhook-signature matches the payload",
        }
    }
}

/// Verify a Standard Webhooks delivery: `Ok` when one of the `v1` signatures matches and the
/// timestamp is within `secret.tolerance` of `now_secs`.
pub fn verify(
    secret: &WebhookSecret,
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let (Some(id), Some(ts), Some(sigs)) = (id, timestamp, signatures) else {
        return Err(SignatureError::Missing);
    };
    let t: i64 = ts.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    let tolerance = i64::try_from(secret.tolerance.as_secs()).unwrap_or(300);
    if (now_secs - t).abs() > tolerance {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.key).map_err(|_| SignatureError::Mismatch)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.trim().as_bytes());
    mac.update(b".");
    mac.update(body);
    for sig in sigs.split(' ').filter(|s| !s.is_empty()) {
        let Some(b64) = sig.strip_prefix("v1,") else {
            continue;
        };
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(b64) else {
            continue;
        };
        if mac.clone().verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The `v1,<base64>` signature of a delivery (for senders and tests).
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// What a verified event asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Credit(Credit),
    Ignore(String),
}

fn cents(data: &Value) -> Option<u64> {
    ["net_amount", "total_amount", "amount"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_u64))
}

/// What a Polar event means for the wallets.
pub fn action(event: &Value, delivery_id: &str) -> Action {
    let kind = event["type"].as_str().unwrap_or("");
    let data = &event["data"];
    let paid = match kind {
        "order.paid" => true,
        "checkout.updated" => data["status"].as_str() == Some("succeeded"),
        _ => return Action::Ignore(format!("event type {kind:?} does not top up a wallet")),
    };
    if !paid {
        return Action::Ignore(format!(
            "checkout status {:?} is not succeeded",
            data["status"].as_str().unwrap_or("")
        ));
    }
    let Some(ws) = data["metadata"]["workspace"].as_str().filter(|w| !w.trim().is_empty()) else {
        return Action::Ignore("the event's metadata names no workspace".into());
    };
    let currency = data["currency"].as_str().unwrap_or("usd");
    if !currency.eq_ignore_ascii_case("usd") {
        return Action::Ignore(format!("currency {currency:?} is not usd"));
    }
    let Some(amount) = cents(data).filter(|c| *c > 0) else {
        return Action::Ignore("the event carries no positive amount".into());
    };
    let reference = match (kind, data["checkout_id"].as_str(), data["id"].as_str()) {
        ("checkout.updated", _, Some(id)) => format!("polar:checkout:{id}"),
        (_, Some(checkout), _) => format!("polar:checkout:{checkout}"),
        (_, None, Some(order)) => format!("polar:order:{order}"),
        _ => format!("polar:event:{delivery_id}"),
    };
    Action::Credit(Credit {
        account: ws.to_string(),
        amount: Money(amount.saturating_mul(PICO_PER_CENT)),
        reference,
        note: format!("polar {kind}"),
    })
}

fn header<'a>(call: &'a Call, name: &str) -> Option<&'a str> {
    call.headers.get(name).and_then(|v| v.to_str().ok())
}

async fn run(call: &Call<'_>) -> Result<Reply, GatewayError> {
    let Some(secret) = &call.snap.webhooks.polar else {
        return Err(GatewayError::UnknownEndpoint {
            method: "POST".into(),
            path: "/v1/webhooks/polar (not configured: webhooks.polar.secret)".into(),
        });
    };
    let now = crate::store::now_ms() / 1000;
    let id = header(call, "webhook-id");
    verify(
        secret,
        id,
        header(call, "webhook-timestamp"),
        header(call, "webhook-signature"),
        call.body,
        now,
    )
    .map_err(|e| unauthorized(e.message()))?;
    let id = id.unwrap_or_default().to_string();
    let event: Value = serde_json::from_slice(call.body)
        .map_err(|e| GatewayError::invalid("body", format!("the event is not JSON: {e}")))?;
    let kind = event["type"].as_str().unwrap_or("").to_string();
    let store = call.store.ok_or_else(store_off)?;
    if store.webhook_seen(&id).await.map_err(store_failed)? {
        return Ok(Reply::Json(
            200,
            json!({"received": true, "event_id": id, "type": kind, "duplicate": true, "credited": false}),
        ));
    }
    let (answer, outcome) = match action(&event, &id) {
        Action::Ignore(why) => (
            json!({"received": true, "event_id": id, "type": kind, "credited": false, "ignored": why}),
            "ignored".to_string(),
        ),
        Action::Credit(c) => {
            let (ws, amount, reference) = (c.account.clone(), c.amount, c.reference.clone());
            match store.ledger.credit(c).await.map_err(store_failed)? {
                Credited::Applied { balance } => {
                    tracing::info!(workspace = %ws, amount_usd = %amount, reference = %reference, "wallet credited");
                    (
                        json!({"received": true, "event_id": id, "type": kind, "credited": true, "workspace": ws,
                               "amount_usd": amount.to_string(), "reference": reference,
                               "balance_usd": signed_dollars(balance)}),
                        format!("credited {reference}"),
                    )
                }
                Credited::Duplicate => (
                    json!({"received": true, "event_id": id, "type": kind, "credited": false, "workspace": ws,
                           "reference": reference, "duplicate_payment": true}),
                    format!("already credited {reference}"),
                ),
            }
        }
    };
    store
        .webhook_record(&id, "polar", &outcome)
        .await
        .map_err(store_failed)?;
    Ok(Reply::Json(200, answer))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret {
            key: b"0123456789abcdef0123".to_vec(),
            tolerance: Duration::from_secs(300),
        }
    }

    #[test]
    fn verifies_signatures_as_the_spec_says() {
        let s = secret();
        let body = br#"{"type":"order.paid"}"#;
        let sig = sign(&s.key, "msg_1", 1_700_000_000, body);
        let ok = |id, ts: &str, sigs: &str, now| verify(&s, Some(id), Some(ts), Some(sigs), body, now);
        assert_eq!(ok("msg_1", "1700000000", &sig, 1_700_000_010), Ok(()));
        // Several signatures: any one may match (key rotation).
        let several = format!("v1,AAAA {sig} v2,zzz");
        assert_eq!(ok("msg_1", "1700000000", &several, 1_700_000_010), Ok(()));
        assert_eq!(
            ok("msg_2", "1700000000", &sig, 1_700_000_010),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            ok("msg_1", "1700000000", &sig, 1_700_000_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            ok("msg_1", "1700000000", &sig, 1_699_999_699),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            ok("msg_1", "17e8", &sig, 1_700_000_000),
            Err(SignatureError::BadTimestamp)
        );
        let tampered = br#"{"type":"order.paid "}"#;
        assert_eq!(
            verify(
                &s,
                Some("msg_1"),
                Some("1700000000"),
                Some(&sig),
                tampered,
                1_700_000_000
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&s, None, Some("1700000000"), Some(&sig), body, 1_700_000_000),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn a_known_standard_webhooks_vector_verifies() {
        // The example of the Standard Webhooks reference libraries' tests: secret
        // whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330.
        use base64::Engine;
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let s = WebhookSecret {
            key,
            tolerance: Duration::from_secs(300),
        };
        let body = br#"{"test": 2432232314}"#;
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(
            verify(
                &s,
                Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
                Some("1614265330"),
                Some(sig),
                body,
                1_614_265_330
            ),
            Ok(())
        );
    }

    #[test]
    fn events_map_to_credits_once_per_purchase() {
        let paid = json!({"type": "order.paid", "data": {"id": "ord_1", "checkout_id": "co_1", "currency": "usd",
            "net_amount": 1000, "total_amount": 1190, "metadata": {"workspace": "team-a"}}});
        let Action::Credit(c) = action(&paid, "d1") else {
            panic!()
        };
        assert_eq!(
            (c.account.as_str(), c.amount, c.reference.as_str()),
            ("team-a", Money(10_000_000_000_000), "polar:checkout:co_1")
        );
        let checkout = json!({"type": "checkout.updated", "data": {"id": "co_1", "status": "succeeded",
            "currency": "USD", "amount": 1000, "metadata": {"workspace": "team-a"}}});
        let Action::Credit(c2) = action(&checkout, "d2") else {
            panic!()
        };
        assert_eq!(c2.reference, c.reference, "the same purchase has one reference");
        let open = json!({"type": "checkout.updated", "data": {"id": "co_2", "status": "open", "amount": 5, "metadata": {"workspace": "w"}}});
        assert!(matches!(action(&open, "d3"), Action::Ignore(_)));
        let no_ws = json!({"type": "order.paid", "data": {"id": "o", "net_amount": 5, "metadata": {}}});
        assert!(matches!(action(&no_ws, "d4"), Action::Ignore(_)));
        let eur = json!({"type": "order.paid", "data": {"id": "o", "currency": "eur", "net_amount": 5, "metadata": {"workspace": "w"}}});
        assert!(matches!(action(&eur, "d5"), Action::Ignore(_)));
        assert!(matches!(
            action(&json!({"type": "subscription.created", "data": {}}), "d6"),
            Action::Ignore(_)
        ));
    }
}

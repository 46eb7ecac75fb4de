//! The wallet phase against an in-memory ledger: refusal with the balance, reservation across
//! requests in flight, debit of the actual cost on completion, release on failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use switchyard_sdk::state::reserve::Book;
use switchyard_sdk::{
    Credit, Credited, Endpoint, Exchange, Identity, Ledger, LedgerEntry, Money, Outcome, Phase, RejectKind, Routed,
    StoreFuture,
};

use super::Wallet;

#[derive(Default)]
struct MemLedger {
    balances: Mutex<HashMap<String, i64>>,
    debits: Mutex<Vec<(String, i64, String)>>,
}

impl Ledger for MemLedger {
    fn balance(&self, account: &str) -> i64 {
        *self.balances.lock().unwrap().get(account).unwrap_or(&0)
    }
    fn debit(&self, account: &str, amount: Money, reference: &str, _note: &str) {
        *self.balances.lock().unwrap().entry(account.into()).or_default() -= amount.0 as i64;
        self.debits
            .lock()
            .unwrap()
            .push((account.into(), amount.0 as i64, reference.into()));
    }
    fn credit(&self, _c: Credit) -> StoreFuture<Credited> {
        Box::pin(async { Ok(Credited::Duplicate) })
    }
    fn entries(&self, _a: &str, _l: usize) -> StoreFuture<Vec<LedgerEntry>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

fn head() -> http::request::Parts {
    http::Request::new(()).into_parts().0
}

fn exchange(id: &str, ws: &str, estimate: u64) -> Exchange {
    let mut ex = Exchange::new(id.into(), Endpoint::ChatCompletions);
    ex.identity = Some(Identity {
        key_id: "k".into(),
        key_name: "k".into(),
        workspace: ws.into(),
        test_key: false,
        scopes: Default::default(),
        limits: Default::default(),
    });
    ex.routed = Some(Routed {
        model: "p/m".into(),
        provider: "p".into(),
        candidates: 1,
        estimated_cost: Money(estimate),
        max_cost: Money(estimate),
        policy: None,
    });
    ex
}

fn wallet(ledger: Arc<MemLedger>) -> Wallet {
    Wallet {
        ledger,
        book: Book::new(),
        workspaces: vec!["paid".into()],
        charge_byok: false,
    }
}

#[test]
fn an_empty_wallet_refuses_with_402_naming_the_balance() {
    let ledger = Arc::new(MemLedger::default());
    let w = wallet(ledger);
    let mut ex = exchange("r1", "paid", 1000);
    let switchyard_sdk::Decision::Respond(r) = w.on_routed(&head(), &mut ex) else {
        panic!("expected a refusal");
    };
    assert_eq!(r.kind, RejectKind::PaymentRequired);
    assert_eq!(r.code, "insufficient_balance");
    assert!(r.message.contains("balance of $0"), "{}", r.message);
    assert!(r.message.contains("$0.000000001"), "{}", r.message);
    // Another workspace does not pay from a wallet at all.
    let mut other = exchange("r2", "free", 1000);
    assert!(matches!(
        w.on_routed(&head(), &mut other),
        switchyard_sdk::Decision::Continue
    ));
}

#[test]
fn reservations_hold_and_completion_debits_the_actual_cost() {
    let ledger = Arc::new(MemLedger::default());
    ledger.balances.lock().unwrap().insert("paid".into(), 1500);
    let w = wallet(ledger.clone());
    let mut a = exchange("a", "paid", 1000);
    assert!(matches!(
        w.on_routed(&head(), &mut a),
        switchyard_sdk::Decision::Continue
    ));
    // 1000 of 1500 is held: a second request estimated at 1000 is refused while the first runs.
    let mut b = exchange("b", "paid", 1000);
    assert!(matches!(
        w.on_routed(&head(), &mut b),
        switchyard_sdk::Decision::Respond(_)
    ));
    let outcome = Outcome {
        status: 200,
        cost: Some(Money(400)),
        model: Some("p/m"),
        ..Outcome::default()
    };
    w.on_complete(&a, &outcome);
    assert_eq!(ledger.balance("paid"), 1100);
    assert_eq!(
        *ledger.debits.lock().unwrap(),
        vec![("paid".to_string(), 400, "a".to_string())]
    );
    assert_eq!(w.book.held("paid"), Money::ZERO);
    // Completing twice debits once.
    w.on_complete(&a, &outcome);
    assert_eq!(ledger.debits.lock().unwrap().len(), 1);
    // Now the second fits; it fails and costs nothing.
    let mut c = exchange("c", "paid", 1000);
    assert!(matches!(
        w.on_routed(&head(), &mut c),
        switchyard_sdk::Decision::Continue
    ));
    w.on_complete(
        &c,
        &Outcome {
            status: 502,
            ..Outcome::default()
        },
    );
    assert_eq!(ledger.balance("paid"), 1100);
    assert_eq!(w.book.held("paid"), Money::ZERO);
}

#[test]
fn byok_requests_are_free_unless_configured() {
    let ledger = Arc::new(MemLedger::default());
    let mut w = wallet(ledger);
    let mut ex = exchange("r1", "paid", 1000);
    ex.byok = true;
    assert!(
        matches!(w.on_routed(&head(), &mut ex), switchyard_sdk::Decision::Continue),
        "an empty wallet does not stop a request on the caller's own provider key"
    );
    w.charge_byok = true;
    let mut ex = exchange("r2", "paid", 1000);
    ex.byok = true;
    assert!(matches!(
        w.on_routed(&head(), &mut ex),
        switchyard_sdk::Decision::Respond(_)
    ));
}

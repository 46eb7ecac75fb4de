//! Prepaid wallets: the workspaces named in `plugins.wallet.workspaces` pay for inference from a
//! balance kept in the store's ledger (topped up by the signed webhook, `POST /v1/webhooks/polar`).
//! Once the route is chosen, the most the request can cost (`Routed::max_cost`, as the cost caps
//! reserve it) is reserved against the balance (what other requests in flight hold counts as spent),
//! and a request the balance cannot cover is refused with 402 `insufficient_balance`, saying the
//! balance. When the request is over, the answer's actual cost is debited and the hold released in one
//! step ([`switchyard_sdk::state::reserve`]), so concurrent requests cannot overdraw (beyond an answer
//! that costs more than its own maximum). A failed request costs
//! nothing; a cache hit or a replay costs nothing; a request made with the caller's own provider key
//! (`byok`) costs nothing unless `charge_byok: true`.

use std::sync::{Arc, Mutex};

use switchyard_sdk::state::reserve::{Book, Reservation};
use switchyard_sdk::state::signed_dollars;
use switchyard_sdk::{
    BuildEnv, Built, ConfigError, Decision, Exchange, Ledger, Money, Outcome, Phase, Plugin, Reject, RejectKind,
};

const NAME: &str = "wallet";

#[derive(serde::Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The workspaces that pay from a prepaid balance (`*`: every workspace).
    workspaces: Vec<String>,
    /// Debit requests made with the caller's own provider key too (`byok`; default: they are free).
    #[serde(default)]
    charge_byok: bool,
}

/// The plugin: on when its section names at least one workspace.
pub struct WalletPlugin;

/// What the wallet holds for a request, taken when it is settled.
struct Held(Mutex<Option<Reservation>>);

/// The phase.
pub struct Wallet {
    ledger: Arc<dyn Ledger>,
    book: Arc<Book>,
    workspaces: Vec<String>,
    charge_byok: bool,
}

impl Wallet {
    fn pays(&self, workspace: &str) -> bool {
        self.workspaces.iter().any(|w| w == "*" || w == workspace)
    }
}

impl Phase for Wallet {
    fn name(&self) -> &'static str {
        NAME
    }

    /// A preview (`POST /v1/rules/preview`) shows the policies and the route, not stored answers or
    /// balances, and must not touch them.
    fn in_preview(&self) -> bool {
        false
    }

    fn on_routed(&self, _head: &http::request::Parts, ex: &mut Exchange) -> Decision {
        let Some(ws) = ex.identity.as_ref().map(|i| i.workspace.clone()) else {
            return Decision::Continue;
        };
        if !self.pays(&ws) || (ex.byok && !self.charge_byok) {
            return Decision::Continue;
        }
        let estimate = ex.routed.as_ref().map_or(Money::ZERO, |r| r.max_cost);
        match self.book.reserve(&ws, estimate, || self.ledger.balance(&ws)) {
            Ok(r) => {
                ex.put_data(NAME, Held(Mutex::new(Some(r))));
                Decision::Continue
            }
            Err(s) => {
                let held = if s.held == Money::ZERO {
                    String::new()
                } else {
                    format!(", of which ${} is held by requests in flight", s.held)
                };
                Decision::Respond(
                    Reject::new(
                        RejectKind::PaymentRequired,
                        "insufficient_balance",
                        format!(
                            "workspace {ws:?} has a prepaid balance of ${}{held}; this request may cost up to ${}. \
                             Top up the wallet to continue (GET /v1/wallet shows the balance).",
                            signed_dollars(s.available),
                            s.needed
                        ),
                    )
                    .with_header("x-wallet-balance-usd", signed_dollars(s.available)),
                )
            }
        }
    }

    fn on_complete(&self, ex: &Exchange, outcome: &Outcome) {
        let Some(held) = ex.data::<Held>(NAME) else {
            return;
        };
        let Some(r) = held.0.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let cost = outcome.cost.unwrap_or(Money::ZERO);
        let account = r.account().to_string();
        let note = outcome.model.unwrap_or("").to_string();
        r.settle(|| self.ledger.debit(&account, cost, &ex.request_id, &note));
    }
}

impl Plugin for WalletPlugin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn build(&self, section: Option<&serde_json::Value>, env: &BuildEnv) -> Built {
        let Some(section) = section.filter(|s| !s.is_null()) else {
            return Ok(None);
        };
        let cfg: Config = switchyard_sdk::typed(section).map_err(|e| vec![e])?;
        if cfg.workspaces.is_empty() {
            return Ok(None);
        }
        if let Some(i) = cfg.workspaces.iter().position(|w| w.trim().is_empty()) {
            return Err(vec![ConfigError::new(format!("workspaces[{i}]"), "a workspace name")]);
        }
        let Some(ledger) = env.ledger.clone() else {
            return Err(vec![ConfigError::new(
                "",
                "wallets need the store (store.enabled is false): their balances are durable",
            )]);
        };
        // One book per process: requests in flight across a reload keep holding what they reserved.
        let book = env.state.get_or_init(NAME, Book::default);
        Ok(Some(Arc::new(Wallet {
            ledger,
            book,
            workspaces: cfg.workspaces,
            charge_byok: cfg.charge_byok,
        })))
    }
}

#[cfg(test)]
mod tests;

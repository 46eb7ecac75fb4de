//! Reserve → settle against a limit, so that concurrent requests cannot together spend more than what
//! is available: each request holds its estimated cost while it runs; what is available to the next one
//! is the limit minus everything held. Settling charges the actual cost and releases the hold in one
//! step under the book's lock, so no other request sees the money twice or not at all. The limit is the
//! caller's (a wallet's balance, a cost cap's remaining spend), read under the same lock.

use std::sync::{Arc, Mutex};

use crate::money::Money;

/// What is held per account.
#[derive(Debug, Default)]
pub struct Book {
    held: Mutex<super::FastMap<String, Money>>,
}

/// A request's hold on an account. Dropped without [`Reservation::settle`] (the request failed or was
/// refused later), it is released with no charge.
#[derive(Debug)]
pub struct Reservation {
    book: Arc<Book>,
    account: String,
    amount: Money,
    open: bool,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    /// What the limit allows now (pico-dollars; may be negative).
    pub available: i64,
    /// What other requests hold.
    pub held: Money,
    /// What this request asked to hold.
    pub needed: Money,
}

fn as_i64(m: Money) -> i64 {
    i64::try_from(m.0).unwrap_or(i64::MAX)
}

impl Book {
    pub fn new() -> Arc<Book> {
        Arc::new(Book::default())
    }

    /// Hold `amount` for `account` when the limit (`available`, read under the book's lock) minus what
    /// is already held covers it. An account with nothing available (zero or less) is refused even for
    /// a free request.
    pub fn reserve(
        self: &Arc<Self>,
        account: &str,
        amount: Money,
        available: impl FnOnce() -> i64,
    ) -> Result<Reservation, Shortfall> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let available = available();
        let already = held.get(account).copied().unwrap_or(Money::ZERO);
        let left = available.saturating_sub(as_i64(already));
        if available <= 0 || left < as_i64(amount) {
            return Err(Shortfall {
                available,
                held: already,
                needed: amount,
            });
        }
        *held.entry(account.to_string()).or_default() = already.saturating_add(amount);
        Ok(Reservation {
            book: self.clone(),
            account: account.to_string(),
            amount,
            open: true,
        })
    }

    /// What `account`'s requests in flight hold now.
    pub fn held(&self, account: &str) -> Money {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(account).copied().unwrap_or(Money::ZERO)
    }

    fn release(&self, held: &mut super::FastMap<String, Money>, account: &str, amount: Money) {
        if let Some(h) = held.get_mut(account) {
            *h = Money(h.0.saturating_sub(amount.0));
            if h.0 == 0 {
                held.remove(account);
            }
        }
    }
}

impl Reservation {
    /// The amount held.
    pub fn amount(&self) -> Money {
        self.amount
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// Charge the actual cost with `charge` and release the hold, under the book's lock (the charge
    /// must be quick and must not wait on I/O: a ledger's in-memory debit, a counter).
    pub fn settle(mut self, charge: impl FnOnce()) {
        let book = self.book.clone();
        let mut held = book.held.lock().unwrap_or_else(|e| e.into_inner());
        charge();
        book.release(&mut held, &self.account, self.amount);
        self.open = false;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.open {
            let mut held = self.book.held.lock().unwrap_or_else(|e| e.into_inner());
            self.book.release(&mut held, &self.account, self.amount);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn holds_add_up_and_release_on_settle_or_drop() {
        let book = Book::new();
        let a = book.reserve("w", Money(60), || 100).unwrap();
        let refused = book.reserve("w", Money(50), || 100).unwrap_err();
        assert_eq!(
            refused,
            Shortfall {
                available: 100,
                held: Money(60),
                needed: Money(50)
            }
        );
        let b = book.reserve("w", Money(40), || 100).unwrap();
        assert_eq!(book.held("w"), Money(100));
        let mut charged = 0;
        a.settle(|| charged += 1);
        assert_eq!(charged, 1);
        assert_eq!(book.held("w"), Money(40));
        drop(b);
        assert_eq!(book.held("w"), Money::ZERO);
        assert!(
            book.reserve("other", Money(0), || 0).is_err(),
            "nothing available, nothing served"
        );
        assert!(book.reserve("other", Money(0), || -5).is_err());
    }

    #[test]
    fn concurrent_reservations_never_exceed_the_limit() {
        let book = Book::new();
        let granted = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..100 {
                        if let Ok(r) = book.reserve("w", Money(7), || 100) {
                            granted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            std::mem::forget(r);
                        }
                    }
                });
            }
        });
        // 100 / 7 = 14 holds fit; every other one is refused.
        assert_eq!(granted.load(std::sync::atomic::Ordering::SeqCst), 14);
    }
}

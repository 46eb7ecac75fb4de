//! Money as integers: pico-dollars (10^-12 USD). Catalog prices are quoted per million tokens, and every
//! real price is a whole number of pico-dollars per token, so costs are exact sums of integers.

use std::fmt;

/// An amount in pico-dollars. Arithmetic saturates instead of wrapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub u64);

/// A price in pico-dollars per token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(pub u64);

const PICO_PER_DOLLAR: u64 = 1_000_000_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    /// From a dollar amount at the API edge (e.g. `budget_dollars`), rounded to the nearest pico-dollar.
    /// `None` for negative, NaN or absurdly large inputs.
    pub fn from_dollars(d: f64) -> Option<Money> {
        if !d.is_finite() || !(0.0..=1e7).contains(&d) {
            return None;
        }
        Some(Money((d * PICO_PER_DOLLAR as f64).round() as u64))
    }

    pub fn saturating_add(self, o: Money) -> Money {
        Money(self.0.saturating_add(o.0))
    }

    /// Dollars as a float, for JSON numbers only (never summed).
    pub fn as_dollars_f64(self) -> f64 {
        self.0 as f64 / PICO_PER_DOLLAR as f64
    }

    /// Whole nano-dollars, for integer metrics.
    pub fn as_nanodollars(self) -> u64 {
        self.0 / 1000
    }
}

/// Exact decimal dollars without trailing zeros, e.g. `0.0000045`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written on the stack and handed over once: this is on every request's path (the cost
        // header and the access line). `u64::MAX` pico-dollars is 8 integer digits.
        let mut buf = [0u8; 40];
        let mut at = buf.len();
        let mut push = |b: u8| {
            at -= 1;
            buf[at] = b;
        };
        let (mut whole, mut frac) = (self.0 / PICO_PER_DOLLAR, self.0 % PICO_PER_DOLLAR);
        if frac != 0 {
            let mut keep = false;
            for _ in 0..12 {
                let d = (frac % 10) as u8;
                frac /= 10;
                keep |= d != 0;
                if keep {
                    push(b'0' + d);
                }
            }
            push(b'.');
        }
        loop {
            push(b'0' + (whole % 10) as u8);
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        // Only ASCII digits and a dot were written.
        f.write_str(std::str::from_utf8(&buf[at..]).map_err(|_| fmt::Error)?)
    }
}

impl Price {
    /// From dollars per million tokens (the way providers quote prices).
    pub fn per_million_dollars(d: f64) -> Option<Price> {
        if !d.is_finite() || !(0.0..=1e6).contains(&d) {
            return None;
        }
        // $/M tokens == micro-dollars per token == 10^6 pico-dollars per token.
        Some(Price((d * 1_000_000.0).round() as u64))
    }

    pub fn cost(self, tokens: u64) -> Money {
        Money(self.0.saturating_mul(tokens))
    }

    pub fn per_million_as_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_per_token() {
        let p = Price::per_million_dollars(0.15).unwrap();
        assert_eq!(p, Price(150_000));
        assert_eq!(p.cost(1_000_000), Money(150_000_000_000));
        assert_eq!(p.cost(1_000_000).to_string(), "0.15");
        assert_eq!(
            Price::per_million_dollars(0.0375).unwrap().cost(2).to_string(),
            "0.000000075"
        );
    }

    #[test]
    fn money_display_and_edges() {
        assert_eq!(Money(0).to_string(), "0");
        assert_eq!(Money(4_500_000).to_string(), "0.0000045");
        assert_eq!(Money(2_000_000_000_000).to_string(), "2");
        assert_eq!(Money(1).to_string(), "0.000000000001");
        assert_eq!(Money(10_500_000_000_000).to_string(), "10.5");
        assert_eq!(Money(u64::MAX).to_string(), "18446744.073709551615");
        assert_eq!(Money::from_dollars(-1.0), None);
        assert_eq!(Money::from_dollars(f64::NAN), None);
        assert_eq!(Money::from_dollars(0.5), Some(Money(500_000_000_000)));
        assert_eq!(Money(u64::MAX).saturating_add(Money(1)), Money(u64::MAX));
    }
}

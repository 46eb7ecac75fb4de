//! Workspace keys: generation (`sy_live_…` / `sy_test_…` with 192 bits of randomness) and the hash
//! line that goes into the config. Only the hash is ever stored.

pub mod cli;
pub mod manage;

use crate::phases::auth::{digest, LIVE_PREFIX, TEST_PREFIX};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new key: the prefix and 32 base62 characters (rejection-sampled, so unbiased).
pub fn generate(test: bool) -> Result<String, String> {
    let mut out = String::from(if test { TEST_PREFIX } else { LIVE_PREFIX });
    let mut buf = [0u8; 64];
    while out.len() < LIVE_PREFIX.len() + 32 {
        getrandom::fill(&mut buf).map_err(|e| format!("no randomness available: {e}"))?;
        for b in buf {
            // 248 = 4 * 62: bytes at or above it would bias the alphabet.
            if b < 248 && out.len() < LIVE_PREFIX.len() + 32 {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

/// The config form of a key's hash.
pub fn hash_line(key: &str) -> String {
    let d = digest(key);
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests;

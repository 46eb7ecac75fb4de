//! Who may use the admin listener. Loopback is not a boundary against a web page in an operator's
//! browser: a page can send a simple POST to `127.0.0.1` without a preflight, and a DNS-rebinding
//! page can even read answers. So:
//!
//! - a request a browser sent (an `Origin` header, or `Sec-Fetch-Site` other than `none`) is refused;
//! - the `Host` must be an IP address or `localhost` (a rebinding page's name is neither), unless the
//!   request carries the admin token (a page cannot: it does not know it);
//! - mutating endpoints need the admin token (`Authorization: Bearer <token>`; `server.admin_token`
//!   or `SWITCHYARD_ADMIN_TOKEN`), and are refused when none is configured;
//! - `GET /metrics` needs the token too unless `server.metrics_open` is set;
//! - reloads are rate-limited (one per [`RELOAD_INTERVAL`]).

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::AdminToken;

/// The shortest time between two reloads through the admin listener.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Why an admin request is refused: status, code, message, and the seconds to wait (429).
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: &'static str,
    pub retry_after: Option<u64>,
    /// The metric's reason label.
    pub reason: &'static str,
}

fn refuse(status: u16, code: &'static str, reason: &'static str, message: &'static str) -> Refusal {
    Refusal {
        status,
        code,
        message,
        retry_after: None,
        reason,
    }
}

fn header<'a>(head: &'a Parts, name: &str) -> Option<&'a str> {
    head.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Refuse what a browser sent, and (without the token: `has_token`) names a rebinding page could use
/// as `Host`.
pub fn check_origin(head: &Parts, has_token: bool) -> Result<(), Refusal> {
    let browser = head.headers.contains_key(http::header::ORIGIN)
        || header(head, "sec-fetch-site").is_some_and(|v| !v.eq_ignore_ascii_case("none"));
    if browser {
        return Err(refuse(
            403,
            "browser_request_refused",
            "origin",
            "the admin listener does not serve requests sent by web pages",
        ));
    }
    let host = header(head, "host").or_else(|| head.uri.host());
    if let Some(h) = host.filter(|_| !has_token) {
        if !host_is_local_literal(h) {
            return Err(refuse(
                403,
                "host_refused",
                "host",
                "the admin listener answers requests for an IP address or localhost only",
            ));
        }
    }
    Ok(())
}

/// `127.0.0.1`, `[::1]:9090`, `10.0.0.5:9090`, `localhost:9090`: an address, not a name that DNS
/// could point anywhere.
fn host_is_local_literal(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                host
            }
        }),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

/// The bearer token of the request, checked against the configured one.
pub fn check_token(head: &Parts, token: Option<&AdminToken>) -> Result<(), Refusal> {
    let Some(token) = token else {
        return Err(refuse(
            403,
            "admin_token_not_configured",
            "token",
            "set server.admin_token (or SWITCHYARD_ADMIN_TOKEN) to use this endpoint; reload also works with SIGHUP",
        ));
    };
    let given = header(head, "authorization")
        .map(str::trim)
        .filter(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "))
        .map(|v| v[7..].trim());
    let ok = given.is_some_and(|g| {
        let d: [u8; 32] = Sha256::digest(g.as_bytes()).into();
        bool::from(d.ct_eq(&token.0))
    });
    if ok {
        Ok(())
    } else {
        Err(refuse(
            401,
            "invalid_admin_token",
            "token",
            "this endpoint needs the admin token: Authorization: Bearer <token>",
        ))
    }
}

/// At most one reload per [`RELOAD_INTERVAL`].
#[derive(Default)]
pub struct ReloadGate {
    last: Mutex<Option<Instant>>,
}

impl ReloadGate {
    pub fn enter(&self) -> Result<(), Refusal> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(t) = *last {
            let since = now.duration_since(t);
            if since < RELOAD_INTERVAL {
                let mut r = refuse(
                    429,
                    "reload_rate_limited",
                    "reload_rate",
                    "the configuration was reloaded a moment ago; retry shortly",
                );
                r.retry_after = Some((RELOAD_INTERVAL - since).as_secs().max(1));
                return Err(r);
            }
        }
        *last = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(h: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method("POST").uri("/admin/reload");
        for (k, v) in h {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn browsers_and_rebound_names_are_refused() {
        let ok = |h: &[(&str, &str)]| check_origin(&head(h), false).is_ok();
        assert!(ok(&[("host", "127.0.0.1:9090")]));
        assert!(ok(&[("host", "[::1]:9090")]));
        assert!(ok(&[("host", "localhost:9090")]));
        assert!(ok(&[]));
        let code = |h: &[(&str, &str)]| check_origin(&head(h), false).unwrap_err().code;
        assert_eq!(
            code(&[("host", "127.0.0.1"), ("origin", "https://evil.example")]),
            "browser_request_refused"
        );
        assert_eq!(
            code(&[("host", "127.0.0.1"), ("origin", "null")]),
            "browser_request_refused"
        );
        assert_eq!(
            code(&[("host", "127.0.0.1"), ("sec-fetch-site", "cross-site")]),
            "browser_request_refused"
        );
        assert!(ok(&[("host", "127.0.0.1"), ("sec-fetch-site", "none")]));
        assert_eq!(code(&[("host", "rebind.evil.example:9090")]), "host_refused");
        assert!(
            check_origin(&head(&[("host", "admin.internal:9090")]), true).is_ok(),
            "a name is fine with the token"
        );
        assert!(check_origin(&head(&[("host", "x"), ("origin", "null")]), true).is_err());
    }

    #[test]
    fn the_token_is_checked() {
        let t = AdminToken(Sha256::digest(b"admin-token-0123456789").into());
        assert_eq!(check_token(&head(&[]), None).unwrap_err().status, 403);
        assert_eq!(check_token(&head(&[]), Some(&t)).unwrap_err().status, 401);
        let wrong = head(&[("authorization", "Bearer admin-token-0123456780")]);
        assert_eq!(check_token(&wrong, Some(&t)).unwrap_err().status, 401);
        let right = head(&[("authorization", "Bearer admin-token-0123456789")]);
        assert!(check_token(&right, Some(&t)).is_ok());
    }

    #[test]
    fn reloads_are_rate_limited() {
        let g = ReloadGate::default();
        assert!(g.enter().is_ok());
        let r = g.enter().unwrap_err();
        assert_eq!((r.status, r.retry_after), (429, Some(1)));
    }
}

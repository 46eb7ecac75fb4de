//! The admin listener (loopback by default; never expose it): `GET /metrics` (Prometheus text),
//! `GET /healthz`, `POST /admin/reload` (the same reload as SIGHUP) and `GET /admin/logs` (the request
//! log of every workspace), as the route table lists. Every request passes `guard` first (no browser
//! requests, the admin token for mutating endpoints, the log export and, unless the config opens it,
//! for metrics; reloads rate-limited).

use std::sync::Arc;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use serde_json::json;

use super::guard::{self, Refusal, ReloadGate};
use super::keys;
use crate::endpoints::{self, Handler, Listener};
use crate::metrics::{m, refresh_gauges};
use crate::reload::Reloader;

pub struct AdminApp {
    pub reloader: Arc<Reloader>,
    reloads: ReloadGate,
    pub store: Option<Arc<crate::store::Store>>,
    pub router: Arc<crate::router::RouterState>,
}

impl AdminApp {
    pub fn new(
        reloader: Arc<Reloader>,
        store: Option<Arc<crate::store::Store>>,
        router: Arc<crate::router::RouterState>,
    ) -> Self {
        AdminApp {
            reloader,
            reloads: ReloadGate::default(),
            store,
            router,
        }
    }
}

impl AdminApp {
    /// The key admin API: every call, reads included, needs the admin token (a list names every
    /// key and workspace).
    async fn keys(&self, session: &mut ServerSession, method: &http::Method, path: &str) -> Response<Vec<u8>> {
        let snap = self.reloader.state.load_full();
        let head: &http::request::Parts = session.req_header();
        let with_token = guard::check_token(head, snap.server.admin_token.as_ref());
        if let Err(r) = guard::check_origin(head, with_token.is_ok()) {
            return refused(r);
        }
        if let Err(r) = with_token {
            return refused(r);
        }
        let (status, body) = keys::serve(session, method, path, &snap, self.store.as_ref()).await;
        json_reply(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)
    }
}

fn reply(status: StatusCode, ctype: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(ctype) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    let len = r.body().len();
    r.headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    r
}

fn json_reply(status: StatusCode, v: serde_json::Value) -> Response<Vec<u8>> {
    reply(status, "application/json", v.to_string().into_bytes())
}

/// A refusal in the public error shape, counted.
fn refused(r: Refusal) -> Response<Vec<u8>> {
    m().admin_refused.with_label_values(&[r.reason]).inc();
    let kind = match r.status {
        401 => "authentication_error",
        429 => "rate_limit_error",
        _ => "permission_error",
    };
    let mut body = json!({"error": {
        "type": kind, "code": r.code, "message": r.message, "param": null, "http_status": r.status,
        "provider": null, "request_id": crate::proxy::new_request_id(), "rule_trace": [],
    }});
    if let Some(s) = r.retry_after {
        body["error"]["retry_after_seconds"] = json!(s);
    }
    let mut resp = json_reply(StatusCode::from_u16(r.status).unwrap_or(StatusCode::FORBIDDEN), body);
    if let Some(s) = r.retry_after {
        resp.headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(s));
    }
    if r.status == 401 {
        resp.headers_mut()
            .insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
    }
    resp
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let (method, path) = (
            session.req_header().method.clone(),
            session.req_header().uri.path().to_string(),
        );
        if path == keys::PREFIX || path.starts_with("/admin/keys/") {
            return self.keys(session, &method, &path).await;
        }
        let route = match endpoints::find(Listener::Admin, &method, &path) {
            Ok(r) => r,
            Err(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::NOT_FOUND);
                return json_reply(status, e.to_json(&crate::proxy::new_request_id(), &[]));
            }
        };
        let snap = self.reloader.state.load();
        let head: &http::request::Parts = session.req_header();
        let token = snap.server.admin_token.as_ref();
        let with_token = guard::check_token(head, token);
        if let Err(r) = guard::check_origin(head, with_token.is_ok()) {
            return refused(r);
        }
        let mutating = !matches!(method, http::Method::GET | http::Method::HEAD);
        let needs_token = mutating || (matches!(route.handler, Handler::Metrics) && !snap.server.metrics_open);
        if let (true, Err(r)) = (needs_token, with_token) {
            return refused(r);
        }
        match route.handler {
            Handler::Metrics => {
                refresh_gauges();
                reply(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", m().render())
            }
            Handler::Health => json_reply(
                StatusCode::OK,
                json!({"status": "ok", "config_generation": self.reloader.generation()}),
            ),
            Handler::Reload => {
                if let Err(r) = self.reloads.enter() {
                    return refused(r);
                }
                let r = self.reloader.clone();
                match tokio::task::spawn_blocking(move || r.reload()).await {
                    Ok(Ok(generation)) => json_reply(
                        StatusCode::OK,
                        json!({"reloaded": true, "config_generation": generation}),
                    ),
                    Ok(Err(problems)) => json_reply(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"reloaded": false, "problems": problems.0.iter().map(|p| p.to_string()).collect::<Vec<_>>()}),
                    ),
                    Err(e) => json_reply(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        json!({"reloaded": false, "problems": [e.to_string()]}),
                    ),
                }
            }
            Handler::Async(f) => {
                let snap = self.reloader.state.load_full();
                let query = session.req_header().uri.query().map(str::to_string);
                let headers = session.req_header().headers.clone();
                let head = http::Request::new(()).into_parts().0;
                let call = endpoints::Call {
                    head: &head,
                    path: &path,
                    query: query.as_deref(),
                    body: &[],
                    snap: &snap,
                    identity: None,
                    router: &self.router,
                    request_id: "admin",
                    method: &method,
                    headers: &headers,
                    store: self.store.as_ref(),
                };
                match f(&call).await {
                    Ok(endpoints::Reply::Json(status, v)) => {
                        json_reply(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), v)
                    }
                    Ok(endpoints::Reply::Body {
                        status,
                        content_type,
                        body,
                        headers,
                    }) => {
                        let mut r = reply(
                            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                            content_type,
                            body,
                        );
                        for (k, v) in headers {
                            if let Ok(v) = http::HeaderValue::from_str(&v) {
                                r.headers_mut().insert(k, v);
                            }
                        }
                        r
                    }
                    Err(e) => {
                        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        json_reply(status, e.to_json("admin", &[]))
                    }
                }
            }
            Handler::Chat(_) | Handler::Compose(_) | Handler::CountTokens | Handler::Local(_) => json_reply(
                StatusCode::NOT_FOUND,
                json!({"error": {"type": "not_found_error", "code": "unknown_endpoint", "message": format!("unknown admin endpoint {method} {path}"), "http_status": 404}}),
            ),
        }
    }
}

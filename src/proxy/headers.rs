//! Headers the gateway writes afresh: the provider's request header and the client's response
//! header. Nothing of the other side's header goes on, so they are built as plain `http` parts
//! rather than edited in place: Pingora's `insert_header` parses every name again and keeps a map
//! of the names' original case, about a thousand instructions per header, and HTTP/1.1 names are
//! case-insensitive anyway.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::{Error, ErrorType};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_JT_MODEL: HeaderName = HeaderName::from_static("x-jt-model");
pub const X_ROUTED_MODEL: HeaderName = HeaderName::from_static("x-routed-model");
pub const X_JT_ROUTE: HeaderName = HeaderName::from_static("x-jt-route");
pub const X_JT_LATENCY_MS: HeaderName = HeaderName::from_static("x-jt-latency-ms");
pub const X_JT_FALLBACK: HeaderName = HeaderName::from_static("x-jt-fallback");
pub const X_JT_COST_USD: HeaderName = HeaderName::from_static("x-jt-cost-usd");
pub const X_JT_COST_BASIS: HeaderName = HeaderName::from_static("x-jt-cost-basis");
/// The built-in tools removed from the request because its provider does not run them.
pub const X_JT_DROPPED_TOOLS: HeaderName = HeaderName::from_static("x-jt-dropped-tools");

fn invalid(what: &str) -> Box<Error> {
    Error::explain(ErrorType::InvalidHTTPHeader, format!("invalid header {what}"))
}

pub struct Fresh(HeaderMap);

impl Fresh {
    pub fn with_capacity(n: usize) -> Self {
        Fresh(HeaderMap::with_capacity(n))
    }

    pub fn put(&mut self, name: HeaderName, value: &str) -> pingora::Result<()> {
        let v = HeaderValue::from_str(value).map_err(|_| invalid(name.as_str()))?;
        self.0.insert(name, v);
        Ok(())
    }

    pub fn put_static(&mut self, name: HeaderName, value: &'static str) {
        self.0.insert(name, HeaderValue::from_static(value));
    }

    /// A header whose name comes from configuration or a provider adapter.
    pub fn put_named(&mut self, name: &str, value: &str) -> pingora::Result<()> {
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(name))?;
        self.put(n, value)
    }

    pub fn response(self, status: u16) -> pingora::Result<ResponseHeader> {
        let (mut parts, ()) = http::Response::new(()).into_parts();
        parts.status = http::StatusCode::from_u16(status).map_err(|_| invalid("status"))?;
        parts.headers = self.0;
        Ok(ResponseHeader::from(parts))
    }

    pub fn request(self, method: http::Method, path: &str) -> pingora::Result<RequestHeader> {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.method = method;
        parts.uri = path
            .parse()
            .map_err(|e| Error::because(ErrorType::InternalError, "upstream path", e))?;
        parts.headers = self.0;
        Ok(RequestHeader::from(parts))
    }
}

/// Edits a header the gateway built (see [`Fresh`]) through its plain `http` map. Pingora's own
/// `ResponseHeader` gives only `insert_header` for that.
pub fn edit(resp: &mut ResponseHeader, f: impl FnOnce(&mut HeaderMap)) {
    let placeholder = ResponseHeader::from(http::Response::new(()).into_parts().0);
    let mut parts = http::response::Parts::from(std::mem::replace(resp, placeholder));
    f(&mut parts.headers);
    *resp = ResponseHeader::from(parts);
}

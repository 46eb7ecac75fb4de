//! A scriptable local upstream: every request is recorded, and a handler decides the reply (JSON,
//! paced SSE, a reset mid-body, a hang).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).and_then(|v| v.to_str().ok())
    }
}

pub enum Reply {
    Json(u16, serde_json::Value),
    JsonWith(u16, serde_json::Value, Vec<(&'static str, String)>),
    /// Raw body bytes with a content type.
    Text(u16, &'static str, String),
    /// SSE `data:` payloads, one event each, `gap` between them.
    Sse(Vec<String>, Duration),
    /// Headers and these chunks, then the connection is reset mid-body.
    ResetAfter(Vec<String>),
    /// Wait this long before answering with the inner reply.
    Delay(Duration, Box<Reply>),
    /// JSON whose body follows its header after this long (the header goes out on its own).
    LateBody(Duration, serde_json::Value),
    /// Never answer.
    Hang,
    /// This status with an empty body (`content-length: 0`).
    Empty(u16),
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

fn boxed(s: impl futures_util::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Send + Sync + 'static) -> Body {
    BodyExt::boxed(StreamBody::new(s))
}

fn full(b: impl Into<Bytes>) -> Body {
    let b: Bytes = b.into();
    boxed(futures_util::stream::iter(vec![Ok(Frame::data(b))]))
}

async fn render(reply: Reply) -> Response<Body> {
    let mut reply = reply;
    loop {
        match reply {
            Reply::Delay(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                reply = Reply::Json(500, serde_json::json!({}));
            }
            _ => break,
        }
    }
    if let Reply::Empty(s) = reply {
        let empty = http_body_util::Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed();
        return Response::builder().status(s).body(empty).unwrap();
    }
    let (status, ctype, body, headers): (u16, &str, Body, Vec<(&'static str, String)>) = match reply {
        Reply::Json(s, v) => (s, "application/json", full(v.to_string()), vec![]),
        Reply::JsonWith(s, v, h) => (s, "application/json", full(v.to_string()), h),
        Reply::Text(s, ct, t) => (s, ct, full(t), vec![]),
        Reply::LateBody(d, v) => {
            let st = futures_util::stream::once(async move {
                tokio::time::sleep(d).await;
                Ok(Frame::data(Bytes::from(v.to_string())))
            });
            (200, "application/json", boxed(st), vec![])
        }
        Reply::Sse(events, gap) => {
            let st = futures_util::stream::unfold((events.into_iter(), true), move |(mut it, first)| async move {
                let ev = it.next()?;
                if !first {
                    tokio::time::sleep(gap).await;
                }
                Some((Ok(Frame::data(Bytes::from(format!("data: {ev}\n\n")))), (it, false)))
            });
            (200, "text/event-stream", boxed(st), vec![])
        }
        Reply::ResetAfter(chunks) => {
            let mut items: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
                .into_iter()
                .map(|c| Ok(Frame::data(Bytes::from(format!("data: {c}\n\n")))))
                .collect();
            items.push(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "scripted reset",
            )));
            let st = futures_util::stream::unfold(items.into_iter(), |mut it| async move {
                let x = it.next()?;
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((x, it))
            });
            (200, "text/event-stream", boxed(st), vec![])
        }
        Reply::Delay(..) | Reply::Hang | Reply::Empty(_) => unreachable!(),
    };
    let mut r = Response::builder().status(status).header("content-type", ctype);
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r.body(body).unwrap()
}

impl Upstream {
    /// Serve on 127.0.0.1:0; `handler` gets each request (the n-th, 0-based) and chooses the reply.
    pub async fn start(handler: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler = Arc::new(handler);
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (seen, handler) = (seen2.clone(), handler.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (seen, handler) = (seen.clone(), handler.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let s = Seen {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_string(),
                                headers: parts.headers,
                                body,
                            };
                            let n = {
                                let mut g = seen.lock().unwrap();
                                g.push(s.clone());
                                g.len() - 1
                            };
                            Ok::<_, Infallible>(render(handler(n, &s)).await)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream { addr, seen }
    }

    pub fn base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

//! Transport: TLS with HTTP/2 by ALPN (and HTTP/1.1), certificates reloaded on SIGHUP, and
//! cleartext HTTP/2 (h2c) on the plain listener.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

fn ca(name: &str) -> Ca {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// A leaf certificate for localhost signed by `ca`: (cert pem, key pem).
fn leaf(ca: &Ca) -> (String, String) {
    let p = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn tls_client(ca: &Ca, http1: bool) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert.pem().as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10));
    let b = if http1 { b.http1_only() } else { b };
    b.build().unwrap()
}

async fn tls_gateway(up: &Upstream, ca: &Ca) -> Gateway {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = leaf(ca);
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let cfg = config(
        "  tls:\n    listen: 127.0.0.1:0\n    cert: cert.pem\n    key: key.pem\n",
        &provider("up", &up.base(), ""),
    );
    std::fs::write(dir.path().join("switchyard.yaml"), cfg).unwrap();
    std::fs::write(
        dir.path().join("models.yaml"),
        format!("models:\n{}", model("up/a", "a", &[])),
    )
    .unwrap();
    Gateway::start_in(dir, &[])
}

fn tls_url(gw: &Gateway) -> String {
    let port = gw
        .tls
        .as_ref()
        .expect("tls listener")
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    format!("https://localhost:{port}/v1/chat/completions")
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_listener_speaks_h2_by_alpn_and_http1() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("a", "secure"))).await;
    let ca1 = ca("ca one");
    let gw = tls_gateway(&up, &ca1).await;
    for (http1, version) in [(false, reqwest::Version::HTTP_2), (true, reqwest::Version::HTTP_11)] {
        let r = tls_client(&ca1, http1)
            .post(tls_url(&gw))
            .bearer_auth(KEY)
            .json(&json!({"model": "up/a", "messages": user_msg("x")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.version(), version);
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("x-request-id").is_some());
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "secure");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn certificates_are_reloaded_on_sighup() {
    let up = Upstream::start(|_, _| Reply::Json(200, completion("a", "ok"))).await;
    let (ca1, ca2) = (ca("ca one"), ca("ca two"));
    let gw = tls_gateway(&up, &ca1).await;
    let body = json!({"model": "up/a", "messages": user_msg("x")});
    assert!(tls_client(&ca2, false)
        .post(tls_url(&gw))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .is_err());
    let (cert, key) = leaf(&ca2);
    std::fs::write(gw.dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(gw.dir.path().join("key.pem"), key).unwrap();
    gw.signal("HUP");
    gw.wait_log(10, |l| l.contains("configuration reloaded"));
    let r = tls_client(&ca2, false)
        .post(tls_url(&gw))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(tls_client(&ca1, false)
        .post(tls_url(&gw))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn h2c_prior_knowledge_streams() {
    let up = Upstream::start(|_, _| Reply::Sse(stream_events("a", &["x ", "y"]), Duration::from_millis(20))).await;
    let gw = Gateway::start(&config("", &provider("up", &up.base(), "")), &model("up/a", "a", &[]));
    let c = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let r = c
        .post(gw.chat_url())
        .bearer_auth(KEY)
        .json(&json!({"model": "up/a", "stream": true, "messages": user_msg("x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    let data = sse_data(&r.text().await.unwrap());
    assert_eq!(data.last().unwrap(), "[DONE]");
    // Errors over h2 are JSON too.
    let r = c.post(gw.chat_url()).bearer_auth(KEY).body("{").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_json");
}

//! Unit tests of `dns`.

use super::*;

#[tokio::test]
async fn literals_and_localhost() {
    let r = Resolver::new(Duration::from_secs(60));
    assert_eq!(
        r.resolve("127.0.0.1", 80).await.unwrap(),
        "127.0.0.1:80".parse().unwrap()
    );
    assert_eq!(r.resolve("::1", 81).await.unwrap(), "[::1]:81".parse().unwrap());
    let a = r.resolve("localhost", 82).await.unwrap();
    assert!(a.ip().is_loopback());
    assert!(r.cached("localhost", 82).is_some());
    assert!(r.resolve("no-such-host.invalid", 80).await.is_err());
}

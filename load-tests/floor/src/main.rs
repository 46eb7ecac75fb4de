//! The performance floor: a bare Pingora pass-through whose `upstream_peer` only returns the upstream.
//! No other hook is overridden, so this is what Pingora itself costs per request on this machine.
//! Usage: floor --listen 127.0.0.1:18200 --upstream 127.0.0.1:18080

use std::net::SocketAddr;

use async_trait::async_trait;
use pingora::prelude::*;
use pingora::server::configuration::ServerConf;

struct Floor(SocketAddr);

#[async_trait]
impl ProxyHttp for Floor {
    type CTX = ();
    fn new_ctx(&self) {}

    async fn upstream_peer(&self, _s: &mut Session, _ctx: &mut ()) -> Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.0, false, String::new())))
    }
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default.into(), |v| v.clone())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listen = arg(&args, "--listen", "127.0.0.1:18200");
    let Ok(upstream) = arg(&args, "--upstream", "127.0.0.1:18080").parse::<SocketAddr>() else {
        eprintln!("floor: --upstream must be IP:port");
        std::process::exit(2);
    };
    // Same worker count as the gateway's `worker_threads: 2`.
    let conf = ServerConf {
        threads: 2,
        grace_period_seconds: Some(0),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = http_proxy_service(&server.configuration, Floor(upstream));
    proxy.add_tcp(&listen);
    server.add_service(proxy);
    eprintln!("floor: listening on {listen}, upstream {upstream}");
    server.run_forever();
}

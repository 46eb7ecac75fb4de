//! Assembles the Pingora server: the plugin registry, the proxy service (plain HTTP/1.1 + h2c, and
//! TLS with HTTP/2 by ALPN), the admin listener, the provider simulator, and the reload task (SIGHUP).

use std::net::{SocketAddr, TcpListener};
use std::os::fd::IntoRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::apps::http_app::HttpServer;
use pingora::apps::HttpServerOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{L4BufferSettings, ListenerConfig};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ListenFds, Server, ShutdownWatch};
use pingora::services::background::{background_service, BackgroundService};
use pingora::services::listening::Service;
use pingora::services::{ServiceReadyNotifier, ServiceWithDependents};

use crate::admin::service::AdminApp;
use crate::config;
use crate::dns::Resolver;
use crate::downstream::{self, ClientApp};
use crate::providers::simulator::Simulator;
use crate::proxy::Gateway;
use crate::registry::Registry;
pub use crate::reload::Overrides;
use crate::reload::Reloader;
use crate::router::RouterState;
use crate::tls::{load_certified_key, ReloadableCert};

/// Reloads on SIGHUP.
struct ReloadOnHangup(Arc<Reloader>);

#[async_trait]
impl BackgroundService for ReloadOnHangup {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::error!("cannot listen for SIGHUP; reload through POST /admin/reload");
            return;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    let r = self.0.clone();
                    let _ = tokio::task::spawn_blocking(move || r.reload()).await;
                }
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// A Pingora service whose port-0 listeners were bound here first, so their real addresses are known
/// (and printed) before the server starts. The sockets are handed to Pingora through its table of
/// inherited listeners, the same path a graceful upgrade uses.
struct PreBound<S> {
    inner: S,
    sockets: Vec<(String, TcpListener)>,
}

#[async_trait]
impl<S: ServiceWithDependents> ServiceWithDependents for PreBound<S> {
    async fn start_service(
        &mut self,
        fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
        ready: ServiceReadyNotifier,
    ) {
        if let Some(table) = &fds {
            let mut t = table.lock();
            for (addr, sock) in self.sockets.drain(..) {
                if t.get(&addr).is_none() {
                    t.add(addr, sock.into_raw_fd());
                }
            }
        }
        self.inner.start_service(fds, shutdown, listeners_per_fd, ready).await
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn threads(&self) -> Option<usize> {
        self.inner.threads()
    }
}

/// The plain listener's L4 buffers. No read buffer: Pingora's 64 KiB default is there to batch TLS's
/// 16 KiB record reads; here it would be one more copy of every request and memory held by every open
/// connection, so reads go straight into the HTTP session's buffers. An 8 KiB write buffer, where
/// Pingora's default is one MSS (1,460 bytes): Pingora flushes after every body write, so this delays
/// nothing, but a response header and a whole answer of a few KiB leave in one `sendto`, not two.
fn plain_l4_buffers() -> L4BufferSettings {
    L4BufferSettings::new(0, 8 * 1024)
}

/// Bind `addr` now, so "listening" is logged only once connections are accepted and port 0 resolves
/// to a real port, and return the address to give Pingora. In a graceful upgrade a fixed address is
/// left to Pingora, which inherits the old process's socket; a port-0 address is still bound afresh
/// (the old process's port-0 sockets have other ports, so there is nothing to inherit).
fn bind(addr: &str, upgrading: bool, sockets: &mut Vec<(String, TcpListener)>) -> Result<String, String> {
    let sa: SocketAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IP:port address"))?;
    if upgrading && sa.port() != 0 {
        return Ok(addr.to_string());
    }
    let l = TcpListener::bind(sa).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // Pingora adopts inherited sockets as they are; a blocking one would stall its accept loop.
    l.set_nonblocking(true)
        .map_err(|e| format!("cannot configure {addr}: {e}"))?;
    // The table key must be the exact string Pingora is given; keep the configured one for fixed ports.
    let key = if sa.port() == 0 {
        l.local_addr().map_err(|e| e.to_string())?.to_string()
    } else {
        addr.to_string()
    };
    sockets.push((key.clone(), l));
    Ok(key)
}

pub struct RunOptions {
    pub config: PathBuf,
    pub overrides: Overrides,
    pub upgrade: bool,
}

/// Build everything and run until a shutdown signal. Returns only on a startup failure.
pub fn run(opts: RunOptions) -> Result<(), String> {
    let registry = Arc::new(Registry::new());
    let mut snap = config::load(&opts.config, &*registry).map_err(|p| p.to_string())?;
    let store = registry.store();
    if let Some(st) = &store {
        let _ = crate::metrics::STORE.set(st.clone());
        tracing::info!(location = ?st.location, "store open");
    }
    opts.overrides.apply(&mut snap);
    for w in snap.warnings() {
        tracing::warn!(warning = %w, "configuration");
    }
    let settings = snap.server.clone();

    let conf = ServerConf {
        threads: settings.worker_threads,
        grace_period_seconds: Some(settings.grace_period_seconds),
        graceful_shutdown_timeout_seconds: Some(settings.graceful_shutdown_timeout_seconds),
        // Pingora's cap on tries per request (stale pooled connections included); our own cap,
        // max_attempts, bounds the candidates tried.
        max_retries: settings.max_attempts + 2,
        upstream_keepalive_pool_size: settings.upstream_keepalive_pool_size,
        upgrade_sock: settings.upgrade_sock.clone(),
        pid_file: settings.pid_file.clone(),
        ..Default::default()
    };
    let opt = Opt {
        upgrade: opts.upgrade,
        ..Default::default()
    };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();

    let state = Arc::new(ArcSwap::from_pointee(snap));
    let resolver = Resolver::new(settings.dns_ttl);

    let mut sim_sockets = Vec::new();
    let sim_addr = bind(&settings.simulator_listen, opts.upgrade, &mut sim_sockets)?;
    let simulator: SocketAddr = sim_addr.parse().map_err(|_| "simulator address".to_string())?;

    let cert = match &settings.tls {
        Some(t) => Some(ReloadableCert::new(load_certified_key(&t.cert, &t.key)?)),
        None => None,
    };
    let reloader = Arc::new(Reloader {
        path: opts.config.clone(),
        overrides: opts.overrides.clone(),
        state: state.clone(),
        resolver: resolver.clone(),
        cert: cert.clone(),
        registry,
        serial: Mutex::new(()),
    });

    let router = Arc::new(RouterState {
        stored_prefs: store.as_ref().map(|s| s.prefs.clone()).unwrap_or_default(),
        ..RouterState::default()
    });
    let gateway = Gateway {
        state: state.clone(),
        resolver,
        simulator,
        router: router.clone(),
        store: store.clone(),
        idempotency: crate::proxy::idempotency::Idempotency::new(store.as_ref().map(|s| s.kv_handle())),
    };
    let mut server_options = HttpServerOptions::default();
    server_options.h2c = settings.h2c;
    server_options.h2_idle_timeout = Some(settings.client_idle_timeout);
    let mut http = pingora::proxy::http_proxy(&server.configuration, gateway);
    http.server_options = Some(server_options);
    let limits = downstream::Limits {
        idle: settings.client_idle_timeout,
        header: settings.client_header_timeout,
        max_header_bytes: settings.max_header_bytes,
        max_connections: settings.max_client_connections,
        h2c: settings.h2c,
    };
    let mut proxy = Service::new("switchyard".to_string(), ClientApp::new(http, limits));
    let mut proxy_sockets = Vec::new();
    let listen = bind(&settings.listen, opts.upgrade, &mut proxy_sockets)?;
    proxy.add_listener(ListenerConfig::tcp(&listen).l4_buffer(plain_l4_buffers()));
    tracing::info!(listener = "proxy", addr = %listen, h2c = settings.h2c, "listening");
    if let (Some(t), Some(cert)) = (&settings.tls, &cert) {
        let tls_listen = bind(&t.listen, opts.upgrade, &mut proxy_sockets)?;
        let mut tls = TlsSettings::intermediate("", "").map_err(|e| e.to_string())?;
        tls.set_cert_resolver(cert.clone());
        tls.enable_h2();
        proxy.add_tls_with_settings(&tls_listen, None, tls);
        tracing::info!(listener = "tls", addr = %tls_listen, "listening");
    }

    let mut admin = Service::new(
        "admin".to_string(),
        HttpServer::new_app(AdminApp::new(reloader.clone(), store.clone(), router)),
    );
    let mut admin_sockets = Vec::new();
    let admin_listen = bind(&settings.admin_listen, opts.upgrade, &mut admin_sockets)?;
    admin.add_tcp(&admin_listen);
    tracing::info!(listener = "admin", addr = %admin_listen, "listening");

    let mut sim = Service::new("simulator".to_string(), Simulator::new(state));
    sim.add_tcp(&sim_addr);
    tracing::info!(listener = "simulator", addr = %sim_addr, "listening");

    server.add_service(PreBound {
        inner: proxy,
        sockets: proxy_sockets,
    });
    server.add_service(PreBound {
        inner: admin,
        sockets: admin_sockets,
    });
    server.add_service(PreBound {
        inner: sim,
        sockets: sim_sockets,
    });
    server.add_service(background_service("reload", ReloadOnHangup(reloader)));
    server.run(pingora::server::RunArgs::default());
    // Pingora returns here after SIGTERM, SIGINT or an upgrade's SIGQUIT, once its runtimes stopped (so
    // every finished request has queued its row): write out what the store and the log hold.
    if let Some(st) = &store {
        let started = std::time::Instant::now();
        let ok = st.close(std::time::Duration::from_secs(30));
        tracing::info!(
            flushed = ok,
            dropped_total = st.dropped(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store closed"
        );
    }
    if let Some(w) = crate::metrics::LOG_WRITER.get() {
        w.flush_now();
    }
    std::process::exit(0)
}

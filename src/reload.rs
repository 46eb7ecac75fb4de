//! Configuration reload: load and validate a new config off the request path, and swap it in
//! atomically (SIGHUP, `POST /admin/reload`). Requests in flight keep the snapshot they started with;
//! plugin state and unchanged plugins' phases carry over (see `registry`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::config::{self, Problems, Snapshot};
use crate::dns::Resolver;
use crate::metrics::m;
use crate::registry::Registry;
use crate::tls::{load_certified_key, ReloadableCert};

/// Command-line settings that win over the config file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
}

impl Overrides {
    pub(crate) fn apply(&self, snap: &mut Snapshot) {
        if let Some(l) = &self.listen {
            snap.server.listen = l.clone();
        }
        if let Some(l) = &self.admin_listen {
            snap.server.admin_listen = l.clone();
        }
    }
}

pub struct Reloader {
    pub(crate) path: PathBuf,
    pub(crate) overrides: Overrides,
    pub(crate) state: Arc<ArcSwap<Snapshot>>,
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) cert: Option<Arc<ReloadableCert>>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) serial: Mutex<()>,
}

impl Reloader {
    pub fn generation(&self) -> u64 {
        self.state.load().generation
    }

    /// Load, validate and swap in the config. On any problem the running config stays and the
    /// problems are returned (and logged). Requests in flight keep the snapshot they started with.
    pub fn reload(&self) -> Result<u64, Problems> {
        let _one_at_a_time = self.serial.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.try_reload();
        match &result {
            Ok(g) => {
                m().config_reloads.with_label_values(&["ok"]).inc();
                tracing::info!(generation = g, path = %self.path.display(), "configuration reloaded");
            }
            Err(p) => {
                m().config_reloads.with_label_values(&["rejected"]).inc();
                tracing::warn!(problems = %p, "configuration reload rejected; the previous configuration keeps serving");
            }
        }
        result
    }

    fn try_reload(&self) -> Result<u64, Problems> {
        let mut snap = config::load(&self.path, &*self.registry)?;
        self.overrides.apply(&mut snap);
        let old = self.state.load();
        if snap.server.listen != old.server.listen
            || snap.server.admin_listen != old.server.admin_listen
            || snap.server.simulator_listen != old.server.simulator_listen
            || snap.server.tls.as_ref().map(|t| &t.listen) != old.server.tls.as_ref().map(|t| &t.listen)
        {
            tracing::warn!("listen addresses changed in the config; they take effect on restart");
        }
        if let (Some(cert), Some(tls)) = (&self.cert, &snap.server.tls) {
            let ck = load_certified_key(&tls.cert, &tls.key).map_err(|e| {
                Problems(vec![config::Problem {
                    file: self.path.clone(),
                    line: None,
                    path: "server.tls".into(),
                    message: e,
                }])
            })?;
            cert.replace(ck);
        }
        self.resolver.set_ttl(snap.server.dns_ttl);
        let generation = snap.generation;
        self.state.store(Arc::new(snap));
        Ok(generation)
    }
}

//! TLS for the client-facing listener: a certificate resolver whose certificate and key can be swapped
//! at runtime, so a config reload (SIGHUP) picks up renewed files without dropping connections.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{ClientHello, CryptoProvider, ResolvesServerCert};

/// Load a PEM certificate chain and private key into a rustls `CertifiedKey`.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, String> {
    pingora::tls::install_default_crypto_provider();
    let (certs, key_der) = pingora::tls::load_certs_and_key_files(&cert.to_string_lossy(), &key.to_string_lossy())
        .map_err(|e| format!("cannot load {} / {}: {e}", cert.display(), key.display()))?
        .ok_or_else(|| {
            format!(
                "{} holds no certificate or {} no private key",
                cert.display(),
                key.display()
            )
        })?;
    let provider = CryptoProvider::get_default().ok_or("no rustls crypto provider installed")?;
    let signing_key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| format!("unsupported private key in {}: {e}", key.display()))?;
    let ck = CertifiedKey::new(certs, signing_key);
    ck.keys_match()
        .map_err(|e| format!("{} does not match {}: {e}", key.display(), cert.display()))?;
    Ok(Arc::new(ck))
}

/// Serves whatever certificate was loaded last.
#[derive(Debug)]
pub struct ReloadableCert {
    current: ArcSwap<CertifiedKey>,
}

impl ReloadableCert {
    pub fn new(initial: Arc<CertifiedKey>) -> Arc<Self> {
        Arc::new(ReloadableCert {
            current: ArcSwap::new(initial),
        })
    }

    pub fn replace(&self, ck: Arc<CertifiedKey>) {
        self.current.store(ck);
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

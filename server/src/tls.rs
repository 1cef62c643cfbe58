//! TLS for the node: serving HTTPS (and so `wss://` federation links) when a certificate
//! is configured, and checking peers' certificates when dialling `wss://` addresses, against
//! the system's certificate authorities plus an optional extra one (a private network's).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use thiserror::Error;

/// Why TLS could not be set up.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The private key is not the one the certificate was issued for.
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the certificate, key or settings.
    #[error("TLS set-up failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |reason: String| TlsError::Read {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read(e.to_string()))?;
    if certs.is_empty() {
        return Err(read("no PEM certificate in it".to_owned()));
    }
    Ok(certs)
}

/// Logs a warning when the certificate in `path` has expired or expires within 14 days:
/// members' browsers and other nodes will refuse it.
fn warn_if_expiring(path: &Path) {
    let Ok(at) = certificate_expiry(path) else {
        return;
    };
    let when = jiff::Timestamp::try_from(at)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    match at.duration_since(SystemTime::now()) {
        Err(_) => {
            tracing::warn!(file = %path.display(), expired = %when, "the TLS certificate has expired: browsers and other nodes refuse it; renew it (the node loads a renewed one without a restart)")
        }
        Ok(left) if left < Duration::from_secs(14 * 86_400) => {
            tracing::warn!(file = %path.display(), expires = %when, "the TLS certificate expires within 14 days; renew it")
        }
        Ok(_) => {}
    }
}

/// When the first certificate in `path` (the server's own, in a chain file) expires.
///
/// Errors: [`TlsError::Read`] when the file holds no certificate that parses (RFC 5280).
pub fn certificate_expiry(path: &Path) -> Result<SystemTime, TlsError> {
    let certs = certificates(path)?;
    let first = certs.first().ok_or_else(|| TlsError::Read {
        path: path.to_owned(),
        reason: "no PEM certificate in it".to_owned(),
    })?;
    expiry(first).map_err(|reason| TlsError::Read {
        path: path.to_owned(),
        reason,
    })
}

/// When a DER certificate expires (its `notAfter`).
pub fn expiry(der: &CertificateDer<'_>) -> Result<SystemTime, String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der.as_ref()).map_err(|e| e.to_string())?;
    Ok(cert.tbs_certificate().validity().not_after.to_system_time())
}

/// The server side: the certificate chain and its private key (PEM files), served through
/// a [`ServerCertificate`] that [`watch_certificate`] reloads when the files change.
pub fn server_config(
    cert: &Path,
    key: &Path,
) -> Result<(Arc<rustls::ServerConfig>, Arc<ServerCertificate>), TlsError> {
    let certificate = Arc::new(ServerCertificate::load(cert, key)?);
    warn_if_expiring(cert);
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(certificate.clone());
    // Websockets upgrade over HTTP/1.1, which is all the node serves.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), certificate))
}

/// What a file looked like when it was last read (`None`: missing or unreadable); a
/// renewal changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp(Option<(Option<SystemTime>, u64)>);

impl FileStamp {
    fn of(path: &Path) -> Self {
        Self(
            std::fs::metadata(path)
                .ok()
                .map(|meta| (meta.modified().ok(), meta.len())),
        )
    }
}

/// The certificate the node serves, swapped in place when its files are renewed, so a
/// Let's Encrypt renewal needs no restart and open connections are untouched.
#[derive(Debug)]
pub struct ServerCertificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files as last seen: loaded, or refused (so a bad pair is reported once).
    seen: Mutex<(FileStamp, FileStamp)>,
}

impl ServerCertificate {
    /// Reads and checks the chain and key (the key must match the certificate).
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Self, TlsError> {
        let seen = (FileStamp::of(cert_file), FileStamp::of(key_file));
        let current = certified_key(cert_file, key_file)?;
        Ok(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new(current),
            seen: Mutex::new(seen),
        })
    }

    /// Loads the files again if they changed since they were last seen. `Ok(true)` when
    /// a new certificate is now served; an error leaves the previous one in place.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = (
            FileStamp::of(&self.cert_file),
            FileStamp::of(&self.key_file),
        );
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if *seen == now {
                return Ok(false);
            }
            // Seen either way: a pair that fails is not retried (or logged) until a file
            // changes again, e.g. when a renewal has written the certificate but not yet
            // the key.
            *seen = now;
        }
        let fresh = certified_key(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(true)
    }
}

impl rustls::server::ResolvesServerCert for ServerCertificate {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn certified_key(cert_file: &Path, key_file: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = certificates(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsError::Read {
        path: key_file.to_owned(),
        reason: e.to_string(),
    })?;
    let pair = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch {
            cert: cert_file.to_owned(),
            key: key_file.to_owned(),
        },
        other => TlsError::Read {
            path: key_file.to_owned(),
            reason: other.to_string(),
        },
    })?;
    Ok(Arc::new(pair))
}

/// Checks the certificate files every `every` until `shutdown` turns true, and serves a
/// renewed certificate as soon as it is seen.
pub(crate) async fn watch_certificate(
    certificate: Arc<ServerCertificate>,
    every: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        let checking = certificate.clone();
        match tokio::task::spawn_blocking(move || checking.reload_if_changed()).await {
            Ok(Ok(true)) => tracing::info!(
                file = %certificate.cert_file.display(),
                "renewed TLS certificate loaded"
            ),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(
                error = %e,
                "the TLS certificate files changed but cannot be used; still serving the previous certificate"
            ),
            Err(_) => return,
        }
    }
}

/// The client side, for dialling peers: the system's authorities, plus `extra_ca` (PEM).
pub fn client_config(extra_ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::warn!(error = %e, "a system certificate authority could not be loaded");
    }
    let (_, ignored) = roots.add_parsable_certificates(native.certs);
    if ignored > 0 {
        tracing::debug!(
            ignored,
            "system certificates rustls cannot use were skipped"
        );
    }
    if let Some(path) = extra_ca {
        for cert in certificates(path)? {
            roots.add(cert)?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/tls")
            .join(name)
    }

    /// Puts `from` at `to` with a modification time `secs` past the epoch, as a renewal
    /// days later would (a test writes faster than some file systems' clocks tick).
    fn install(from: &str, to: &Path, secs: u64) {
        std::fs::copy(fixture(from), to).unwrap();
        let file = std::fs::File::options().write(true).open(to).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    }

    fn served(certificate: &ServerCertificate) -> CertificateDer<'static> {
        let current = certificate.current.read().unwrap().clone();
        current.end_entity_cert().unwrap().clone().into_owned()
    }

    #[test]
    fn a_renewed_certificate_is_served_and_a_broken_renewal_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        install("node.pem", &cert, 1_000);
        install("node.key", &key, 1_000);
        let certificate = ServerCertificate::load(&cert, &key).unwrap();
        let first = served(&certificate);
        assert!(!certificate.reload_if_changed().unwrap(), "nothing changed");

        // Half a renewal: the new certificate with the old key is refused, once.
        install("renewed.pem", &cert, 2_000);
        let err = certificate.reload_if_changed().unwrap_err();
        assert!(
            err.to_string()
                .contains("does not belong to the certificate"),
            "{err}"
        );
        assert_eq!(served(&certificate), first);
        assert!(!certificate.reload_if_changed().unwrap(), "not retried");

        // The key arrives: the renewed pair is served.
        install("renewed.key", &key, 2_000);
        assert!(certificate.reload_if_changed().unwrap());
        let renewed = served(&certificate);
        assert_ne!(renewed, first);
        assert_eq!(renewed, certificates(&fixture("renewed.pem")).unwrap()[0]);

        // Garbage or a missing file is refused too, and the renewed pair stays.
        std::fs::write(&cert, "not a certificate").unwrap();
        assert!(certificate.reload_if_changed().is_err());
        std::fs::remove_file(&key).unwrap();
        assert!(certificate.reload_if_changed().is_err());
        assert!(!certificate.reload_if_changed().unwrap(), "reported once");
        assert_eq!(served(&certificate), renewed);
    }

    #[test]
    fn a_key_that_does_not_match_is_refused_at_start() {
        let err =
            ServerCertificate::load(&fixture("node.pem"), &fixture("renewed.key")).unwrap_err();
        assert!(
            err.to_string()
                .contains("does not belong to the certificate"),
            "{err}"
        );
    }
}

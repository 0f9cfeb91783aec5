//! TLS for `keyward server --tls-cert FILE --tls-key FILE`: rustls, with the certificate and key
//! read again on SIGHUP. A reload changes what the next handshake presents; connections already
//! open keep theirs and are not dropped. A reload that fails (a half-written file, a key that
//! does not match) keeps the certificate in use and says why in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate or key cannot be used. The messages name the file and what would be right;
/// they never hold key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} file {}: {cause}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the TLS certificate file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", .0.display())]
    NoCertificate(PathBuf),
    #[error("the TLS key file {} holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC)", .0.display())]
    NoKey(PathBuf),
    #[error("the TLS key file {} and certificate file {} do not go together: {cause}", key.display(), cert.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        cause: rustls::Error,
    },
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a PEM certificate chain (leaf first) and its private key, and checks they match.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|cause| TlsError::Read {
            what,
            path: path.to_owned(),
            cause,
        })
    };
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&read("certificate", cert)?)
            .filter_map(Result::ok)
            .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_owned()));
    }
    let private = PrivateKeyDer::from_pem_slice(&read("key", key)?)
        .map_err(|_| TlsError::NoKey(key.to_owned()))?;
    CertifiedKey::from_der(chain, private, &provider()).map_err(|cause| TlsError::Mismatch {
        cert: cert.to_owned(),
        key: key.to_owned(),
        cause,
    })
}

/// The certificate every handshake presents, replaced whole by [`Certificates::reload`].
#[derive(Debug)]
pub struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificates {
    pub fn open(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        let loaded = load(cert, key)?;
        Ok(Arc::new(Certificates {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(loaded)),
        }))
    }

    /// Reads both files again; on any error the certificate in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let loaded = load(&self.cert, &self.key)?;
        *self.current.write().expect("certificate lock") = Arc::new(loaded);
        Ok(())
    }

    /// The rustls acceptor that presents these certificates (TLS 1.2 and 1.3, HTTP/1.1).
    pub fn acceptor(self: &Arc<Self>) -> tokio_rustls::TlsAcceptor {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().expect("certificate lock").clone())
    }
}

/// What a plain-HTTP request to the TLS port gets back, in plain HTTP (as nginx does): the
/// client learns to use https:// rather than seeing a closed connection.
pub fn plain_http_answer() -> Vec<u8> {
    let body = r#"{"type":"https://keyward.dev/problems/https_required","title":"Bad Request","status":400,"code":"https_required","detail":"this port speaks HTTPS: use an https:// URL"}"#;
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The first byte of every TLS connection: a handshake record.
pub const HANDSHAKE_RECORD: u8 = 0x16;

/// Handles SIGHUP for as long as the server runs: reloads the TLS certificate and key when the
/// server has them, and otherwise only says there is nothing to reload.
pub async fn on_hangup(certificates: Option<Arc<Certificates>>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the TLS certificate will not reload");
            return;
        };
        while hangups.recv().await.is_some() {
            let Some(certificates) = &certificates else {
                tracing::info!("SIGHUP: nothing to reload (no TLS certificate)");
                continue;
            };
            match certificates.reload() {
                Ok(()) => tracing::info!(
                    cert = %certificates.cert.display(),
                    "reloaded the TLS certificate and key"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    "kept the TLS certificate in use: the new one cannot be used"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    drop(certificates);
}

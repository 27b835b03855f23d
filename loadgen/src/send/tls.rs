//! STARTTLS on the client side: rustls over the glommio stream.
//!
//! What to trust is decided once per run (the CA file is read on the main
//! thread, before any executor starts); each shard then builds its own
//! connector, so no TLS state is shared between cores.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_rustls::TlsConnector;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::config::TlsOptions;

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file is unreadable or holds no certificate.
    #[error("cannot use CA file {}: {reason}", path.display())]
    Ca {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `--tls-name` is not a DNS name or an IP address.
    #[error("`{0}` is not a server name for TLS: give a DNS name or an IP address")]
    Name(String),
}

/// What every session's TLS handshake uses.
#[derive(Debug, Clone)]
pub(crate) struct TlsPlan {
    /// Trusted roots; `None` accepts any certificate (`--insecure`).
    roots: Option<RootCertStore>,
    /// The name checked in the certificate and sent as SNI.
    name: ServerName<'static>,
}

impl TlsPlan {
    /// Reads the trust settings for a run against `server_ip`.
    pub(crate) fn new(options: &TlsOptions, server_ip: std::net::IpAddr) -> Result<Self, TlsError> {
        let name = match &options.name {
            Some(name) => {
                ServerName::try_from(name.clone()).map_err(|_| TlsError::Name(name.clone()))?
            }
            None => ServerName::IpAddress(server_ip.into()),
        };
        let roots = if options.insecure {
            None
        } else if let Some(path) = &options.ca {
            Some(read_ca(path)?)
        } else {
            Some(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
        };
        Ok(Self { roots, name })
    }

    /// The name to pass to the handshake.
    pub(crate) fn name(&self) -> ServerName<'static> {
        self.name.clone()
    }

    /// A connector for one shard.
    pub(crate) fn connector(&self) -> TlsConnector {
        let provider = Arc::new(ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions");
        let config = match &self.roots {
            Some(roots) => builder.with_root_certificates(roots.clone()),
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))),
        }
        .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

/// The certificates of a PEM file as trust anchors. Public because the proxy's
/// upstream client trusts a CA file the same way.
pub fn read_ca(path: &Path) -> Result<RootCertStore, TlsError> {
    let error = |reason: String| TlsError::Ca {
        path: path.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(path).map_err(|e| error(e.to_string()))? {
        let certificate = certificate.map_err(|e| error(e.to_string()))?;
        roots.add(certificate).map_err(|e| error(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(error("no certificate in the file".into()));
    }
    Ok(roots)
}

/// `--insecure` (and the proxy's opportunistic upstream TLS without a CA): any
/// certificate is taken as the server's, but the handshake signatures are still
/// checked, so the session is really encrypted to whoever holds that
/// certificate's key.
#[derive(Debug)]
pub struct AnyCertificate(pub Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> TlsOptions {
        TlsOptions {
            insecure: false,
            ca: None,
            name: None,
        }
    }

    #[test]
    fn names_and_trust() {
        let ip = "127.0.0.1".parse().unwrap();
        let plan = TlsPlan::new(&options(), ip).unwrap();
        assert!(matches!(plan.name(), ServerName::IpAddress(_)));
        assert!(plan.roots.as_ref().is_some_and(|roots| !roots.is_empty()));
        let named = TlsOptions {
            name: Some("mx.example.net".into()),
            insecure: true,
            ..options()
        };
        let plan = TlsPlan::new(&named, ip).unwrap();
        assert!(matches!(plan.name(), ServerName::DnsName(_)));
        assert!(plan.roots.is_none());
        let bad = TlsOptions {
            name: Some("not a name".into()),
            ..options()
        };
        assert!(matches!(TlsPlan::new(&bad, ip), Err(TlsError::Name(_))));
        let missing = TlsOptions {
            ca: Some("/nonexistent/ca.pem".into()),
            ..options()
        };
        assert!(matches!(
            TlsPlan::new(&missing, ip),
            Err(TlsError::Ca { .. })
        ));
    }
}

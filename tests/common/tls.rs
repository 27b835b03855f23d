//! TLS for the end-to-end tests: a certificate authority made at test time
//! (rcgen), a server certificate it signs for the proxy, and a rustls client
//! configuration that trusts only that authority.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tempfile::TempDir;

use super::{CLIENT_HELO, Client, GREETING, HOSTNAME};

/// STARTTLS's 220.
pub const READY: &str = "220 2.0.0 Ready to start TLS\r\n";

/// A test CA and a leaf it signed for [`HOSTNAME`] and 127.0.0.1, as PEM files.
pub struct TestPki {
    dir: TempDir,
    ca: Issuer<'static, KeyPair>,
}

impl TestPki {
    /// A new CA, with a first leaf certificate written out.
    pub fn new() -> TestPki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "ringwall test CA");
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).expect("write CA");
        let pki = TestPki {
            dir,
            ca: Issuer::new(params, key),
        };
        pki.issue("first leaf");
        pki
    }

    /// Signs a new leaf (its subject CN says `label`) and writes it and its key
    /// over the files the proxy reads.
    pub fn issue(&self, label: &str) {
        let mut params = CertificateParams::new(vec![HOSTNAME.to_string(), "127.0.0.1".into()])
            .expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, label);
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.ca).expect("leaf certificate");
        std::fs::write(self.certificate(), cert.pem()).expect("write certificate");
        std::fs::write(self.private_key(), key.serialize_pem()).expect("write key");
    }

    /// The CA certificate (PEM).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The proxy's certificate (PEM).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The proxy's private key (PEM).
    pub fn private_key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// A client that trusts only this CA.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        client_config(&self.ca(), None)
    }
}

/// A rustls client trusting the CA in `ca`, limited to `version` when given.
pub fn client_config(
    ca: &Path,
    version: Option<&'static rustls::SupportedProtocolVersion>,
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
        roots.add(cert.expect("CA certificate")).expect("CA root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match version {
        Some(v) => vec![v],
        None => rustls::DEFAULT_VERSIONS.to_vec(),
    };
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// The name the proxy's certificate is checked against.
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from(HOSTNAME).expect("a DNS name")
}

/// A session at `addr` greeted and EHLO'd in plaintext, then switched to TLS
/// (EHLO not yet repeated).
pub fn tls_session(addr: std::net::SocketAddr, config: Arc<ClientConfig>) -> Client {
    let mut client = Client::connect(addr);
    assert_eq!(client.reply(), GREETING);
    assert!(
        client
            .command(&format!("EHLO {CLIENT_HELO}"))
            .contains("250 STARTTLS\r\n")
    );
    assert_eq!(client.command("STARTTLS"), READY);
    client.start_tls(config);
    client
}

/// The proxy's certificate as the client saw it, as text (its subject CN
/// can be searched for).
pub fn peer_certificate(client: &Client) -> String {
    let certs = client.tls().peer_certificates().expect("a certificate");
    String::from_utf8_lossy(certs[0].as_ref()).into_owned()
}

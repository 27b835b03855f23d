//! TLS on both sides of the proxy, with rustls (ring provider) over glommio
//! streams through futures-rustls: the certificate STARTTLS presents (reloaded
//! on SIGHUP without touching open sessions), the trust the upstream client
//! uses, and the stream type a connection has before and after STARTTLS.
//!
//! Sharing is kept off the per-message path: the loaded certificate lives in one
//! [`Credentials`] that only SIGHUP writes; each shard keeps its own acceptor
//! (with its own TLS 1.2 session cache) and looks at one generation counter per
//! handshake to notice a reload. The ticket key is shared by all shards, so a
//! client resumes whichever shard takes its next connection.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::{AsyncRead, AsyncWrite};
use futures_rustls::{TlsAcceptor, TlsConnector};
use glommio::net::TcpStream;
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache};
use rustls::{ClientConfig, CommonState, RootCertStore, ServerConfig};

use crate::published::Published;

/// TLS 1.2 sessions one shard remembers for stateful resumption (clients that
/// do not take tickets). Each entry is a few hundred octets.
const SESSION_CACHE_PER_SHARD: usize = 4096;

/// Why TLS material cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is unreadable or holds no certificate.
    #[error("cannot use certificate {}: {reason}", path.display())]
    Certificate {
        /// `[tls] certificate`.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The key file is unreadable or holds no private key.
    #[error("cannot use private key {}: {reason}", path.display())]
    Key {
        /// `[tls] private_key`.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the pair (the key does not match the certificate, an
    /// unsupported key type).
    #[error("certificate and private key cannot serve TLS: {0}")]
    Pair(String),
    /// The upstream CA file.
    #[error(transparent)]
    Ca(#[from] ringwall_loadgen::send::TlsError),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Reads a PEM certificate chain and private key into a server configuration:
/// TLS 1.2 and 1.3, no ALPN (SMTP has none), no client certificates.
fn server_config(
    certificate: &Path,
    private_key: &Path,
    ticketer: Arc<dyn ProducesTickets>,
) -> Result<ServerConfig, TlsError> {
    let cert_error = |reason: String| TlsError::Certificate {
        path: certificate.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(certificate)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error("no PEM certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(private_key).map_err(|e| TlsError::Key {
        path: private_key.to_owned(),
        reason: e.to_string(),
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Pair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Pair(e.to_string()))?;
    config.ticketer = ticketer;
    Ok(config)
}

/// The server certificate and key in force, replaced as a whole on reload.
pub struct Credentials {
    certificate: PathBuf,
    private_key: PathBuf,
    ticketer: Arc<dyn ProducesTickets>,
    current: Published<ServerConfig>,
}

impl Credentials {
    /// Loads `[tls] certificate` and `private_key`.
    pub fn load(certificate: &Path, private_key: &Path) -> Result<Arc<Credentials>, TlsError> {
        let ticketer = ring::Ticketer::new().map_err(|e| TlsError::Pair(e.to_string()))?;
        let config = server_config(certificate, private_key, Arc::clone(&ticketer))?;
        Ok(Arc::new(Credentials {
            certificate: certificate.to_owned(),
            private_key: private_key.to_owned(),
            ticketer,
            current: Published::new(config),
        }))
    }

    /// Reads the files again (SIGHUP). On error the old pair stays in force;
    /// sessions already in TLS are never touched either way.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(
            &self.certificate,
            &self.private_key,
            Arc::clone(&self.ticketer),
        )?;
        self.current.publish(config);
        Ok(())
    }

    /// The configuration new handshakes use, with its reload generation.
    pub fn snapshot(&self) -> (u64, Arc<ServerConfig>) {
        self.current.latest()
    }
}

/// One shard's view of [`Credentials`]: its own acceptor and session cache,
/// rebuilt only when a reload happened.
pub struct ShardTls {
    credentials: Arc<Credentials>,
    cached: std::cell::RefCell<(u64, TlsAcceptor)>,
}

impl ShardTls {
    /// A shard's acceptor over the shared credentials.
    pub fn new(credentials: Arc<Credentials>) -> ShardTls {
        let cached = Self::build(&credentials);
        ShardTls {
            credentials,
            cached: std::cell::RefCell::new(cached),
        }
    }

    fn build(credentials: &Credentials) -> (u64, TlsAcceptor) {
        let (generation, shared) = credentials.snapshot();
        let mut config = (*shared).clone();
        config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_PER_SHARD);
        (generation, TlsAcceptor::from(Arc::new(config)))
    }

    /// The acceptor for the next handshake.
    pub fn acceptor(&self) -> TlsAcceptor {
        let generation = self.credentials.current.generation();
        let mut cached = self.cached.borrow_mut();
        if cached.0 != generation {
            *cached = Self::build(&self.credentials);
        }
        cached.1.clone()
    }
}

/// Everything TLS a shard needs, loaded once on the main thread before any
/// shard starts (so a bad file stops the start, not the first handshake).
#[derive(Clone)]
pub struct TlsMaterial {
    /// The STARTTLS certificate, when `[tls]` is configured.
    pub credentials: Option<Arc<Credentials>>,
    /// What the upstream client trusts.
    pub upstream: UpstreamTrust,
}

impl TlsMaterial {
    /// Loads `[tls]` and `[upstream] tls_ca`.
    pub fn load(config: &crate::config::Config) -> Result<TlsMaterial, TlsError> {
        let credentials = match config.tls.files() {
            Some((certificate, key)) => Some(Credentials::load(certificate, key)?),
            None => None,
        };
        let upstream = UpstreamTrust::load(config.upstream.tls_ca.as_deref())?;
        Ok(TlsMaterial {
            credentials,
            upstream,
        })
    }
}

/// What the upstream client trusts when the upstream offers STARTTLS.
#[derive(Clone)]
pub struct UpstreamTrust {
    /// Roots from `[upstream] tls_ca`; `None` takes any certificate (still
    /// encrypted, not authenticated: Postfix's "may"/"encrypt" levels).
    roots: Option<RootCertStore>,
}

impl UpstreamTrust {
    /// Reads `[upstream] tls_ca`, if set.
    pub fn load(ca: Option<&Path>) -> Result<UpstreamTrust, TlsError> {
        let roots = ca.map(ringwall_loadgen::send::read_ca).transpose()?;
        Ok(UpstreamTrust { roots })
    }

    /// A connector for one shard (its own resumption store).
    pub fn connector(&self) -> TlsConnector {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("ring supports TLS 1.2 and 1.3");
        let config = match &self.roots {
            Some(roots) => builder.with_root_certificates(roots.clone()),
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(
                    ringwall_loadgen::send::AnyCertificate(provider),
                )),
        }
        .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

/// The negotiated protocol and cipher, for the Received header and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSummary {
    /// "TLSv1.3" or "TLSv1.2".
    pub version: &'static str,
    /// The IANA cipher suite name, e.g. "TLS13_AES_256_GCM_SHA384".
    pub cipher: String,
}

impl TlsSummary {
    /// Reads what a finished handshake agreed on.
    pub fn of(state: &CommonState) -> TlsSummary {
        let version = match state.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "TLS",
        };
        let cipher = state
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default();
        TlsSummary { version, cipher }
    }
}

impl std::fmt::Display for TlsSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} with cipher {}", self.version, self.cipher)
    }
}

/// A TCP connection before or after STARTTLS.
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// After a completed handshake, either side.
    Tls(Box<futures_rustls::TlsStream<TcpStream>>),
    /// Handed to a handshake that failed: the connection is gone.
    Gone,
}

impl Stream {
    /// Takes the plain stream out for a handshake, leaving [`Stream::Gone`]
    /// until the handshake puts the TLS stream back.
    pub fn take_plain(&mut self) -> Option<TcpStream> {
        match std::mem::replace(self, Stream::Gone) {
            Stream::Plain(tcp) => Some(tcp),
            other => {
                *self = other;
                None
            }
        }
    }

    /// The TLS parameters, once in TLS.
    pub fn tls(&self) -> Option<TlsSummary> {
        match self {
            Stream::Tls(tls) => Some(TlsSummary::of(tls.get_ref().1)),
            _ => None,
        }
    }
}

impl std::os::fd::AsRawFd for Stream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            Stream::Plain(tcp) => tcp.as_raw_fd(),
            Stream::Tls(tls) => tls.get_ref().0.as_raw_fd(),
            Stream::Gone => -1,
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "connection lost in a TLS handshake",
    )
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_close(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_close(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

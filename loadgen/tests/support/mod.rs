//! A small blocking SMTP server for the send tests that the sink cannot
//! serve: it records each client's address (to check `--source-ips`) and
//! speaks STARTTLS (to check the TLS client), one thread per connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// What the server saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// The address of every connection.
    pub peers: Vec<IpAddr>,
    /// Every message received, dot-unstuffed, with whether it came over TLS.
    pub messages: Vec<(Vec<u8>, bool)>,
}

/// A running test server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
}

/// A self-signed certificate for `localhost`, as PEM, and the server
/// config that presents it.
pub fn tls_server() -> (String, Arc<ServerConfig>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let chain: Vec<CertificateDer<'static>> = vec![certified.cert.der().clone()];
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    (certified.cert.pem(), Arc::new(config))
}

impl TestServer {
    /// Listens on a free loopback port; offers STARTTLS when given a TLS
    /// config.
    pub fn start(tls: Option<Arc<ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_seen, accept_stop) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (seen, tls) = (Arc::clone(&accept_seen), tls.clone());
                thread::spawn(move || {
                    let _ = serve(stream, &seen, tls);
                });
            }
        });
        Self { addr, seen, stop }
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What was seen so far.
    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Anything a session can run over: plain TCP or TLS.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// One SMTP session.
fn serve(stream: TcpStream, seen: &Mutex<Seen>, tls: Option<Arc<ServerConfig>>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    seen.lock().unwrap().peers.push(stream.peer_addr()?.ip());
    let tcp = stream.try_clone()?;
    let mut reader: BufReader<Box<dyn Stream>> = BufReader::new(Box::new(stream));
    let mut secure = false;
    reader
        .get_mut()
        .write_all(b"220 test.localhost ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" if tls.is_some() && !secure => {
                b"250-test.localhost\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
            }
            "EHLO" => b"250-test.localhost\r\n250 PIPELINING\r\n",
            "STAR" => {
                let Some(config) = tls.clone().filter(|_| !secure) else {
                    reader.get_mut().write_all(b"503 5.5.1 no\r\n")?;
                    continue;
                };
                reader.get_mut().write_all(b"220 2.0.0 go ahead\r\n")?;
                let connection = ServerConnection::new(config).map_err(io::Error::other)?;
                let tls_stream = StreamOwned::new(connection, tcp.try_clone()?);
                reader = BufReader::new(Box::new(tls_stream));
                secure = true;
                continue;
            }
            "MAIL" | "RCPT" | "RSET" => b"250 2.0.0 ok\r\n",
            "DATA" => {
                reader.get_mut().write_all(b"354 go\r\n")?;
                let message = read_message(&mut reader)?;
                seen.lock().unwrap().messages.push((message, secure));
                b"250 2.0.0 queued\r\n"
            }
            "QUIT" => {
                reader.get_mut().write_all(b"221 2.0.0 bye\r\n")?;
                let _ = tcp.shutdown(Shutdown::Both);
                return Ok(());
            }
            _ => b"502 5.5.2 unknown\r\n",
        };
        reader.get_mut().write_all(reply)?;
    }
}

/// Reads message text up to the `.` line, removing dot-stuffing.
fn read_message(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" {
            return Ok(message);
        }
        let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
        message.extend_from_slice(unstuffed);
    }
}

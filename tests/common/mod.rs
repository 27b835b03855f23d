//! The end-to-end harness: the real proxy and the real upstream sink, in-process
//! on loopback, and a small blocking SMTP client for byte-exact conversations.
//!
//! A test builds a [`Setup`] (the proxy's [`Config`] and the sink's [`SinkConfig`],
//! each with the few values it cares about changed), starts it as a [`Stack`], talks
//! to [`Stack::addr`] with a [`Client`] or a real peer program, then reads what the
//! upstream received from the sink's dump directory and counts. Every port is picked
//! by the kernel and every file lives in the test's own temporary directory, so
//! tests run in parallel without knowing of each other.
//!
//! Each test binary compiles this module and uses the part it needs.
#![allow(dead_code)]

pub mod binary;
pub mod dnsmasq;
pub mod haproxy;
pub mod postfix;
pub mod quarantine;
pub mod tls;
pub mod triage;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use ringwall::config::{Config, HumanDuration};
use ringwall::relay::rfc5322_date;
use ringwall::server::{self, RunningServer};
use ringwall_loadgen::sink::{self, Counts, RunningSink, SinkConfig};
use socket2::{Domain, SockAddr, Socket, Type};
use tempfile::TempDir;

/// How long any single read from the proxy may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// The proxy's name in tests: greeting, EHLO and `Received: ... by`.
pub const HOSTNAME: &str = "mx.example.net";

/// The one recipient domain the proxy relays for unless a test says otherwise.
pub const DOMAIN: &str = "example.net";

/// The proxy's greeting.
pub const GREETING: &str = "220 mx.example.net ESMTP ringwall\r\n";

/// The name clients give in EHLO unless a test is about that name.
pub const CLIENT_HELO: &str = "client.example";

/// The EHLO reply with the sink's default extensions behind the proxy.
pub const EHLO_REPLY: &str = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n\
    250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 DSN\r\n";

/// MAIL accepted.
pub const SENDER_OK: &str = "250 2.1.0 Sender ok\r\n";
/// A recipient the upstream accepted.
pub const RECIPIENT_OK: &str = "250 2.1.5 Recipient ok\r\n";
/// DATA accepted.
pub const START_DATA: &str = "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n";
/// NOOP and RSET.
pub const OK: &str = "250 2.0.0 Ok\r\n";
/// QUIT.
pub const BYE: &str = "221 2.0.0 Bye\r\n";

/// What the proxy forwards to.
enum Upstream {
    /// An in-process sink started with this config.
    Sink(Box<SinkConfig>),
    /// A loopback port where nothing listens (the upstream is down).
    Down,
    /// A server the test runs itself.
    At(SocketAddr),
}

/// A proxy configuration and an upstream, not yet started.
pub struct Setup {
    config: Config,
    upstream: Upstream,
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

impl Setup {
    /// One shard on a kernel-picked loopback port, relaying for [`DOMAIN`] to a
    /// sink that dumps and records everything it accepts. Time bounds that only
    /// matter when something hangs are short, so a failing test ends quickly.
    pub fn new() -> Setup {
        let mut config = Config::default();
        config.server.listen = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))];
        config.server.shards = 1;
        config.server.hostname = HOSTNAME.into();
        config.domains.accept = vec![DOMAIN.into()];
        config.upstream.connect_timeout = seconds(2);
        config.upstream.reply_timeout = seconds(10);
        config.upstream.data_timeout = seconds(10);
        config.timeouts.shutdown_grace = seconds(1);
        let sink = SinkConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            pin: false,
            ..SinkConfig::default()
        };
        Setup {
            config,
            upstream: Upstream::Sink(Box::new(sink)),
        }
    }

    /// Changes the proxy's configuration.
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Setup {
        change(&mut self.config);
        self
    }

    /// Changes the sink's configuration.
    pub fn sink(mut self, change: impl FnOnce(&mut SinkConfig)) -> Setup {
        match &mut self.upstream {
            Upstream::Sink(sink) => change(sink),
            _ => panic!("this setup has no sink"),
        }
        self
    }

    /// Makes the sink stop offering CHUNKING, so the proxy forwards with DATA
    /// (re-dot-stuffing the message) instead of BDAT, and does not offer BDAT.
    pub fn without_chunking(self) -> Setup {
        self.sink(|s| s.ehlo_extensions.retain(|e| e != "CHUNKING"))
    }

    /// Offers STARTTLS with `pki`'s certificate.
    pub fn tls(self, pki: &tls::TestPki) -> Setup {
        self.config(|c| {
            c.tls.certificate = Some(pki.certificate());
            c.tls.private_key = Some(pki.private_key());
        })
    }

    /// Forwards to a loopback port where nothing listens.
    pub fn upstream_down(mut self) -> Setup {
        self.upstream = Upstream::Down;
        self
    }

    /// Forwards to a server the test runs itself.
    pub fn upstream_at(mut self, addr: SocketAddr) -> Setup {
        self.upstream = Upstream::At(addr);
        self
    }

    /// Starts the upstream, then the proxy.
    pub fn start(self) -> Stack {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = self.config;
        let mut sink = None;
        let mut reserved = None;
        let mut ehlo_reply = EHLO_REPLY.to_string();
        if config.tls.files().is_some() {
            ehlo_reply = ehlo_reply.replace("250 DSN\r\n", "250-DSN\r\n250 STARTTLS\r\n");
        }
        config.upstream.address = vec![match self.upstream {
            Upstream::Sink(mut sink_config) => {
                if !sink_config.ehlo_extensions.iter().any(|e| e == "CHUNKING") {
                    ehlo_reply = ehlo_reply.replace("250-CHUNKING\r\n", "");
                }
                sink_config.dump_dir = Some(dir.path().join("dump"));
                sink_config.record = Some(dir.path().join("record.tsv"));
                let running = sink::start(*sink_config).expect("the sink starts");
                let addr = running.local_addr();
                sink = Some(running);
                addr
            }
            Upstream::Down => {
                // Bound but never listening: connecting is refused at once, and no
                // other test can take the port while the stack holds it.
                let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
                socket
                    .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
                    .expect("bind");
                let addr = socket
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_socket())
                    .expect("bound address");
                reserved = Some(socket);
                addr
            }
            Upstream::At(addr) => addr,
        }];
        let proxy = server::start(&config).expect("the proxy starts");
        let addr = proxy.local_addrs()[0];
        Stack {
            proxy: Some(proxy),
            sink,
            addr,
            ehlo_reply,
            dir,
            _reserved: reserved,
        }
    }
}

/// A GET over HTTP/1.1; the status line, the headers and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the admin listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: ringwall\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (
        status.to_string(),
        headers.to_ascii_lowercase(),
        body.to_string(),
    )
}

/// A counting upstream sink on a kernel-picked loopback port, replying
/// after `delay`, for tests that run the real binary (a [`Stack`] starts
/// its own).
pub fn loopback_sink(delay: Duration) -> RunningSink {
    sink::start(SinkConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        pin: false,
        delay,
        ..SinkConfig::default()
    })
    .expect("the sink starts")
}

/// A loopback port nothing listens on once this returns.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A whole duration in seconds, as config values are written.
pub fn seconds(n: u64) -> HumanDuration {
    HumanDuration(Duration::from_secs(n))
}

/// A running proxy and its upstream; dropping it stops both.
pub struct Stack {
    proxy: Option<RunningServer>,
    sink: Option<RunningSink>,
    addr: SocketAddr,
    ehlo_reply: String,
    dir: TempDir,
    _reserved: Option<Socket>,
}

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// The message, un-dot-stuffed, as the upstream stored it.
    pub eml: Vec<u8>,
    /// The EHLO line of the upstream session and this transaction's
    /// XFORWARD/MAIL/RCPT lines, exactly as ringwall sent them.
    pub env: String,
}

impl Stack {
    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the admin listener is, when `[admin] listen` was set.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.proxy.as_ref().and_then(RunningServer::admin_addr)
    }

    /// The upstream sink's address.
    pub fn upstream_addr(&self) -> SocketAddr {
        self.sink
            .as_ref()
            .expect("this stack has a sink")
            .local_addr()
    }

    /// Where the quarantine's link listener is, when `[quarantine]
    /// public_listen` was set.
    pub fn public_addr(&self) -> Option<SocketAddr> {
        self.proxy.as_ref().and_then(RunningServer::public_addr)
    }

    /// A new connection to the proxy, greeting not yet read.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// A new connection that has been greeted and has sent EHLO [`CLIENT_HELO`],
    /// answered with [`EHLO_REPLY`] (less CHUNKING when the sink lacks it).
    pub fn session(&self) -> Client {
        let mut client = self.connect();
        assert_eq!(client.reply(), GREETING);
        assert_eq!(
            client.command(&format!("EHLO {CLIENT_HELO}")),
            self.ehlo_reply
        );
        client
    }

    /// Re-reads the TLS certificate, as SIGHUP does.
    pub fn reload_tls(&self) {
        self.proxy
            .as_ref()
            .expect("running")
            .reload_tls()
            .expect("the new certificate loads");
    }

    /// Every message the sink accepted so far, in arrival order.
    pub fn dumps(&self) -> Vec<Dump> {
        let dir = self.dir.path().join("dump");
        let mut by_seq = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("dump directory") {
            let path = entry.expect("dump entry").path();
            if path.extension() != Some(OsStr::new("eml")) {
                continue;
            }
            let seq: u64 = path
                .file_stem()
                .and_then(OsStr::to_str)
                .and_then(|s| s.parse().ok())
                .expect("dumps are named <seq>.eml");
            let env = std::fs::read_to_string(path.with_extension("env")).expect("transcript");
            let eml = std::fs::read(&path).expect("message");
            by_seq.insert(seq, Dump { eml, env });
        }
        by_seq.into_values().collect()
    }

    /// The sink's record file: one line per accepted message.
    pub fn record(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("record.tsv")).unwrap_or_default()
    }

    /// Stops the proxy (its connections drain first, so every upstream
    /// transaction it opened is finished), then the sink, and returns what the
    /// sink counted.
    pub fn finish(mut self) -> Counts {
        self.stop_proxy();
        let sink = self.sink.take().expect("this stack has a sink");
        sink.stop();
        sink.wait().expect("the sink stops cleanly")
    }

    fn stop_proxy(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.shutdown();
            proxy.wait().expect("the proxy stops cleanly");
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            proxy.shutdown();
            let _ = proxy.wait();
        }
        if let Some(sink) = self.sink.take() {
            sink.stop();
            let _ = sink.wait();
        }
    }
}

/// A blocking SMTP client that shows replies exactly as they came over the wire.
pub struct Client {
    conn: BufReader<Conn>,
}

/// The client's connection, before or after STARTTLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(tls) => tls.flush(),
        }
    }
}

impl Client {
    /// Connects from 127.0.0.1.
    pub fn connect(addr: SocketAddr) -> Client {
        Client::over(TcpStream::connect(addr).expect("connect to the proxy"))
    }

    /// Connects from a given loopback address (127.0.0.0/8 is all ours).
    pub fn connect_from(ip: IpAddr, addr: SocketAddr) -> Client {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("socket");
        socket
            .bind(&SockAddr::from(SocketAddr::new(ip, 0)))
            .expect("bind the client address");
        socket.connect(&addr.into()).expect("connect to the proxy");
        Client::over(socket.into())
    }

    /// Talks over an already connected stream.
    pub fn over(stream: TcpStream) -> Client {
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("read timeout");
        Client {
            conn: BufReader::new(Conn::Plain(stream)),
        }
    }

    /// The client's own address and port.
    pub fn local_addr(&self) -> SocketAddr {
        self.conn
            .get_ref()
            .tcp()
            .local_addr()
            .expect("local address")
    }

    /// Sends octets as they are.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        let conn = self.conn.get_mut();
        conn.write_all(bytes.as_ref())
            .and_then(|()| conn.flush())
            .expect("write to the proxy");
    }

    /// After the proxy's 220 to STARTTLS: asserts nothing more came in the
    /// clear, then runs the TLS handshake. Later replies are read inside TLS.
    pub fn start_tls(&mut self, config: std::sync::Arc<rustls::ClientConfig>) {
        assert!(
            self.conn.buffer().is_empty(),
            "plaintext after the 220: {:?}",
            String::from_utf8_lossy(self.conn.buffer())
        );
        let Conn::Plain(tcp) = self.conn.get_ref() else {
            panic!("already in TLS")
        };
        let tcp = tcp.try_clone().expect("clone the stream");
        let tls = rustls::ClientConnection::new(config, tls::server_name()).expect("TLS client");
        let mut stream = rustls::StreamOwned::new(tls, tcp);
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .expect("TLS handshake with the proxy");
        }
        self.conn = BufReader::new(Conn::Tls(Box::new(stream)));
    }

    /// The client's TLS session, once in TLS.
    pub fn tls(&self) -> &rustls::ClientConnection {
        match self.conn.get_ref() {
            Conn::Tls(tls) => &tls.conn,
            Conn::Plain(_) => panic!("not in TLS"),
        }
    }

    /// Reads one complete reply, every line of a multi-line one, in wire form.
    pub fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = Vec::new();
            match self.conn.read_until(b'\n', &mut line) {
                Ok(0) => panic!("the proxy closed the connection; reply so far: {reply:?}"),
                Ok(_) => {}
                Err(e) => panic!("no reply from the proxy ({e}); reply so far: {reply:?}"),
            }
            let line = String::from_utf8(line).expect("replies are UTF-8");
            let last = line.as_bytes().get(3) != Some(&b'-');
            reply.push_str(&line);
            if last {
                return reply;
            }
        }
    }

    /// Sends one command line (CRLF added) and reads its reply.
    pub fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n"));
        self.reply()
    }

    /// MAIL, RCPT for each recipient and DATA, each asserted to succeed.
    pub fn envelope(&mut self, from: &str, to: &[&str]) {
        assert_eq!(self.command(&format!("MAIL FROM:<{from}>")), SENDER_OK);
        for rcpt in to {
            assert_eq!(
                self.command(&format!("RCPT TO:<{rcpt}>")),
                RECIPIENT_OK,
                "RCPT {rcpt}"
            );
        }
        assert_eq!(self.command("DATA"), START_DATA);
    }

    /// Sends `message` (canonical CRLF lines, none starting with a dot) and the
    /// end-of-data dot; returns the end-of-data reply.
    pub fn data(&mut self, message: &[u8]) -> String {
        assert!(
            !message.starts_with(b".") && !contains(message, b"\n."),
            "Client::data does no dot-stuffing"
        );
        self.send(message);
        self.send(b".\r\n");
        self.reply()
    }

    /// A whole transaction from `a@sender.example` to `to`; returns the
    /// end-of-data reply.
    pub fn deliver(&mut self, to: &[&str], message: &[u8]) -> String {
        self.envelope("a@sender.example", to);
        self.data(message)
    }

    /// Asserts the proxy closes the connection without sending anything more.
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.conn.read_to_end(&mut rest) {
            Ok(_) if rest.is_empty() => {}
            Ok(_) => panic!(
                "expected the connection to close, got {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) if e.kind() == ErrorKind::ConnectionReset && rest.is_empty() => {}
            Err(e) => panic!(
                "expected the connection to close: {e}; got {:?}",
                String::from_utf8_lossy(&rest)
            ),
        }
    }

    /// Everything the proxy sends until it closes the connection.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        match self.conn.read_to_end(&mut rest) {
            Ok(_) => rest,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => rest,
            Err(e) => panic!("expected the connection to close: {e}; got {rest:?}"),
        }
    }

    /// Closes the connection at once, whatever state the session is in.
    pub fn vanish(self) {
        self.conn
            .get_ref()
            .tcp()
            .shutdown(std::net::Shutdown::Both)
            .expect("shutdown");
    }
}

/// True when `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A small message with a Message-ID derived from `id`.
pub fn message(id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: <a@sender.example>\r\nTo: <u@example.net>\r\nSubject: {id}\r\n\
         Message-ID: <{id}@sender.example>\r\n\r\n{body}"
    )
    .into_bytes()
}

/// The queue id in the proxy's end-of-data 250, asserting the reply's exact shape.
pub fn queue_id(reply: &str) -> String {
    let id = reply
        .strip_prefix("250 2.0.0 Ok: queued as ")
        .and_then(|rest| rest.strip_suffix("\r\n"))
        .unwrap_or_else(|| panic!("not a queued reply: {reply:?}"));
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "queue id {id:?}"
    );
    id.to_string()
}

/// Splits a message as the upstream got it into ringwall's `Received:` header
/// (its first header, folded over continuation lines) and the message as the
/// client sent it, skipping the verdict's `X-Spam-*` fields ringwall puts
/// after the Received header (see [`split_verdict`] to read them).
pub fn split_received(eml: &[u8]) -> (String, &[u8]) {
    let (received, _, message) = split_verdict(eml);
    (received, message)
}

/// The three parts of a message as the upstream got it: ringwall's
/// `Received:` header, its `X-Spam-*` fields (unfolded, one per line, LF
/// separated), and the message as the client sent it.
pub fn split_verdict(eml: &[u8]) -> (String, String, &[u8]) {
    assert!(eml.starts_with(b"Received: "), "no Received header first");
    let field_end = |from: usize| {
        let mut end = from;
        loop {
            let lf = eml[end..]
                .iter()
                .position(|&b| b == b'\n')
                .expect("header line end");
            end += lf + 1;
            if eml.get(end) != Some(&b'\t') {
                return end;
            }
        }
    };
    let received_end = field_end(0);
    let header = String::from_utf8(eml[..received_end].to_vec()).expect("ASCII header");
    let mut verdict = String::new();
    let mut end = received_end;
    let ours = |rest: &[u8]| {
        [&b"X-Spam-Flag: "[..], b"X-Spam-Score: ", b"X-Spam-Status: "]
            .iter()
            .any(|name| rest.starts_with(name))
    };
    while ours(&eml[end..]) {
        let next = field_end(end);
        let field = String::from_utf8(eml[end..next].to_vec()).expect("ASCII field");
        verdict.push_str(&field.replace("\r\n\t", " ").replace("\r\n", "\n"));
        end = next;
    }
    (header, verdict, &eml[end..])
}

/// The exact `Received:` header ringwall writes for a client at 127.0.0.1 with a
/// single recipient, the date being one of the seconds between `from` and `until`.
pub fn assert_received(
    header: &str,
    helo: &str,
    id: &str,
    recipient: &str,
    from: SystemTime,
    until: SystemTime,
) {
    let (head, date) = header
        .trim_end_matches("\r\n")
        .rsplit_once(";\r\n\t")
        .unwrap_or_else(|| panic!("no date in {header:?}"));
    assert_eq!(
        head,
        format!(
            "Received: from {helo} ([127.0.0.1])\r\n\tby {HOSTNAME} (ringwall) with ESMTP id {id}\r\n\tfor <{recipient}>"
        )
    );
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
    };
    let dates: Vec<String> = (secs(from)..=secs(until))
        .map(|s| rfc5322_date(SystemTime::UNIX_EPOCH + Duration::from_secs(s)))
        .collect();
    assert!(
        dates.iter().any(|d| d == date),
        "date {date:?} not in {dates:?}"
    );
}

/// Finds an installed peer program, or fails the test saying how to install it.
pub fn peer(program: &str) -> PathBuf {
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![PathBuf::from(program)]
    } else {
        std::env::var_os("PATH")
            .map(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join(program))
                    .collect()
            })
            .unwrap_or_default()
    };
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is not installed: this test needs a real peer program; \
                 run scripts/install-test-peers.sh as root"
            )
        })
}

/// Runs a peer program to its end, killing it after `limit`.
pub fn run_peer(command: &mut Command, limit: Duration) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = child.id();
    let (done, wait) = mpsc::channel();
    let waiter = std::thread::spawn(move || done.send(child.wait_with_output()));
    let output = match wait.recv_timeout(limit) {
        Ok(output) => output.expect("peer output"),
        Err(_) => {
            // SAFETY: `pid` is our own child, not yet reaped (its waiter is blocked).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            let _ = waiter.join();
            panic!("{command:?} did not finish within {limit:?}");
        }
    };
    let _ = waiter.join();
    output
}

/// Makes sure this process may hold at least `wanted` open descriptors.
pub fn raise_fd_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(
        limit.rlim_cur >= wanted,
        "this test needs {wanted} file descriptors; the hard limit is {}",
        limit.rlim_max
    );
}

//! One connection to the upstream and the commands of a relayed transaction.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use futures_rustls::TlsConnector;
use glommio::net::TcpStream;
use glommio::timer::Timer;
use rustls::pki_types::ServerName;

use super::error::RelayError;
use crate::config::UpstreamTlsMode;
use crate::smtp::client::{Capabilities, ReplyParser, UpstreamReply, attribute_lines, dot_stuff};
use crate::smtp::command::Body;
use crate::smtp::{ForwardPath, MailParams, RcptParams, ReversePath};
use crate::tls::Stream;

/// Read buffer per upstream connection: replies are short. It lives on the heap
/// with the connection, not in the client task's future, so an idle client
/// connection does not carry it.
const READ_CHUNK: usize = 4096;

/// How recently a connection must have answered to be reused without a check.
const RECENTLY_USED: Duration = Duration::from_secs(1);

/// The real client, as XFORWARD tells the upstream (Postfix's attribute names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The client's address and port.
    pub addr: SocketAddr,
    /// Its HELO/EHLO name.
    pub helo: Option<String>,
    /// `SMTP` or `ESMTP`.
    pub protocol: &'static str,
}

/// How the upstream learns who the real client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// It does not: it sees ringwall as the client.
    Nothing,
    /// XFORWARD before each MAIL (for logging and policy lookups).
    Xforward,
    /// XCLIENT once per client session (the upstream then treats the session
    /// as the client's own); a refusal fails the transaction.
    Xclient,
}

/// STARTTLS towards the upstream: the mode and this shard's connector.
#[derive(Clone)]
pub struct UpstreamTls {
    /// `[upstream] tls`.
    pub mode: UpstreamTlsMode,
    /// Trusts `[upstream] tls_ca`, or any certificate without it.
    pub connector: TlsConnector,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// XFORWARD/XCLIENT attributes, values raw (the codec xtext-encodes them).
    /// NAME stays `[UNAVAILABLE]` until reverse DNS exists.
    fn attributes(&self) -> Vec<(&'static str, String)> {
        let addr = match self.addr.ip() {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => format!("IPV6:{v6}"),
        };
        let mut attrs = vec![
            ("NAME", "[UNAVAILABLE]".to_string()),
            ("ADDR", addr),
            ("PORT", self.addr.port().to_string()),
            ("PROTO", self.protocol.to_string()),
        ];
        if let Some(helo) = &self.helo {
            attrs.push(("HELO", helo.clone()));
        }
        attrs.push(("SOURCE", "REMOTE".to_string()));
        attrs
    }
}

/// How sending a message failed.
#[derive(Debug)]
pub enum SendError {
    /// Before any of the message left us: safe to retry on a new connection.
    BeforeContent(RelayError),
    /// After content went out: the upstream may hold the message, so the client
    /// must get a 4xx and retry, never a second delivery from us.
    AfterContent(RelayError),
}

impl SendError {
    /// The underlying relay error.
    pub fn into_inner(self) -> RelayError {
        match self {
            SendError::BeforeContent(e) | SendError::AfterContent(e) => e,
        }
    }
}

/// An open, greeted upstream connection.
pub struct UpstreamConn {
    stream: Stream,
    parser: ReplyParser,
    caps: Capabilities,
    helo_name: String,
    /// The client whose identity XCLIENT last gave this connection.
    xclient_for: Option<ClientIdentity>,
    out: Vec<u8>,
    read_buf: Box<[u8]>,
    last_used: Instant,
    reply_timeout: Duration,
}

impl std::fmt::Debug for UpstreamConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConn")
            .field("tls", &self.stream.tls())
            .field("caps", &self.caps)
            .field("last_used", &self.last_used)
            .finish_non_exhaustive()
    }
}

impl UpstreamConn {
    /// Connects to `addr`, reads the greeting, introduces us with EHLO (HELO
    /// when EHLO is refused) and, as `tls` asks, upgrades with STARTTLS. An
    /// opportunistic upgrade that fails falls back to a new plain connection.
    pub async fn open(
        addr: SocketAddr,
        helo_name: &str,
        connect_timeout: Duration,
        reply_timeout: Duration,
        tls: &UpstreamTls,
    ) -> Result<UpstreamConn, RelayError> {
        let mut conn = Self::greeted(addr, helo_name, connect_timeout, reply_timeout).await?;
        if tls.mode == UpstreamTlsMode::None {
            return Ok(conn);
        }
        let required = tls.mode == UpstreamTlsMode::Required;
        if !conn.caps.starttls {
            if required {
                return Err(RelayError::Unreachable(format!(
                    "{addr} does not offer STARTTLS and [upstream] tls = \"required\""
                )));
            }
            return Ok(conn);
        }
        match conn.start_tls(addr, &tls.connector).await {
            Ok(()) => Ok(conn),
            Err(e) if required => Err(RelayError::Unreachable(format!(
                "{addr}: STARTTLS failed and [upstream] tls = \"required\": {e}"
            ))),
            Err(e) => {
                tracing::warn!(upstream = %addr, error = %e, "upstream STARTTLS failed; continuing without TLS");
                Self::greeted(addr, helo_name, connect_timeout, reply_timeout).await
            }
        }
    }

    /// A plain connection past the banner and our EHLO.
    async fn greeted(
        addr: SocketAddr,
        helo_name: &str,
        connect_timeout: Duration,
        reply_timeout: Duration,
    ) -> Result<UpstreamConn, RelayError> {
        let stream = TcpStream::connect_timeout(addr, connect_timeout)
            .await
            .map_err(|e| RelayError::Unreachable(format!("{addr}: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| RelayError::Unreachable(format!("{addr}: {e}")))?;
        let mut conn = UpstreamConn {
            stream: Stream::Plain(stream),
            parser: ReplyParser::default(),
            caps: Capabilities::default(),
            helo_name: helo_name.to_string(),
            xclient_for: None,
            out: Vec::new(),
            read_buf: vec![0u8; READ_CHUNK].into_boxed_slice(),
            last_used: Instant::now(),
            reply_timeout,
        };
        let banner = conn.read_reply(reply_timeout).await?;
        if banner.code != 220 {
            return Err(RelayError::Unreachable(format!(
                "{addr} greeted with {}",
                banner.code
            )));
        }
        if !conn.introduce().await? {
            return Err(RelayError::Unreachable(format!(
                "{addr} refused EHLO and HELO"
            )));
        }
        Ok(conn)
    }

    /// EHLO (HELO when refused), learning the capabilities; false when both
    /// are refused.
    async fn introduce(&mut self) -> Result<bool, RelayError> {
        let ehlo = self.command(&format!("EHLO {}", self.helo_name)).await?;
        if ehlo.is_positive() {
            self.caps = Capabilities::from_ehlo(&ehlo);
            return Ok(true);
        }
        self.caps = Capabilities::default();
        let helo = self.command(&format!("HELO {}", self.helo_name)).await?;
        Ok(helo.is_positive())
    }

    /// STARTTLS, the handshake and a new EHLO. Whatever the upstream sent after
    /// its 220 arrived in plaintext and is dropped unread: it could only be a
    /// response injected by someone on the path (the upstream's side of
    /// CVE-2011-0411).
    async fn start_tls(
        &mut self,
        addr: SocketAddr,
        connector: &TlsConnector,
    ) -> Result<(), RelayError> {
        let reply = self.command("STARTTLS").await?;
        if reply.code != 220 {
            return Err(RelayError::Refused {
                command: "STARTTLS",
                code: reply.code,
            });
        }
        if self.parser.pending() > 0 {
            tracing::warn!(
                upstream = %addr,
                octets = self.parser.pending(),
                "upstream sent data after its 220 to STARTTLS; discarded"
            );
        }
        self.parser.discard();
        let tcp = self
            .stream
            .take_plain()
            .ok_or_else(|| RelayError::Lost(std::io::ErrorKind::NotConnected.into()))?;
        let limit = self.reply_timeout;
        let handshake = async {
            connector
                .connect(ServerName::IpAddress(addr.ip().into()), tcp)
                .await
                .map_err(RelayError::Lost)
        };
        let timeout = async {
            Timer::new(limit).await;
            Err(RelayError::Timeout(limit))
        };
        let tls = handshake.or(timeout).await?;
        self.stream = Stream::Tls(Box::new(futures_rustls::TlsStream::Client(tls)));
        if !self.introduce().await? {
            return Err(RelayError::Refused {
                command: "EHLO",
                code: 500,
            });
        }
        Ok(())
    }

    /// The client XCLIENT made this connection speak for, if any.
    pub fn speaks_for(&self) -> Option<&ClientIdentity> {
        self.xclient_for.as_ref()
    }

    /// The TLS session to the upstream, if any.
    pub fn tls(&self) -> Option<crate::tls::TlsSummary> {
        self.stream.tls()
    }

    /// What the upstream offered in its EHLO reply.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// When this connection last carried a command.
    pub fn last_used(&self) -> Instant {
        self.last_used
    }

    /// A cheap check that an idle connection is still usable: the peer has not
    /// closed it and has sent nothing unasked (a 421 at its idle timeout).
    /// A connection that answered within [`RECENTLY_USED`] is taken as usable
    /// without asking the kernel: upstreams time out idle clients after minutes,
    /// and a send that fails before content went out is retried anyway; this
    /// saves a system call per message on a busy connection.
    pub fn is_usable(&self, now: Instant) -> bool {
        if self.parser.pending() > 0 {
            return false;
        }
        if now.saturating_duration_since(self.last_used) < RECENTLY_USED {
            return true;
        }
        use std::os::fd::AsRawFd;
        let mut byte = 0u8;
        // SAFETY: recv on a socket we own into a one-byte buffer that outlives the call.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                (&raw mut byte).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
    }

    /// Opens a transaction: XCLIENT first when `announce` asks for it and this
    /// connection does not yet speak for `client`, then XFORWARD (when wanted
    /// and offered), MAIL and the given recipients, in one write when the
    /// upstream offers PIPELINING (one round trip instead of several). Returns
    /// MAIL's reply and each RCPT's.
    pub async fn begin(
        &mut self,
        announce: Announce,
        client: &ClientIdentity,
        sender: &ReversePath,
        params: &MailParams,
        recipients: &[(&ForwardPath, &RcptParams)],
    ) -> Result<(UpstreamReply, Vec<UpstreamReply>), RelayError> {
        if announce == Announce::Xclient {
            self.xclient(client).await?;
        }
        let xforward = if announce == Announce::Xforward && !self.caps.xforward.is_empty() {
            let attrs = client.attributes();
            let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            attribute_lines("XFORWARD", &attrs, &self.caps.xforward)
        } else {
            Vec::new()
        };
        let mail = self.mail_command(sender, params);
        let rcpts: Vec<String> = recipients
            .iter()
            .map(|(path, params)| self.rcpt_command(path, params))
            .collect();
        if !self.caps.pipelining {
            for line in &xforward {
                self.command(line).await?;
            }
            let mail_reply = self.command(&mail).await?;
            let mut replies = Vec::with_capacity(rcpts.len());
            for line in &rcpts {
                replies.push(self.command(line).await?);
            }
            return Ok((mail_reply, replies));
        }
        for line in xforward.iter().chain([&mail]).chain(&rcpts) {
            self.queue(line);
        }
        self.flush().await?;
        for _ in &xforward {
            // A refused XFORWARD only costs the upstream's view of the client.
            self.read_reply(self.reply_timeout).await?;
        }
        let mail_reply = self.read_reply(self.reply_timeout).await?;
        let mut replies = Vec::with_capacity(rcpts.len());
        for _ in &rcpts {
            replies.push(self.read_reply(self.reply_timeout).await?);
        }
        Ok((mail_reply, replies))
    }

    /// Postfix's XCLIENT: the upstream answers each line with a new 220 and
    /// forgets the session, so EHLO follows. Only between transactions (begin
    /// is called with none open) and once per client session on a connection.
    async fn xclient(&mut self, client: &ClientIdentity) -> Result<(), RelayError> {
        if self.xclient_for.as_ref() == Some(client) {
            return Ok(());
        }
        if self.caps.xclient.is_empty() {
            return Err(RelayError::IdentityRefused(
                "the upstream does not offer XCLIENT".into(),
            ));
        }
        self.xclient_for = None;
        let attrs = client.attributes();
        let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for line in attribute_lines("XCLIENT", &attrs, &self.caps.xclient) {
            let reply = self.command(&line).await?;
            if reply.code != 220 {
                return Err(RelayError::IdentityRefused(format!(
                    "XCLIENT answered {} {}",
                    reply.code,
                    reply.lines.first().map_or("", String::as_str)
                )));
            }
        }
        if !self.introduce().await? {
            return Err(RelayError::IdentityRefused(
                "EHLO after XCLIENT was refused".into(),
            ));
        }
        self.xclient_for = Some(client.clone());
        Ok(())
    }

    fn mail_command(&self, sender: &ReversePath, params: &MailParams) -> String {
        let mut mail = format!("MAIL FROM:{sender}");
        if params.body == Some(Body::EightBitMime) && self.caps.eight_bit_mime {
            mail.push_str(" BODY=8BITMIME");
        }
        if params.smtputf8 && self.caps.smtputf8 {
            mail.push_str(" SMTPUTF8");
        }
        if self.caps.dsn {
            push_param(&mut mail, "RET", params.ret.as_deref());
            push_param(&mut mail, "ENVID", params.envid.as_deref());
        }
        mail
    }

    fn rcpt_command(&self, recipient: &ForwardPath, params: &RcptParams) -> String {
        let mut line = format!("RCPT TO:{recipient}");
        if self.caps.dsn {
            push_param(&mut line, "NOTIFY", params.notify.as_deref());
            push_param(&mut line, "ORCPT", params.orcpt.as_deref());
        }
        line
    }

    /// RCPT for one more recipient of the open transaction.
    pub async fn rcpt(
        &mut self,
        recipient: &ForwardPath,
        params: &RcptParams,
    ) -> Result<UpstreamReply, RelayError> {
        let line = self.rcpt_command(recipient, params);
        self.command(&line).await
    }

    /// Sends the message of the open transaction: our header and the body as one
    /// `BDAT n LAST` when the upstream offers CHUNKING (one round trip, no
    /// stuffing), otherwise DATA, 354, the body re-dot-stuffed and the dot. The
    /// end-of-data reply is waited for up to `data_timeout`; a refused DATA comes
    /// back as its reply.
    pub async fn send_message(
        &mut self,
        header: &[u8],
        body: &[u8],
        data_timeout: Duration,
    ) -> Result<UpstreamReply, SendError> {
        self.out.clear();
        if self.caps.chunking {
            let size = header.len() + body.len();
            self.out
                .extend_from_slice(format!("BDAT {size} LAST\r\n").as_bytes());
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(body);
        } else {
            let go_ahead = self
                .command("DATA")
                .await
                .map_err(SendError::BeforeContent)?;
            if go_ahead.code != 354 {
                return Ok(go_ahead);
            }
            dot_stuff(header, &mut self.out);
            dot_stuff(body, &mut self.out);
            self.out.extend_from_slice(b".\r\n");
        }
        self.flush().await.map_err(SendError::AfterContent)?;
        if self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        self.read_reply(data_timeout)
            .await
            .map_err(SendError::AfterContent)
    }

    /// Keeps an open transaction alive while a slow client uploads.
    pub async fn noop(&mut self) -> Result<(), RelayError> {
        self.expect_positive("NOOP").await
    }

    /// Ends an unfinished transaction so the connection can be reused.
    pub async fn rset(&mut self) -> Result<(), RelayError> {
        self.expect_positive("RSET").await
    }

    /// Sends a command whose only acceptable answer is 2xx.
    async fn expect_positive(&mut self, command: &'static str) -> Result<(), RelayError> {
        let reply = self.command(command).await?;
        if reply.is_positive() {
            Ok(())
        } else {
            Err(RelayError::Refused {
                command,
                code: reply.code,
            })
        }
    }

    async fn command(&mut self, line: &str) -> Result<UpstreamReply, RelayError> {
        self.queue(line);
        self.flush().await?;
        self.read_reply(self.reply_timeout).await
    }

    fn queue(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    async fn flush(&mut self) -> Result<(), RelayError> {
        self.stream.write_all(&self.out).await?;
        self.out.clear();
        self.last_used = Instant::now();
        Ok(())
    }

    async fn read_reply(&mut self, limit: Duration) -> Result<UpstreamReply, RelayError> {
        let read = async {
            loop {
                if let Some(reply) = self.parser.next_reply()? {
                    return Ok(reply);
                }
                let n = self.stream.read(&mut self.read_buf).await?;
                if n == 0 {
                    return Err(RelayError::Lost(std::io::ErrorKind::UnexpectedEof.into()));
                }
                self.parser.feed(&self.read_buf[..n]);
            }
        };
        let timeout = async {
            Timer::new(limit).await;
            Err(RelayError::Timeout(limit))
        };
        let reply = read.or(timeout).await;
        self.last_used = Instant::now();
        reply
    }
}

/// Appends ` KEYWORD=value` to a command line when the client gave the value
/// (DSN parameters, passed through as the client wrote them after we checked them).
fn push_param(line: &mut String, keyword: &str, value: Option<&str>) {
    if let Some(value) = value {
        line.push(' ');
        line.push_str(keyword);
        line.push('=');
        line.push_str(value);
    }
}

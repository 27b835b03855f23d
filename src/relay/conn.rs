//! One connection to the upstream and the commands of a relayed transaction.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use glommio::net::TcpStream;
use glommio::timer::Timer;

use super::error::RelayError;
use crate::smtp::client::{Capabilities, ReplyParser, UpstreamReply, dot_stuff, xforward_lines};
use crate::smtp::command::Body;
use crate::smtp::{ForwardPath, MailParams, RcptParams, ReversePath};

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

impl ClientIdentity {
    /// XFORWARD attributes, values raw (the codec xtext-encodes them). NAME stays
    /// `[UNAVAILABLE]` until reverse DNS exists.
    fn xforward_attributes(&self) -> Vec<(&'static str, String)> {
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
#[derive(Debug)]
pub struct UpstreamConn {
    stream: TcpStream,
    parser: ReplyParser,
    caps: Capabilities,
    out: Vec<u8>,
    read_buf: Box<[u8]>,
    last_used: Instant,
    reply_timeout: Duration,
}

impl UpstreamConn {
    /// Connects to `addr`, reads the greeting and introduces us with EHLO (HELO
    /// when EHLO is refused).
    pub async fn open(
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
            stream,
            parser: ReplyParser::default(),
            caps: Capabilities::default(),
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
        let ehlo = conn.command(&format!("EHLO {helo_name}")).await?;
        if ehlo.is_positive() {
            conn.caps = Capabilities::from_ehlo(&ehlo);
        } else if !conn
            .command(&format!("HELO {helo_name}"))
            .await?
            .is_positive()
        {
            return Err(RelayError::Unreachable(format!(
                "{addr} refused EHLO and HELO"
            )));
        }
        Ok(conn)
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

    /// Opens a transaction: XFORWARD (when wanted and offered), MAIL and the
    /// given recipients, in one write when the upstream offers PIPELINING (one
    /// round trip instead of several). Returns MAIL's reply and each RCPT's.
    pub async fn begin(
        &mut self,
        client: Option<&ClientIdentity>,
        sender: &ReversePath,
        params: &MailParams,
        recipients: &[(&ForwardPath, &RcptParams)],
    ) -> Result<(UpstreamReply, Vec<UpstreamReply>), RelayError> {
        let xforward = match client {
            Some(client) if !self.caps.xforward.is_empty() => {
                let attrs = client.xforward_attributes();
                let attrs: Vec<(&str, &str)> =
                    attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                xforward_lines(&attrs, &self.caps.xforward)
            }
            _ => Vec::new(),
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

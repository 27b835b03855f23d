//! One SMTP client connection: set up (connect, greeting, EHLO, STARTTLS),
//! send messages (pipelined or one command at a time), quit.
//!
//! Every reply is timed from the write that carried its command and counted
//! under its stage; every message ends with exactly one [`Fate`]. A message
//! that fails by a reply leaves the connection usable (RSET goes before the
//! next transaction); one that fails by an error drops the connection.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};

use super::connect;
use super::link::Link;
use super::reader::{ReadError, ReplyReader};
use super::reply::{Extensions, Reply};
use super::shard::{Job, Shard};
use super::stats::{Fate, Stage};

/// Messages whose text is larger than this are written straight from the
/// template instead of being copied next to their Message-ID line first.
const COPY_LIMIT: usize = 64 * 1024;

/// How long to wait for the server to close after its QUIT reply before
/// closing first.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// End of the message text (RFC 5321 4.1.1.4).
const END_OF_DATA: &[u8] = b".\r\n";

/// Why a connection became unusable.
#[derive(Debug)]
pub(crate) enum SessionError {
    /// The socket could not be created, bound or connected.
    Connect(io::Error),
    /// No reply could be read.
    Read(ReadError),
    /// A command or the message could not be written.
    Write(io::Error),
    /// The TLS handshake failed.
    Tls(io::Error),
    /// `--starttls` was asked for and the server does not offer it.
    NoStarttls,
}

/// Short descriptions: they are also the keys under which errors are
/// counted, so they name the kind of failure, not its instance.
impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Connect(error) | SessionError::Write(error) => {
                write!(f, "{}", error.kind())
            }
            SessionError::Read(ReadError::Io(error)) => write!(f, "{}", error.kind()),
            SessionError::Read(error) => write!(f, "{error}"),
            SessionError::Tls(error) => write!(f, "TLS handshake failed: {error}"),
            SessionError::NoStarttls => f.write_str("the server does not offer STARTTLS"),
        }
    }
}

/// A [`SessionError`] and the stage it happened at.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Where in the conversation.
    pub(crate) stage: Stage,
    /// What went wrong.
    pub(crate) error: SessionError,
}

impl Failure {
    /// A failure at `stage`.
    fn new(stage: Stage, error: SessionError) -> Self {
        Self { stage, error }
    }

    /// A failed read at `stage`.
    fn read(stage: Stage) -> impl FnOnce(ReadError) -> Self {
        move |error| Self::new(stage, SessionError::Read(error))
    }

    /// A failed write at `stage`.
    fn write(stage: Stage) -> impl FnOnce(io::Error) -> Self {
        move |error| Self::new(stage, SessionError::Write(error))
    }
}

/// `stage: error`, as counted and reported.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.stage.name(), self.error)
    }
}

/// How setting up a connection ended.
#[derive(Debug)]
pub(crate) enum Setup {
    /// Ready for messages.
    Ready(Connection),
    /// The server refused the session with this code (greeting, EHLO or
    /// STARTTLS); the connection is closed.
    Refused(u16),
    /// No usable connection.
    Failed(Failure),
}

/// The byte stream and its buffers.
#[derive(Debug)]
struct Wire {
    link: Link,
    reader: ReplyReader,
    /// Commands and message text waiting to be written; reused for the
    /// whole connection.
    out: Vec<u8>,
}

impl Wire {
    /// Writes and clears `out`.
    async fn send(&mut self) -> io::Result<()> {
        self.link.write_all(&self.out).await?;
        self.link.flush().await?;
        self.out.clear();
        Ok(())
    }

    /// Writes `bytes` without copying them into `out`.
    async fn send_slice(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.link.write_all(bytes).await
    }

    /// The next reply and when it was read.
    async fn read(&mut self) -> Result<(Reply, Instant), ReadError> {
        self.reader.next(&mut self.link).await
    }

    /// Reads and drops whatever comes until the server closes (for at most
    /// [`DRAIN_TIMEOUT`]), so the server, which closes first after QUIT,
    /// keeps the TIME_WAIT state and this side's ports are free again at
    /// once.
    async fn drain(&mut self) {
        let _ = self.link.tcp().set_read_timeout(Some(DRAIN_TIMEOUT));
        let mut scratch = [0u8; 512];
        while let Ok(read) = self.link.read(&mut scratch).await {
            if read == 0 {
                return;
            }
        }
    }

    /// Says QUIT, reads the reply and waits for the close, ignoring
    /// failures: the session is over either way.
    async fn goodbye(&mut self, shard: &Shard, measured: bool) {
        self.out.clear();
        self.out.extend_from_slice(b"QUIT\r\n");
        if self.send().await.is_err() {
            return;
        }
        if let Ok((reply, _)) = self.read().await {
            shard.record(measured, |stats| stats.reply(Stage::Quit, reply.code));
            self.drain().await;
        }
    }
}

/// What the recipients of one transaction said.
#[derive(Debug, Default)]
struct Recipients {
    /// Accepted (2xx).
    accepted: usize,
    /// Any 4xx among the refusals.
    tempfailed: bool,
}

impl Recipients {
    /// Counts one RCPT reply.
    fn add(&mut self, reply: Reply) {
        if reply.is_positive() {
            self.accepted += 1;
        } else if Fate::of_refusal(reply.code) == Fate::Tempfailed {
            self.tempfailed = true;
        }
    }

    /// The fate of a message none of whose recipients was accepted.
    fn fate(&self) -> Fate {
        if self.tempfailed {
            Fate::Tempfailed
        } else {
            Fate::Rejected
        }
    }
}

/// An open, greeted SMTP connection.
#[derive(Debug)]
pub(crate) struct Connection {
    wire: Wire,
    /// Commands go in groups (the server offers PIPELINING and the run
    /// allows it).
    pipelining: bool,
    /// A transaction may be open after a failure: RSET before the next.
    needs_rset: bool,
    /// Messages begun on this connection.
    messages: u64,
    /// Still usable: no 421, no QUIT sent.
    open: bool,
}

impl Connection {
    /// Connects from `source`, reads the greeting, says EHLO and, if the
    /// run asks for it, STARTTLS and EHLO again. Latencies and replies are
    /// recorded if `measured`.
    pub(crate) async fn open(shard: &Shard, source: Option<IpAddr>, measured: bool) -> Setup {
        let config = &shard.plan().config;
        let started = Instant::now();
        let stream = match connect::start(config.server, source) {
            Ok(stream) => stream,
            Err(error) => {
                return Setup::Failed(Failure::new(Stage::Connect, SessionError::Connect(error)));
            }
        };
        let timeouts = stream
            .set_read_timeout(Some(config.timeout))
            .and_then(|()| stream.set_write_timeout(Some(config.timeout)));
        if let Err(error) = timeouts {
            return Setup::Failed(Failure::new(
                Stage::Connect,
                SessionError::Connect(io::Error::from(error)),
            ));
        }
        let mut wire = Wire {
            link: Link::Plain(stream),
            reader: ReplyReader::new(),
            out: Vec::with_capacity(1024),
        };
        let (greeting, at) = match wire.read().await {
            Ok(read) => read,
            Err(error) => return Setup::Failed(Failure::read(Stage::Connect)(error)),
        };
        shard.record(measured, |stats| {
            stats.counts.sessions += 1;
            stats.reply(Stage::Connect, greeting.code);
            stats.latency(Stage::Connect, at - started);
        });
        if !greeting.is_positive() {
            return refuse(wire, shard, measured, greeting).await;
        }
        let mut extensions = match ehlo(&mut wire, shard, measured).await {
            Ok(Ok(extensions)) => extensions,
            Ok(Err(reply)) => return refuse(wire, shard, measured, reply).await,
            Err(failure) => return Setup::Failed(failure),
        };
        if config.starttls.is_some() {
            if !extensions.starttls {
                wire.goodbye(shard, measured).await;
                return Setup::Failed(Failure::new(Stage::Starttls, SessionError::NoStarttls));
            }
            wire = match starttls(wire, shard, measured).await {
                Ok(Ok(wire)) => wire,
                Ok(Err((wire, reply))) => return refuse(wire, shard, measured, reply).await,
                Err(failure) => return Setup::Failed(failure),
            };
            extensions = match ehlo(&mut wire, shard, measured).await {
                Ok(Ok(extensions)) => extensions,
                Ok(Err(reply)) => return refuse(wire, shard, measured, reply).await,
                Err(failure) => return Setup::Failed(failure),
            };
        }
        Setup::Ready(Connection {
            wire,
            pipelining: config.pipelining && extensions.pipelining,
            needs_rset: false,
            messages: 0,
            open: true,
        })
    }

    /// Messages begun on this connection.
    pub(crate) fn messages(&self) -> u64 {
        self.messages
    }

    /// Whether another message may be sent (no 421, no QUIT yet).
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }

    /// Sends one message. QUIT never rides with the message text, even with
    /// pipelining: some servers (Haraka) refuse commands pipelined after end
    /// of data with 503 and keep the connection open. `Err` means the
    /// connection is unusable; the message's fate is then an error.
    pub(crate) async fn send(&mut self, shard: &Shard, job: &Job) -> Result<Fate, Failure> {
        self.messages += 1;
        let ready = if self.pipelining {
            self.envelope_pipelined(shard, job).await?
        } else {
            self.envelope_stepwise(shard, job).await?
        };
        if let Err(fate) = ready {
            return Ok(fate);
        }
        self.write_message(shard, job)
            .await
            .map_err(Failure::write(Stage::EndOfData))?;
        // End of data is timed from the last byte written, so a large
        // message's transfer time is not counted as the server's reply time.
        let sent = Instant::now();
        let (reply, at) = self
            .expect(shard, job.measured, Stage::EndOfData, sent)
            .await?;
        shard.record(job.measured, |stats| {
            stats.latency(Stage::Message, at.saturating_duration_since(job.due));
        });
        let fate = if reply.is_positive() {
            shard.accepted(job.seq);
            Fate::Accepted
        } else {
            Fate::of_refusal(reply.code)
        };
        Ok(fate)
    }

    /// Ends the session politely (QUIT unless the server already said 421).
    pub(crate) async fn quit(mut self, shard: &Shard, measured: bool) {
        if self.open {
            self.wire.goodbye(shard, measured).await;
        }
    }

    /// RSET (if due), MAIL, every RCPT and DATA in one write, then their
    /// replies in order. `Ok(Ok(()))`: the server said 354, send the text.
    async fn envelope_pipelined(
        &mut self,
        shard: &Shard,
        job: &Job,
    ) -> Result<Result<(), Fate>, Failure> {
        let envelope = &shard.plan().envelope;
        let rset = std::mem::take(&mut self.needs_rset);
        let out = &mut self.wire.out;
        if rset {
            out.extend_from_slice(b"RSET\r\n");
        }
        out.extend_from_slice(envelope.mail());
        for rcpt in envelope.rcpts(job.seq) {
            out.extend_from_slice(rcpt);
        }
        out.extend_from_slice(b"DATA\r\n");
        let sent = Instant::now();
        self.wire
            .send()
            .await
            .map_err(Failure::write(Stage::Mail))?;
        if rset {
            self.expect(shard, job.measured, Stage::Rset, sent).await?;
            if !self.open {
                return Ok(Err(Fate::Tempfailed));
            }
        }
        let (mail, _) = self.expect(shard, job.measured, Stage::Mail, sent).await?;
        if !self.open {
            return Ok(Err(Fate::Tempfailed));
        }
        let mut recipients = Recipients::default();
        for _ in 0..envelope.per_message() {
            let (reply, _) = self.expect(shard, job.measured, Stage::Rcpt, sent).await?;
            if !self.open {
                return Ok(Err(Fate::Tempfailed));
            }
            recipients.add(reply);
        }
        let (data, _) = self.expect(shard, job.measured, Stage::Data, sent).await?;
        if !self.open {
            return Ok(Err(Fate::Tempfailed));
        }
        if data.code == 354 && mail.is_positive() && recipients.accepted > 0 {
            return Ok(Ok(()));
        }
        if data.code == 354 {
            // The server wants text for a transaction that cannot deliver:
            // end it with an empty message and forget the reply.
            self.wire.out.extend_from_slice(END_OF_DATA);
            self.wire
                .send()
                .await
                .map_err(Failure::write(Stage::Data))?;
            self.wire.read().await.map_err(Failure::read(Stage::Data))?;
        }
        self.needs_rset = mail.is_positive();
        Ok(Err(if !mail.is_positive() {
            Fate::of_refusal(mail.code)
        } else if recipients.accepted == 0 {
            recipients.fate()
        } else {
            Fate::of_refusal(data.code)
        }))
    }

    /// The same transaction one command per reply, stopping at the first
    /// refusal that ends it.
    async fn envelope_stepwise(
        &mut self,
        shard: &Shard,
        job: &Job,
    ) -> Result<Result<(), Fate>, Failure> {
        let envelope = &shard.plan().envelope;
        if std::mem::take(&mut self.needs_rset) {
            self.command(shard, job, Stage::Rset, b"RSET\r\n").await?;
            if !self.open {
                return Ok(Err(Fate::Tempfailed));
            }
        }
        let mail = self
            .command(shard, job, Stage::Mail, envelope.mail())
            .await?;
        if !self.open || !mail.is_positive() {
            return Ok(Err(Fate::of_refusal(mail.code)));
        }
        self.needs_rset = true;
        let mut recipients = Recipients::default();
        for rcpt in envelope.rcpts(job.seq) {
            let reply = self.command(shard, job, Stage::Rcpt, rcpt).await?;
            if !self.open {
                return Ok(Err(Fate::Tempfailed));
            }
            recipients.add(reply);
        }
        if recipients.accepted == 0 {
            return Ok(Err(recipients.fate()));
        }
        let data = self.command(shard, job, Stage::Data, b"DATA\r\n").await?;
        if data.code != 354 {
            return Ok(Err(Fate::of_refusal(data.code)));
        }
        self.needs_rset = false;
        Ok(Ok(()))
    }

    /// Writes one command and reads its reply.
    async fn command(
        &mut self,
        shard: &Shard,
        job: &Job,
        stage: Stage,
        line: &[u8],
    ) -> Result<Reply, Failure> {
        self.wire.out.extend_from_slice(line);
        let sent = Instant::now();
        self.wire.send().await.map_err(Failure::write(stage))?;
        Ok(self.expect(shard, job.measured, stage, sent).await?.0)
    }

    /// Reads the reply of `stage`, records it, and notes a 421.
    async fn expect(
        &mut self,
        shard: &Shard,
        measured: bool,
        stage: Stage,
        sent: Instant,
    ) -> Result<(Reply, Instant), Failure> {
        let (reply, at) = self.wire.read().await.map_err(Failure::read(stage))?;
        shard.record(measured, |stats| {
            stats.reply(stage, reply.code);
            stats.latency(stage, at.saturating_duration_since(sent));
        });
        if reply.is_closing() {
            self.open = false;
        }
        Ok((reply, at))
    }

    /// Writes the message: the template around a fresh Message-ID line and
    /// the end-of-data line.
    async fn write_message(&mut self, shard: &Shard, job: &Job) -> io::Result<()> {
        let plan = shard.plan();
        let template = plan.messages.get(job.template);
        let out = &mut self.wire.out;
        out.extend_from_slice(template.head());
        out.extend_from_slice(b"Message-ID: ");
        plan.run_id.push_id(out, shard.index(), job.seq);
        out.extend_from_slice(b"\r\n");
        let tail = template.tail();
        if tail.len() > COPY_LIMIT {
            self.wire.send().await?;
            self.wire.send_slice(tail).await?;
        } else {
            self.wire.out.extend_from_slice(tail);
        }
        self.wire.out.extend_from_slice(END_OF_DATA);
        self.wire.send().await
    }
}

/// EHLO and its reply: the extensions, or the refusing reply.
async fn ehlo(
    wire: &mut Wire,
    shard: &Shard,
    measured: bool,
) -> Result<Result<Extensions, Reply>, Failure> {
    let config = &shard.plan().config;
    wire.out.extend_from_slice(b"EHLO ");
    wire.out.extend_from_slice(config.ehlo.as_bytes());
    wire.out.extend_from_slice(b"\r\n");
    let sent = Instant::now();
    wire.send().await.map_err(Failure::write(Stage::Ehlo))?;
    let (reply, at) = wire.read().await.map_err(Failure::read(Stage::Ehlo))?;
    shard.record(measured, |stats| {
        stats.reply(Stage::Ehlo, reply.code);
        stats.latency(Stage::Ehlo, at - sent);
    });
    if !reply.is_positive() {
        return Ok(Err(reply));
    }
    Ok(Ok(Extensions::parse(wire.reader.last(&reply))))
}

/// STARTTLS, its reply and the handshake: the upgraded wire, or the plain
/// one with the refusing reply.
async fn starttls(
    mut wire: Wire,
    shard: &Shard,
    measured: bool,
) -> Result<Result<Wire, (Wire, Reply)>, Failure> {
    wire.out.extend_from_slice(b"STARTTLS\r\n");
    let sent = Instant::now();
    wire.send().await.map_err(Failure::write(Stage::Starttls))?;
    let (reply, _) = wire.read().await.map_err(Failure::read(Stage::Starttls))?;
    shard.record(measured, |stats| stats.reply(Stage::Starttls, reply.code));
    if !reply.is_positive() {
        return Ok(Err((wire, reply)));
    }
    // Anything the server sent after its 220 came before the handshake and
    // must not be read as if it were protected.
    wire.reader.discard();
    let Wire { link, reader, out } = wire;
    let Link::Plain(stream) = link else {
        unreachable!("STARTTLS is negotiated once, on the plain connection")
    };
    let (connector, name) = shard.tls().expect("STARTTLS runs only with a TLS plan");
    let stream = connector
        .connect(name, stream)
        .await
        .map_err(|error| Failure::new(Stage::Starttls, SessionError::Tls(error)))?;
    let done = Instant::now();
    shard.record(measured, |stats| {
        stats.latency(Stage::Starttls, done - sent)
    });
    Ok(Ok(Wire {
        link: Link::Tls(Box::new(stream)),
        reader,
        out,
    }))
}

/// Ends a session the server refused: QUIT (unless it said 421, which
/// closes by itself), and reports the refusal.
async fn refuse(mut wire: Wire, shard: &Shard, measured: bool, reply: Reply) -> Setup {
    if !reply.is_closing() {
        wire.goodbye(shard, measured).await;
    }
    Setup::Refused(reply.code)
}

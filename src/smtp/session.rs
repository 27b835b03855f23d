//! The server-side SMTP session: a pure state machine in the shape of
//! quinn-proto's `Connection`.
//!
//! The shell feeds it ([`Session::receive`], [`Session::handle_timeout`],
//! [`Session::decide`]) and drains it ([`Session::transmit`], [`Session::poll_event`],
//! [`Session::poll_timeout`]). It never blocks, never reads a clock and never calls
//! out: when a stage needs an outside answer (policy, the upstream) it raises an
//! [`Event`] and stops reading until the shell decides. Pipelined commands simply
//! wait in the input buffer meanwhile, which also gives the shell backpressure:
//! [`Session::wants_input`] is false while a decision is pending.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use memchr::memchr;

use super::address::{ForwardPath, ReversePath};
use super::command::{self, Body, Command, MailParams, RcptParams};
use super::data::{BareLf, BodyDecoder, BodyLimits, Framing};
use super::reply::{Reply, Status, table};

/// What we advertise in EHLO: ours intersected with the upstream's, computed by
/// the shell from the upstream's EHLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extensions {
    /// SIZE limit advertised and enforced at MAIL.
    pub size: u64,
    /// 8BITMIME.
    pub eight_bit_mime: bool,
    /// SMTPUTF8.
    pub smtputf8: bool,
    /// CHUNKING (BDAT).
    pub chunking: bool,
    /// DSN parameters passed through.
    pub dsn: bool,
    /// STARTTLS (only when TLS is configured).
    pub starttls: bool,
}

/// Per-session bounds (invariant 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest command line, CRLF included.
    pub command_line: usize,
    /// Content bounds handed to the DATA/BDAT decoder.
    pub body: BodyLimits,
    /// Accepted recipients per transaction.
    pub recipients: usize,
    /// Error replies before 421 4.7.0.
    pub errors: u32,
    /// Commands before 421 4.7.0.
    pub commands: u32,
    /// Error replies after which each further one is held back (0: never), so
    /// a client probing addresses or commands pays in time for every miss.
    pub tarpit_after: u32,
    /// Content octets per second a client must keep up from the 354 (or the
    /// first BDAT chunk) to the end of the message, checked over each
    /// [`Timeouts::data_rate_window`] (0: no floor): a slowloris upload ends
    /// with 421 4.4.2 instead of holding a buffer for the whole `data` bound
    /// per octet.
    pub min_data_rate: u64,
}

/// Per-state idle bounds and the session's total lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for a command.
    pub command: Duration,
    /// Waiting for message content.
    pub data: Duration,
    /// Either of the above while the shard is under stress.
    pub under_stress: Duration,
    /// The whole session.
    pub session: Duration,
    /// The tarpit step: the n-th error reply past [`Limits::tarpit_after`] is
    /// held back n times this long, at most [`MAX_TARPIT`] (see
    /// [`Session::tarpit_hold`]), as Postfix's smtpd_error_sleep_time.
    pub tarpit_delay: Duration,
    /// The span over which [`Limits::min_data_rate`] is measured: long enough
    /// that a congested but honest link averages out, short enough that a
    /// trickle is cut off well before the `data` idle bound would.
    pub data_rate_window: Duration,
}

/// The longest one tarpitted reply is held, whatever `tarpit_delay` and the
/// error count say. 30 s is far below the shortest reply timeout RFC 5321
/// §4.5.3.2 gives a client (2 minutes, for the reply to DATA; 5 minutes for
/// the others) and below the default `[timeouts] command` (5 minutes; the
/// config refuses a hold that would reach its command bound), so an honest but
/// confused client is slowed, never timed out by its own timer and made to
/// retry; a dictionary attack still pays up to 30 s per miss, and the
/// `[limits] errors` budget then ends it.
pub const MAX_TARPIT: Duration = Duration::from_secs(30);

/// Content received during the current rate window.
#[derive(Debug, Clone, Copy)]
struct DataWindow {
    ends: Instant,
    octets: u64,
}

/// An error reply the tarpit holds back, with everything queued after it.
#[derive(Debug, Clone, Copy)]
struct Hold {
    /// Output from this offset on waits.
    from: usize,
    /// When the hold began: a rate window in progress is paused meanwhile,
    /// since the client cannot send while it waits for the reply.
    since: Instant,
    /// When the output is released.
    until: Instant,
}

/// Everything a session needs to know about its server, shared by all sessions of
/// a shard (behind an `Rc` in the shell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our name in the greeting and the EHLO reply.
    pub hostname: String,
    /// Extensions we offer.
    pub extensions: Extensions,
    /// Bounds.
    pub limits: Limits,
    /// Time bounds.
    pub timeouts: Timeouts,
}

/// A stage where the shell must decide before the session goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A client connected: greet it or not.
    Connect,
    /// HELO or EHLO with this name.
    Helo {
        /// The name the client gave.
        name: String,
        /// EHLO rather than HELO.
        extended: bool,
    },
    /// STARTTLS was accepted and its 220 queued: write it, run the TLS handshake,
    /// then answer [`Verdict::Continue`] (the session restarts at the greeting
    /// state, RFC 3207 §4.2) or anything else when the handshake failed (the
    /// session closes without another word: there is no channel left to send
    /// one on). Nothing the client pipelined after STARTTLS is ever read.
    StartTls,
    /// MAIL FROM with its parameters.
    Mail(ReversePath, MailParams),
    /// RCPT TO for this recipient.
    Rcpt(ForwardPath, RcptParams),
    /// DATA or a first BDAT: content is about to be buffered (check the budget).
    Data,
    /// A complete, well-formed message in canonical CRLF lines, un-stuffed.
    Message(Vec<u8>),
    /// The open transaction ended without a message (RSET, new EHLO, a refused or
    /// defective message): release whatever the shell holds for it.
    Reset,
    /// Close the connection once the pending output is written.
    Close,
}

/// The shell's answer to an [`Event`] that waits for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on with the stage's usual reply.
    Continue,
    /// Go on, answering with this reply (the upstream's mapped 250, a queue id).
    ContinueWith(Reply),
    /// Refuse this stage with this 4xx/5xx reply; the session stays open.
    Refuse(Reply),
    /// Send this reply and close the connection.
    Disconnect(Reply),
}

/// The envelope of the open transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// MAIL FROM.
    pub sender: ReversePath,
    /// MAIL parameters.
    pub params: MailParams,
    /// Accepted recipients, in order.
    pub recipients: Vec<(ForwardPath, RcptParams)>,
    /// DATA or BDAT once content started.
    framing: Option<Framing>,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the shell's decision on [`Pending`].
    Awaiting(Pending),
    /// Greeting refused: 503 to everything but QUIT (RFC 5321 §3.1).
    Refused,
    /// Reading commands.
    Command,
    /// Reading DATA content.
    Data(Box<BodyDecoder>),
    /// Reading a BDAT chunk's octets.
    Chunk(Chunk),
    /// Closed; nothing more happens.
    Closed,
}

#[derive(Debug)]
struct Chunk {
    /// Octets the BDAT command announced.
    size: u64,
    remaining: u64,
    last: bool,
    /// The chunk was refused with this reply: read and drop its octets.
    refused: Option<Reply>,
}

#[derive(Debug)]
enum Pending {
    Connect,
    Helo {
        name: String,
        extended: bool,
    },
    Mail {
        sender: ReversePath,
        params: MailParams,
    },
    Rcpt(ForwardPath, RcptParams),
    StartTls,
    Data {
        framing: Framing,
        after_crlf: bool,
        chunk: Option<(u64, bool)>,
    },
    Message,
}

/// One client's SMTP session.
#[derive(Debug)]
pub struct Session {
    config: std::rc::Rc<SessionConfig>,
    phase: Phase,
    helo: Option<(String, bool)>,
    tls: bool,
    transaction: Option<Transaction>,
    decoder: Option<Box<BodyDecoder>>,
    message: Vec<u8>,
    input: Vec<u8>,
    output: Vec<u8>,
    events: VecDeque<Event>,
    discarding_long_line: bool,
    errors: u32,
    commands: u32,
    idle_deadline: Option<Instant>,
    session_deadline: Instant,
    under_stress: bool,
    draining: bool,
    /// The latest instant the shell gave.
    now: Instant,
    /// Output the tarpit holds back.
    hold: Option<Hold>,
    /// From the first content octet expected to the end of the message: the
    /// rate window in progress.
    data_window: Option<DataWindow>,
}

impl Session {
    /// A session for a client that just connected; its first event is
    /// [`Event::Connect`].
    pub fn new(config: std::rc::Rc<SessionConfig>, now: Instant) -> Session {
        let session_deadline = now + config.timeouts.session;
        let mut events = VecDeque::with_capacity(2);
        events.push_back(Event::Connect);
        Session {
            config,
            phase: Phase::Awaiting(Pending::Connect),
            helo: None,
            tls: false,
            transaction: None,
            decoder: None,
            message: Vec::new(),
            input: Vec::new(),
            output: Vec::new(),
            events,
            discarding_long_line: false,
            errors: 0,
            commands: 0,
            idle_deadline: None,
            session_deadline,
            under_stress: false,
            draining: false,
            now,
            hold: None,
            data_window: None,
        }
    }

    /// How long the tarpit holds the `past`-th error reply beyond
    /// [`Limits::tarpit_after`]: `delay × past`, at most [`MAX_TARPIT`]. Public
    /// so the config check and the session agree on one formula.
    pub fn tarpit_hold(delay: Duration, past: u32) -> Duration {
        delay.saturating_mul(past).min(MAX_TARPIT)
    }

    /// The HELO/EHLO name, once given and accepted.
    pub fn helo(&self) -> Option<&str> {
        self.helo.as_ref().map(|(name, _)| name.as_str())
    }

    /// True after EHLO (rather than HELO): the protocol is ESMTP.
    pub fn is_esmtp(&self) -> bool {
        self.helo.as_ref().is_some_and(|(_, extended)| *extended)
    }

    /// True once STARTTLS completed: the session runs inside TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The open transaction, if MAIL was accepted.
    pub fn transaction(&self) -> Option<&Transaction> {
        self.transaction.as_ref()
    }

    /// Octets of message content held right now (for the shard's buffer budget).
    pub fn buffered(&self) -> usize {
        self.message.len() + self.input.len()
    }

    /// True while the session can take more input (no decision pending, no
    /// reply held back by the tarpit, not closed). The shell reads nothing
    /// while it is false, so a client cannot race ahead of a held reply.
    pub fn wants_input(&self) -> bool {
        !matches!(self.phase, Phase::Awaiting(_) | Phase::Closed) && self.hold.is_none()
    }

    /// True once the session has closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Reply bytes to write to the client (not those the tarpit holds).
    pub fn transmit(&self) -> &[u8] {
        &self.output[..self.hold.map_or(self.output.len(), |hold| hold.from)]
    }

    /// Marks the first `n` octets of [`Session::transmit`] as written.
    pub fn transmitted(&mut self, n: usize) {
        let n = n.min(self.transmit().len());
        self.output.drain(..n);
        if let Some(hold) = self.hold.as_mut() {
            hold.from -= n;
        }
        if self.output.is_empty() && self.output.capacity() > 4096 {
            self.output = Vec::new();
        }
    }

    /// The next event for the shell.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        // A rate window does not run while the client cannot send (a reply
        // held back): it resumes, shifted, on release.
        let window = self.data_window.filter(|_| self.wants_input());
        [
            self.idle_deadline,
            self.hold.map(|hold| hold.until),
            window.map(|w| w.ends),
        ]
        .into_iter()
        .flatten()
        .chain([self.session_deadline])
        .min()
    }

    /// Tells the session whether its shard is under stress: idle bounds shrink to
    /// `under_stress` from the next wait on, as Postfix's stress mode does.
    pub fn set_under_stress(&mut self, now: Instant, stressed: bool) {
        if self.under_stress != stressed {
            self.under_stress = stressed;
            self.arm_idle_timer(now);
        }
    }

    /// Fires the time bounds that have passed: closes the session past its
    /// lifetime, its idle bound or the content rate floor, and releases a
    /// tarpitted reply once its time is up.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.is_closed() {
            return;
        }
        if now >= self.session_deadline {
            self.close_with(table::session_timeout());
            return;
        }
        if self.idle_deadline.is_some_and(|d| now >= d) {
            self.close_with(table::idle_timeout());
            return;
        }
        if self.hold.is_some_and(|hold| now >= hold.until) {
            self.release(now);
        }
        self.check_data_rate(now);
    }

    /// The tarpit's time is up: the held output goes out, the paused rate
    /// window resumes where it stopped, and pipelined input is read again.
    fn release(&mut self, now: Instant) {
        let Some(hold) = self.hold.take() else {
            return;
        };
        if let Some(window) = self.data_window.as_mut() {
            window.ends += now.saturating_duration_since(hold.since);
        }
        if self.wants_input() && !self.input.is_empty() {
            self.process_buffered();
        }
        self.arm_idle_timer(now);
    }

    /// Content octets each full rate window must bring (0: no floor).
    fn window_octets(&self) -> u64 {
        let rate = u128::from(self.config.limits.min_data_rate);
        let span = self.config.timeouts.data_rate_window.as_nanos();
        u64::try_from(rate * span / 1_000_000_000).unwrap_or(u64::MAX)
    }

    /// Ends every rate window that has passed by `now`: enough content came,
    /// and the next window starts where it ended, or the session ends
    /// (slowloris). Paused while the session is not reading.
    fn check_data_rate(&mut self, now: Instant) {
        if !self.wants_input() {
            return;
        }
        let needed = self.window_octets();
        let span = self.config.timeouts.data_rate_window;
        while let Some(window) = self.data_window.as_mut()
            && now >= window.ends
        {
            if window.octets < needed {
                self.close_with(table::data_too_slow());
                return;
            }
            // The next window is due at once unless it brought `needed` octets
            // too, so this runs at most twice.
            window.ends += span;
            window.octets = 0;
        }
    }

    /// Starts measuring the content rate when content starts (the 354, or the
    /// first BDAT chunk); it runs across later chunks to the end of the message.
    fn open_data_window(&mut self) {
        if self.data_window.is_none() && self.window_octets() > 0 {
            self.data_window = Some(DataWindow {
                ends: self.now + self.config.timeouts.data_rate_window,
                octets: 0,
            });
        }
    }

    fn count_data(&mut self, octets: usize) {
        if let Some(window) = self.data_window.as_mut() {
            window.octets += octets as u64;
        }
    }

    /// SIGTERM: close now if idle between transactions, otherwise once the open
    /// transaction ends. The shell bounds the wait with [`Session::abort`].
    pub fn begin_shutdown(&mut self) {
        self.draining = true;
        self.close_if_drained();
    }

    /// Ends the session at once with `reply` (shutdown deadline, shard teardown).
    pub fn abort(&mut self, reply: Reply) {
        if !self.is_closed() {
            self.close_with(reply);
        }
    }

    /// Feeds octets read from the client.
    pub fn receive(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        // Octets arriving after a rate window ended count for the next one,
        // even when the shell's timer for it has not fired yet.
        self.check_data_rate(now);
        if self.is_closed() {
            return;
        }
        if self.input.is_empty() {
            let used = self.process(data);
            self.input.extend_from_slice(&data[used..]);
        } else {
            self.input.extend_from_slice(data);
            self.process_buffered();
        }
        self.arm_idle_timer(now);
    }

    /// Answers the event the session is waiting on, then goes on with any
    /// pipelined input.
    pub fn decide(&mut self, now: Instant, verdict: Verdict) {
        self.now = now;
        let Phase::Awaiting(_) = self.phase else {
            return;
        };
        let Phase::Awaiting(pending) = std::mem::replace(&mut self.phase, Phase::Command) else {
            unreachable!("checked above")
        };
        match verdict {
            Verdict::Continue => self.accept(pending, None),
            Verdict::ContinueWith(reply) => self.accept(pending, Some(reply)),
            Verdict::Refuse(reply) => self.refuse(pending, reply),
            // A failed handshake leaves no channel to say anything on.
            Verdict::Disconnect(_) if matches!(pending, Pending::StartTls) => self.close(),
            Verdict::Disconnect(reply) => self.close_with(reply),
        }
        self.close_if_drained();
        if self.wants_input() && !self.input.is_empty() {
            self.process_buffered();
        }
        self.arm_idle_timer(now);
    }

    /// Goes on past an accepted stage, answering `custom` or the stage's usual reply.
    fn accept(&mut self, pending: Pending, custom: Option<Reply>) {
        match pending {
            Pending::Connect => {
                let greeting = || {
                    Reply::owned(
                        220,
                        None,
                        format!("{} ESMTP ringwall", self.config.hostname),
                    )
                };
                self.send(custom.unwrap_or_else(greeting));
            }
            Pending::Helo { name, extended } => {
                let reply = custom.unwrap_or_else(|| self.helo_reply(extended));
                self.helo = Some((name, extended));
                self.send(reply);
            }
            Pending::Mail { sender, params } => {
                self.transaction = Some(Transaction {
                    sender,
                    params,
                    recipients: Vec::new(),
                    framing: None,
                });
                self.send(custom.unwrap_or_else(table::sender_ok));
            }
            Pending::Rcpt(path, params) => {
                if let Some(t) = self.transaction.as_mut() {
                    t.recipients.push((path, params));
                }
                self.send(custom.unwrap_or_else(table::recipient_ok));
            }
            Pending::Data {
                framing,
                after_crlf,
                chunk,
            } => {
                if let Some(t) = self.transaction.as_mut() {
                    t.framing = Some(framing);
                }
                let decoder = Box::new(BodyDecoder::new(
                    self.config.limits.body,
                    framing,
                    after_crlf,
                ));
                match chunk {
                    None => {
                        self.send(custom.unwrap_or_else(table::start_data));
                        self.phase = Phase::Data(decoder);
                        self.open_data_window();
                    }
                    Some((size, last)) => {
                        self.decoder = Some(decoder);
                        self.start_chunk(Chunk {
                            size,
                            remaining: size,
                            last,
                            refused: None,
                        });
                    }
                }
            }
            Pending::Message => {
                self.transaction = None;
                self.send(custom.unwrap_or_else(table::queued));
            }
            Pending::StartTls => {
                // Back to the state after the greeting: the client must EHLO
                // again and nothing said in plaintext survives.
                self.tls = true;
                self.helo = None;
                self.input.clear();
            }
        }
    }

    /// Answers a refused stage with `reply`.
    fn refuse(&mut self, pending: Pending, reply: Reply) {
        match pending {
            Pending::Connect => {
                self.send(reply);
                self.phase = Phase::Refused;
            }
            Pending::StartTls => self.close(),
            Pending::Message => {
                self.transaction = None;
                self.send(reply);
            }
            // A refused BDAT still owns its octets: read and drop them first.
            Pending::Data {
                chunk: Some((size, _)),
                ..
            } => self.start_chunk(Chunk {
                size,
                remaining: size,
                last: true,
                refused: Some(reply),
            }),
            Pending::Data { chunk: None, .. } => {
                self.reset_transaction();
                self.send_error(reply);
            }
            Pending::Helo { .. } | Pending::Mail { .. } | Pending::Rcpt(..) => {
                self.send_error(reply)
            }
        }
    }

    /// Enters a BDAT chunk; a zero-length chunk is complete at once.
    fn start_chunk(&mut self, chunk: Chunk) {
        let empty = chunk.remaining == 0;
        self.phase = Phase::Chunk(chunk);
        self.open_data_window();
        if empty {
            self.end_of_chunk();
        }
    }

    fn helo_reply(&self, extended: bool) -> Reply {
        let host = &self.config.hostname;
        if !extended {
            return Reply::owned(250, None, host.clone());
        }
        let ext = &self.config.extensions;
        let mut lines = vec![
            host.clone().into(),
            "PIPELINING".into(),
            format!("SIZE {}", ext.size).into(),
        ];
        for (offered, name) in [
            (ext.eight_bit_mime, "8BITMIME"),
            (true, "ENHANCEDSTATUSCODES"),
            (ext.smtputf8, "SMTPUTF8"),
            (ext.chunking, "CHUNKING"),
            (ext.dsn, "DSN"),
            (ext.starttls && !self.tls, "STARTTLS"),
        ] {
            if offered {
                lines.push(name.into());
            }
        }
        Reply {
            code: 250,
            status: None,
            lines,
        }
    }

    fn process_buffered(&mut self) {
        let input = std::mem::take(&mut self.input);
        let used = self.process(&input);
        self.input = input;
        self.input.drain(..used);
        if self.input.is_empty() && self.input.capacity() > 4096 {
            self.input = Vec::new();
        }
    }

    /// Consumes as much of `input` as the session can act on now.
    fn process(&mut self, input: &[u8]) -> usize {
        let mut pos = 0;
        while pos < input.len() && self.hold.is_none() {
            let rest = &input[pos..];
            match &mut self.phase {
                // Plaintext pipelined behind STARTTLS is dropped unread, so it can
                // never pass for a command sent inside TLS (CVE-2011-0411).
                Phase::Awaiting(Pending::StartTls) => return input.len(),
                Phase::Awaiting(_) | Phase::Closed => break,
                Phase::Command | Phase::Refused => match self.next_command_line(rest) {
                    Some(used) => pos += used,
                    None => break,
                },
                Phase::Data(decoder) => {
                    let (used, ended) = decoder.decode(rest, &mut self.message);
                    pos += used;
                    self.count_data(used);
                    if ended {
                        let Phase::Data(decoder) =
                            std::mem::replace(&mut self.phase, Phase::Command)
                        else {
                            unreachable!("matched above")
                        };
                        self.end_of_message(*decoder);
                    }
                }
                Phase::Chunk(chunk) => {
                    let take = rest
                        .len()
                        .min(usize::try_from(chunk.remaining).unwrap_or(usize::MAX));
                    chunk.remaining -= take as u64;
                    if chunk.refused.is_none()
                        && let Some(decoder) = self.decoder.as_mut()
                    {
                        decoder.decode(&rest[..take], &mut self.message);
                    }
                    pos += take;
                    let done = chunk.remaining == 0;
                    self.count_data(take);
                    if done {
                        self.end_of_chunk();
                    }
                }
            }
        }
        pos
    }

    fn end_of_chunk(&mut self) {
        let Phase::Chunk(chunk) = std::mem::replace(&mut self.phase, Phase::Command) else {
            return;
        };
        // The rate window runs on across chunks: it ends with the message
        // (or with the transaction a refused chunk resets).
        if let Some(reply) = chunk.refused {
            self.reset_transaction();
            self.send_error(reply);
            self.close_if_drained();
            return;
        }
        if chunk.last {
            if let Some(mut decoder) = self.decoder.take() {
                decoder.finish_chunked(&mut self.message);
                self.end_of_message(*decoder);
            }
        } else {
            self.send(Reply::owned(
                250,
                Some(Status(2, 0, 0)),
                format!("{} octets received", chunk.size),
            ));
        }
    }

    fn end_of_message(&mut self, decoder: BodyDecoder) {
        self.data_window = None;
        if let Some(defect) = decoder.defect() {
            self.message = Vec::new();
            self.reset_transaction();
            self.send_error(defect.reply());
            self.close_if_drained();
            return;
        }
        let message = std::mem::take(&mut self.message);
        self.events.push_back(Event::Message(message));
        self.phase = Phase::Awaiting(Pending::Message);
    }

    /// Takes one command line from `rest` and acts on it. Returns the octets used,
    /// or `None` when no complete line is there yet.
    fn next_command_line(&mut self, rest: &[u8]) -> Option<usize> {
        let limit = self.config.limits.command_line;
        let Some(lf) = memchr(b'\n', rest) else {
            if self.discarding_long_line || rest.len() > limit {
                self.discarding_long_line = true;
                return Some(rest.len());
            }
            return None;
        };
        if std::mem::take(&mut self.discarding_long_line) || lf + 1 > limit {
            self.send_error(table::line_too_long());
            return Some(lf + 1);
        }
        let (line, crlf) = match rest[..lf].strip_suffix(b"\r") {
            Some(line) => (line, true),
            None => (&rest[..lf], false),
        };
        self.commands += 1;
        if self.commands > self.config.limits.commands {
            self.close_with(table::too_many_commands());
        } else if line.contains(&b'\r') {
            self.send_error(table::bare_cr_command());
        } else if !crlf && self.config.limits.body.bare_lf == BareLf::Reject {
            self.send_error(table::bare_lf_command());
        } else if matches!(self.phase, Phase::Refused) {
            self.refused_greeting_command(line);
        } else {
            match command::parse(line) {
                Ok(cmd) => self.command(cmd, crlf),
                Err(e) => self.send_error(e.reply()),
            }
        }
        Some(lf + 1)
    }

    fn refused_greeting_command(&mut self, line: &[u8]) {
        if command::parse(line) == Ok(Command::Quit) {
            self.send(table::bye());
            self.close();
        } else {
            self.send_error(table::refused_send_quit());
        }
    }

    fn command(&mut self, cmd: Command, crlf: bool) {
        match cmd {
            Command::Ehlo(name) => self.await_decision(Pending::Helo {
                name,
                extended: true,
            }),
            Command::Helo(name) => self.await_decision(Pending::Helo {
                name,
                extended: false,
            }),
            Command::Mail(sender, params) => self.mail(sender, params),
            Command::Rcpt(path, params) => self.rcpt(path, params),
            Command::Data => self.data(crlf),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.reset_transaction();
                self.send(table::ok());
                self.close_if_drained();
            }
            Command::Noop => self.send(table::ok()),
            Command::Quit => {
                self.reset_transaction();
                self.send(table::bye());
                self.close();
            }
            Command::Vrfy => self.send(table::vrfy()),
            Command::Expn => self.send_error(table::expn()),
            Command::Help => self.send(table::help()),
            Command::Starttls => self.starttls(),
            Command::Proxy => self.send_error(table::proxy_untrusted()),
        }
    }

    fn await_decision(&mut self, pending: Pending) {
        if let Pending::Helo { .. } = pending {
            // EHLO/HELO resets any transaction (RFC 5321 §4.1.4).
            self.reset_transaction();
        }
        self.events.push_back(match &pending {
            Pending::Connect => Event::Connect,
            Pending::Helo { name, extended } => Event::Helo {
                name: name.clone(),
                extended: *extended,
            },
            Pending::Mail { sender, params } => Event::Mail(sender.clone(), params.clone()),
            Pending::Rcpt(path, params) => Event::Rcpt(path.clone(), params.clone()),
            Pending::StartTls => Event::StartTls,
            Pending::Data { .. } => Event::Data,
            Pending::Message => unreachable!("messages are raised by end_of_message"),
        });
        // No decision is asked inside a message's content (commands between
        // BDAT chunks that would ask one are refused or reset the
        // transaction), so a rate window never counts the shell's time
        // against the client.
        debug_assert!(
            self.data_window.is_none(),
            "rate window open while awaiting {pending:?}"
        );
        self.phase = Phase::Awaiting(pending);
    }

    fn starttls(&mut self) {
        if !self.config.extensions.starttls {
            self.send_error(table::no_starttls());
        } else if self.tls {
            self.send_error(table::tls_active());
        } else if self.transaction.is_some() {
            self.send_error(table::tls_in_transaction());
        } else {
            self.send(table::ready_tls());
            self.await_decision(Pending::StartTls);
        }
    }

    fn mail(&mut self, sender: ReversePath, params: MailParams) {
        let ext = &self.config.extensions;
        let refusal = if self.helo.is_none() {
            Some(table::need_helo())
        } else if self.transaction.is_some() {
            Some(table::nested_mail())
        } else if params
            .size
            .is_some_and(|s| s > self.config.limits.body.max_size)
        {
            Some(table::message_too_big())
        } else if (params.body == Some(Body::EightBitMime) && !ext.eight_bit_mime)
            || (params.smtputf8 && !ext.smtputf8)
            || (params.uses_dsn() && !ext.dsn)
        {
            Some(table::unsupported_parameter())
        } else if !sender.is_ascii() && !params.smtputf8 {
            Some(table::needs_smtputf8())
        } else {
            None
        };
        match refusal {
            Some(reply) => self.send_error(reply),
            None => self.await_decision(Pending::Mail { sender, params }),
        }
    }

    fn rcpt(&mut self, path: ForwardPath, params: RcptParams) {
        let Some(t) = self.transaction.as_ref() else {
            return self.send_error(table::need_mail());
        };
        if t.framing.is_some() {
            return self.send_error(table::mixed_data());
        }
        if params.uses_dsn() && !self.config.extensions.dsn {
            return self.send_error(table::unsupported_parameter());
        }
        if !path.is_ascii() && !t.params.smtputf8 {
            return self.send_error(table::needs_smtputf8());
        }
        if t.recipients.len() >= self.config.limits.recipients {
            return self.send(table::too_many_recipients());
        }
        self.await_decision(Pending::Rcpt(path, params));
    }

    fn data(&mut self, after_crlf: bool) {
        match self.transaction.as_ref() {
            None => self.send_error(table::need_mail()),
            Some(t) if t.framing.is_some() => self.send_error(table::mixed_data()),
            Some(t) if t.recipients.is_empty() => self.send_error(table::need_rcpt()),
            Some(_) => self.await_decision(Pending::Data {
                framing: Framing::Dot,
                after_crlf,
                chunk: None,
            }),
        }
    }

    fn bdat(&mut self, size: u64, last: bool) {
        let refusal = match self.transaction.as_ref() {
            // Without CHUNKING offered the octets are still read as data, never as commands.
            _ if !self.config.extensions.chunking => table::unknown_command(),
            None => table::need_mail(),
            Some(t) if t.framing == Some(Framing::Dot) => table::mixed_data(),
            Some(t) if t.recipients.is_empty() => table::need_rcpt(),
            Some(t) if t.framing == Some(Framing::Chunked) => {
                return self.start_chunk(Chunk {
                    size,
                    remaining: size,
                    last,
                    refused: None,
                });
            }
            Some(_) => {
                let pending = Pending::Data {
                    framing: Framing::Chunked,
                    after_crlf: true,
                    chunk: Some((size, last)),
                };
                return self.await_decision(pending);
            }
        };
        self.start_chunk(Chunk {
            size,
            remaining: size,
            last: true,
            refused: Some(refusal),
        });
    }

    fn reset_transaction(&mut self) {
        if self.transaction.take().is_some() {
            self.events.push_back(Event::Reset);
        }
        self.decoder = None;
        self.message = Vec::new();
        self.data_window = None;
    }

    fn send(&mut self, reply: Reply) {
        reply.write_to(&mut self.output);
    }

    /// Sends an error reply, counting it; past the limit the session ends instead,
    /// at once. Past `tarpit_after` the reply (and all after it) is held back
    /// for [`Session::tarpit_hold`], as Postfix's smtpd_soft_error_limit and
    /// smtpd_error_sleep_time do: a client probing addresses or commands pays
    /// in time for every miss, more for each.
    fn send_error(&mut self, reply: Reply) {
        self.errors += 1;
        if self.errors > self.config.limits.errors {
            self.reset_transaction();
            self.close_with(table::too_many_errors());
            return;
        }
        let from = self.output.len();
        self.send(reply);
        let after = self.config.limits.tarpit_after;
        if after == 0 || self.errors <= after {
            return;
        }
        let delay = Session::tarpit_hold(self.config.timeouts.tarpit_delay, self.errors - after);
        if delay.is_zero() {
            return;
        }
        let until = self.now + delay;
        match self.hold.as_mut() {
            Some(hold) => hold.until = hold.until.max(until),
            None => {
                self.hold = Some(Hold {
                    from,
                    since: self.now,
                    until,
                })
            }
        }
        self.idle_deadline = None;
    }

    fn close_with(&mut self, reply: Reply) {
        self.reset_transaction();
        self.send(reply);
        self.close();
    }

    fn close(&mut self) {
        if !self.is_closed() {
            self.phase = Phase::Closed;
            self.idle_deadline = None;
            // The last words go out at once, held ones included.
            self.hold = None;
            self.data_window = None;
            self.events.push_back(Event::Close);
        }
    }

    fn close_if_drained(&mut self) {
        let idle =
            matches!(self.phase, Phase::Command | Phase::Refused) && self.transaction.is_none();
        if self.draining && idle {
            self.close_with(table::shutting_down());
        }
    }

    fn arm_idle_timer(&mut self, now: Instant) {
        let t = &self.config.timeouts;
        let bound = match self.phase {
            _ if self.hold.is_some() => None,
            Phase::Awaiting(_) | Phase::Closed => None,
            Phase::Data(_) | Phase::Chunk(_) => Some(t.data),
            Phase::Command | Phase::Refused => Some(t.command),
        };
        self.idle_deadline = bound.map(|b| {
            now + if self.under_stress {
                b.min(t.under_stress)
            } else {
                b
            }
        });
    }
}

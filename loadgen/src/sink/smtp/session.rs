//! One SMTP session as a state machine: bytes in, replies and events out.
//!
//! [`Session::receive`] takes everything the client has sent so far and
//! answers as many commands as it can in one go, which is what makes
//! PIPELINING cheap: the driver writes all the replies with one send. It
//! stops early only when a message is complete, because end-of-data is where
//! the driver has work to do (record, delay, inject a failure).

use std::mem;
use std::rc::Rc;

use memchr::memchr;

use super::body::Body;
use super::command::{self, Command};
use super::data::DotDecoder;
use super::outcome::Outcome;
use super::reply;
use super::settings::{MAX_RECIPIENTS, Settings};
use crate::sink::rng::SplitMix64;

/// Longest command line read; longer ones get 500 and are skipped. Above
/// RFC 5321's 512 because XFORWARD and SMTPUTF8 paths can be long.
pub(crate) const MAX_LINE: usize = 4096;

/// A complete message and how the session decided to answer it.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// The decided answer; the driver sends `outcome.reply()` after any
    /// delay, since the session does not know about time.
    pub(crate) outcome: Outcome,
    /// Decoded size in bytes.
    pub(crate) size: u64,
    /// The copied message bytes (see [`Capture`](super::body::Capture)).
    pub(crate) content: Vec<u8>,
    /// MAIL FROM path, kept when recording.
    pub(crate) from: Vec<u8>,
    /// Accepted RCPT paths, kept when recording.
    pub(crate) recipients: Vec<Vec<u8>>,
    /// The EHLO/HELO/XCLIENT lines of the session and the XFORWARD/MAIL/RCPT
    /// lines of this transaction, exactly as received, kept when dumping.
    pub(crate) transcript: Vec<u8>,
}

/// Something the driver must act on.
#[derive(Debug)]
pub(crate) enum Event {
    /// A message is complete; its end-of-data reply is not yet written.
    Message(Delivery),
    /// The client said QUIT; after writing the replies, close.
    Quit,
}

/// The MAIL transaction in progress.
#[derive(Debug, Default)]
struct Transaction {
    /// MAIL FROM path (when recording).
    from: Vec<u8>,
    /// Accepted RCPT paths (when recording).
    recipients: Vec<Vec<u8>>,
    /// Number of accepted recipients.
    accepted: usize,
    /// The message received so far by earlier BDAT chunks.
    chunks: Option<Body>,
}

/// Where the session is in the byte stream.
#[derive(Debug)]
enum State {
    /// Reading command lines.
    Command,
    /// Skipping the rest of an overlong command line.
    Overlong,
    /// Inside DATA.
    Data { decoder: DotDecoder, body: Body },
    /// Inside a BDAT chunk of an accepted transaction.
    Chunk {
        remaining: u64,
        last: bool,
        body: Body,
    },
    /// Inside a BDAT chunk that is refused: read it, then send `reply`.
    Discard {
        remaining: u64,
        reply: &'static [u8],
    },
    /// After QUIT: nothing more is read.
    Closed,
}

/// The server side of one SMTP connection.
#[derive(Debug)]
pub(crate) struct Session {
    /// Replies and policy shared by the shard's sessions.
    settings: Rc<Settings>,
    /// This session's failure dice.
    dice: SplitMix64,
    /// Position in the byte stream.
    state: State,
    /// HELO/EHLO has been seen (and not undone by XCLIENT).
    greeted: bool,
    /// The MAIL transaction, if one is open.
    transaction: Option<Transaction>,
    /// EHLO/HELO/XCLIENT lines (when dumping).
    session_lines: Vec<u8>,
    /// XFORWARD/MAIL/RCPT lines since the last transaction ended (when dumping).
    transaction_lines: Vec<u8>,
}

impl Session {
    /// A new session; `dice` decides its injected failures.
    pub(crate) fn new(settings: Rc<Settings>, dice: SplitMix64) -> Self {
        Self {
            settings,
            dice,
            state: State::Command,
            greeted: false,
            transaction: None,
            session_lines: Vec::new(),
            transaction_lines: Vec::new(),
        }
    }

    /// Appends the 220 greeting.
    pub(crate) fn greet(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.settings.greeting);
    }

    /// Handles as much of `input` as possible, appending replies to `out`.
    ///
    /// Returns how many bytes were used and, if one happened, the event that
    /// stopped it. Unused bytes (a partial line, or a possible partial
    /// end-of-data) must be offered again, followed by more input. Without an
    /// event, nothing more can be done until more input arrives.
    pub(crate) fn receive(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, Option<Event>) {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match mem::replace(&mut self.state, State::Command) {
                State::Command => match memchr(b'\n', rest) {
                    Some(end) if end > MAX_LINE => {
                        used += end + 1;
                        out.extend_from_slice(reply::LINE_TOO_LONG);
                    }
                    Some(end) => {
                        used += end + 1;
                        if let Some(event) = self.command(&rest[..=end], out) {
                            return (used, Some(event));
                        }
                    }
                    None if rest.len() > MAX_LINE => {
                        used = input.len();
                        self.state = State::Overlong;
                        return (used, None);
                    }
                    None => return (used, None),
                },
                State::Overlong => match memchr(b'\n', rest) {
                    Some(end) => {
                        used += end + 1;
                        out.extend_from_slice(reply::LINE_TOO_LONG);
                    }
                    None => {
                        self.state = State::Overlong;
                        return (input.len(), None);
                    }
                },
                State::Data {
                    mut decoder,
                    mut body,
                } => {
                    let (decoded, done) = decoder.decode(rest, |content| body.push(content));
                    used += decoded;
                    if done {
                        return (used, Some(self.deliver(body)));
                    }
                    self.state = State::Data { decoder, body };
                    return (used, None);
                }
                State::Chunk {
                    remaining,
                    last,
                    mut body,
                } => {
                    let take = take(remaining, rest);
                    body.push(&rest[..take]);
                    used += take;
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::Chunk {
                            remaining,
                            last,
                            body,
                        };
                        return (used, None);
                    }
                    if last {
                        return (used, Some(self.deliver(body)));
                    }
                    if let Some(transaction) = self.transaction.as_mut() {
                        transaction.chunks = Some(body);
                    }
                    out.extend_from_slice(reply::CHUNK_OK);
                }
                State::Discard { remaining, reply } => {
                    let take = take(remaining, rest);
                    used += take;
                    let remaining = remaining - take as u64;
                    if remaining > 0 {
                        self.state = State::Discard { remaining, reply };
                        return (used, None);
                    }
                    self.end_transaction();
                    out.extend_from_slice(reply);
                }
                State::Closed => {
                    self.state = State::Closed;
                    return (input.len(), None);
                }
            }
        }
    }

    /// Handles one command line (with its line ending); returns an event
    /// only for QUIT.
    fn command(&mut self, line: &[u8], out: &mut Vec<u8>) -> Option<Event> {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let command = command::parse(text);
        self.keep_line(command, line);
        let settings = Rc::clone(&self.settings);
        let answer: &[u8] = match command {
            Command::Ehlo => {
                self.end_transaction();
                self.greeted = true;
                &settings.ehlo
            }
            Command::Helo => {
                self.end_transaction();
                self.greeted = true;
                &settings.helo
            }
            Command::Xforward if settings.xforward => reply::OK,
            Command::Xclient if settings.xclient => {
                // XCLIENT restarts the session as if the named client had
                // just connected: greet again and expect a new EHLO.
                self.end_transaction();
                self.greeted = false;
                &settings.greeting
            }
            Command::Mail(path) => self.mail(path),
            Command::Rcpt(path) => self.rcpt(path),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.end_transaction();
                reply::OK
            }
            Command::Noop => reply::OK,
            Command::Quit => {
                out.extend_from_slice(reply::BYE);
                self.state = State::Closed;
                return Some(Event::Quit);
            }
            Command::Malformed => reply::SYNTAX,
            Command::Empty => reply::EMPTY_LINE,
            Command::Xforward | Command::Xclient | Command::Unknown => reply::UNKNOWN_COMMAND,
        };
        out.extend_from_slice(answer);
        None
    }

    /// Adds `line` to the transcript if dumping and it is one of the
    /// commands the transcript shows.
    fn keep_line(&mut self, command: Command<'_>, line: &[u8]) {
        if !self.settings.keep_transcript {
            return;
        }
        match command {
            Command::Ehlo | Command::Helo | Command::Xclient => {
                self.session_lines.extend_from_slice(line);
            }
            Command::Xforward | Command::Mail(_) | Command::Rcpt(_) => {
                self.transaction_lines.extend_from_slice(line);
            }
            _ => {}
        }
    }

    /// MAIL FROM: opens a transaction.
    fn mail(&mut self, path: &[u8]) -> &'static [u8] {
        if !self.greeted {
            return reply::NEED_HELO;
        }
        if self.transaction.is_some() {
            return reply::NESTED_MAIL;
        }
        let from = if self.settings.keep_envelope {
            path.to_vec()
        } else {
            Vec::new()
        };
        self.transaction = Some(Transaction {
            from,
            ..Transaction::default()
        });
        reply::SENDER_OK
    }

    /// RCPT TO: refused for a rejected domain or by the dice, else added.
    fn rcpt(&mut self, path: &[u8]) -> &'static [u8] {
        let Some(transaction) = self.transaction.as_mut() else {
            return reply::NEED_MAIL;
        };
        if transaction.accepted >= MAX_RECIPIENTS {
            return reply::TOO_MANY_RECIPIENTS;
        }
        let domain = path.rsplit(|&b| b == b'@').next().unwrap_or_default();
        let rejected_domain = path.contains(&b'@')
            && self
                .settings
                .reject_domains
                .iter()
                .any(|rejected| rejected.as_bytes().eq_ignore_ascii_case(domain));
        if rejected_domain || self.settings.fail.refuses_recipient(&mut self.dice) {
            return reply::RECIPIENT_UNKNOWN;
        }
        transaction.accepted += 1;
        if self.settings.keep_envelope {
            transaction.recipients.push(path.to_vec());
        }
        reply::RECIPIENT_OK
    }

    /// DATA: switches to reading the message if the transaction is ready.
    fn data(&mut self) -> &'static [u8] {
        match &self.transaction {
            None => reply::NEED_MAIL,
            Some(transaction) if transaction.chunks.is_some() => reply::DATA_AFTER_BDAT,
            Some(transaction) if transaction.accepted == 0 => reply::NO_RECIPIENTS,
            Some(_) => {
                self.state = State::Data {
                    decoder: DotDecoder::new(),
                    body: Body::new(self.settings.capture),
                };
                reply::START_DATA
            }
        }
    }

    /// BDAT: the chunk that follows is read either way, to stay in step
    /// with the client; it is kept only in a ready transaction. The reply
    /// comes after the chunk, so nothing is written now.
    fn bdat(&mut self, size: u64, last: bool) -> &'static [u8] {
        let refusal = match &mut self.transaction {
            _ if !self.settings.chunking => reply::UNKNOWN_COMMAND,
            None => reply::NEED_MAIL,
            Some(transaction) if transaction.accepted == 0 => reply::NO_RECIPIENTS,
            Some(transaction) => {
                let body = transaction
                    .chunks
                    .take()
                    .unwrap_or_else(|| Body::new(self.settings.capture));
                self.state = State::Chunk {
                    remaining: size,
                    last,
                    body,
                };
                return b"";
            }
        };
        self.state = State::Discard {
            remaining: size,
            reply: refusal,
        };
        b""
    }

    /// Ends the transaction with a complete message and decides its outcome.
    fn deliver(&mut self, body: Body) -> Event {
        let transaction = self.transaction.take().unwrap_or_default();
        let outcome = self
            .settings
            .fail
            .at_end_of_data(&mut self.dice)
            .unwrap_or(Outcome::Accept);
        let transcript = if self.settings.keep_transcript {
            let mut transcript = self.session_lines.clone();
            transcript.append(&mut self.transaction_lines);
            transcript
        } else {
            Vec::new()
        };
        let (size, content) = body.finish();
        Event::Message(Delivery {
            outcome,
            size,
            content,
            from: transaction.from,
            recipients: transaction.recipients,
            transcript,
        })
    }

    /// Forgets the open transaction (RSET, EHLO, a refused BDAT).
    fn end_transaction(&mut self) {
        self.transaction = None;
        self.transaction_lines.clear();
    }
}

/// How many of `rest` belong to a chunk with `remaining` octets to go.
fn take(remaining: u64, rest: &[u8]) -> usize {
    usize::try_from(remaining).map_or(rest.len(), |remaining| remaining.min(rest.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::config::SinkConfig;

    /// Everything a session produced for some input.
    #[derive(Debug, Default, PartialEq)]
    struct Run {
        replies: Vec<u8>,
        messages: Vec<(Outcome, u64, Vec<u8>)>,
        quit: bool,
        unused: usize,
    }

    /// Feeds `input` in pieces of `step` bytes, as a socket might deliver it,
    /// answering each message with its outcome's reply like the driver does.
    fn feed_in_steps(config: &SinkConfig, input: &[u8], step: usize) -> (Run, Vec<Delivery>) {
        let mut session = Session::new(Rc::new(Settings::new(config)), SplitMix64::new(1));
        let mut run = Run::default();
        let mut deliveries = Vec::new();
        let mut pending = Vec::new();
        for piece in input.chunks(step) {
            pending.extend_from_slice(piece);
            loop {
                let (used, event) = session.receive(&pending, &mut run.replies);
                pending.drain(..used);
                match event {
                    None => break,
                    Some(Event::Quit) => run.quit = true,
                    Some(Event::Message(delivery)) => {
                        if let Some(answer) = delivery.outcome.reply() {
                            run.replies.extend_from_slice(answer);
                        }
                        run.messages.push((
                            delivery.outcome,
                            delivery.size,
                            delivery.content.clone(),
                        ));
                        deliveries.push(delivery);
                    }
                }
            }
        }
        run.unused = pending.len();
        (run, deliveries)
    }

    /// Feeds `input` whole and checks that every way of splitting it in
    /// equal pieces gives the same result.
    fn feed(config: &SinkConfig, input: &[u8]) -> (Run, Vec<Delivery>) {
        let whole = feed_in_steps(config, input, input.len().max(1));
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(feed_in_steps(config, input, step).0, whole.0, "step {step}");
        }
        whole
    }

    fn dumping() -> SinkConfig {
        SinkConfig {
            hostname: "sink.test".into(),
            dump_dir: Some("unused".into()),
            record: Some("unused".into()),
            ..SinkConfig::default()
        }
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn pipelined_data_transaction() {
        let input = b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n\
                      RCPT TO:<c@y.test>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n";
        let (run, deliveries) = feed(&dumping(), input);
        let ehlo = text(&Settings::new(&dumping()).ehlo);
        assert_eq!(
            text(&run.replies),
            format!(
                "{ehlo}250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n\
                 354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued\r\n\
                 221 2.0.0 Bye\r\n"
            )
        );
        assert!(run.quit);
        let delivery = &deliveries[0];
        assert_eq!(delivery.content, b"Subject: hi\r\n\r\n.dot\r\n");
        assert_eq!(delivery.size, 21);
        assert_eq!(delivery.from, b"a@x.test");
        assert_eq!(
            delivery.recipients,
            vec![b"b@y.test".to_vec(), b"c@y.test".to_vec()]
        );
        assert_eq!(
            text(&delivery.transcript),
            "EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n"
        );
    }

    #[test]
    fn bdat_chunks_make_one_message() {
        let input = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@y>\r\nBDAT 6\r\nA: 1\r\nBDAT 8 LAST\r\n\r\nbody\r\nNOOP\r\n";
        let (run, deliveries) = feed(&dumping(), input);
        assert!(text(&run.replies).ends_with(
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: chunk received\r\n\
             250 2.0.0 Ok: queued\r\n250 2.0.0 Ok\r\n"
        ));
        assert_eq!(deliveries[0].content, b"A: 1\r\n\r\nbody\r\n");
        assert_eq!(deliveries[0].size, 14);
    }

    #[test]
    fn bdat_without_recipients_is_read_and_refused() {
        let input = b"EHLO c\r\nMAIL FROM:<>\r\nBDAT 6 LAST\r\nRSET\r\nNOOP\r\n";
        let (run, deliveries) = feed(&dumping(), input);
        assert!(deliveries.is_empty());
        assert!(
            text(&run.replies).ends_with(
                "250 2.1.0 Ok\r\n554 5.5.1 Error: no valid recipients\r\n250 2.0.0 Ok\r\n"
            )
        );
    }

    #[test]
    fn bdat_needs_chunking_advertised() {
        let config = SinkConfig {
            ehlo_extensions: vec!["PIPELINING".into()],
            ..SinkConfig::default()
        };
        let input = b"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@y>\r\nBDAT 4 LAST\r\nQUITNOOP\r\n";
        let (run, _) = feed(&config, input);
        assert!(text(&run.replies).ends_with(
            "250 2.1.5 Ok\r\n502 5.5.2 Error: command not recognized\r\n250 2.0.0 Ok\r\n"
        ));
        assert!(!run.quit);
    }

    #[test]
    fn sequence_errors() {
        let input = b"MAIL FROM:<a@x>\r\nHELO c\r\nRCPT TO:<b@y>\r\nDATA\r\n\
                      MAIL FROM:<a@x>\r\nMAIL FROM:<a@x>\r\nDATA\r\nRSET\r\n";
        let (run, _) = feed(&SinkConfig::default(), input);
        assert_eq!(
            text(&run.replies),
            "503 5.5.1 Error: send HELO/EHLO first\r\n250 sink.localhost\r\n\
             503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n\
             250 2.1.0 Ok\r\n503 5.5.1 Error: nested MAIL command\r\n\
             554 5.5.1 Error: no valid recipients\r\n250 2.0.0 Ok\r\n"
        );
    }

    #[test]
    fn unknown_malformed_and_overlong() {
        let mut input = b"VRFY x\r\nEHLO\r\n\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'A', MAX_LINE + 10));
        input.extend_from_slice(b"\r\nNOOP\r\n");
        let (run, _) = feed(&SinkConfig::default(), &input);
        assert_eq!(
            text(&run.replies),
            "502 5.5.2 Error: command not recognized\r\n\
             501 5.5.4 Syntax error in parameters or arguments\r\n\
             500 5.5.2 Error: bad syntax\r\n500 5.5.2 Error: line too long\r\n\
             250 2.0.0 Ok\r\n"
        );
    }

    #[test]
    fn rejected_domains_and_injected_rcpt_failures() {
        let config = SinkConfig {
            reject_rcpt_domains: vec!["Gone.Test".into()],
            ..SinkConfig::default()
        };
        let input =
            b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<u@gone.test>\r\nRCPT TO:<u@here.test>\r\n";
        let (run, _) = feed(&config, input);
        assert!(
            text(&run.replies).ends_with(
                "250 2.1.0 Ok\r\n550 5.1.1 Error: recipient rejected\r\n250 2.1.5 Ok\r\n"
            )
        );

        let config = SinkConfig {
            fail: "1:rcpt5xx".parse().unwrap(),
            ..SinkConfig::default()
        };
        let input = b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<u@here.test>\r\nDATA\r\n";
        let (run, _) = feed(&config, input);
        assert!(text(&run.replies).ends_with(
            "550 5.1.1 Error: recipient rejected\r\n554 5.5.1 Error: no valid recipients\r\n"
        ));
    }

    #[test]
    fn injected_end_of_data_outcomes() {
        let input = b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhi\r\n.\r\n";
        for (spec, outcome, last_reply) in [
            (
                "1:5xx",
                Outcome::Reject,
                "554 5.6.0 Error: message rejected\r\n",
            ),
            (
                "1:4xx",
                Outcome::Tempfail,
                "451 4.3.0 Error: try again later\r\n",
            ),
            (
                "1:close",
                Outcome::Close,
                "354 End data with <CR><LF>.<CR><LF>\r\n",
            ),
            (
                "1:timeout",
                Outcome::Timeout,
                "354 End data with <CR><LF>.<CR><LF>\r\n",
            ),
            ("1:lose", Outcome::Lose, "250 2.0.0 Ok: queued\r\n"),
            (
                "1:duplicate",
                Outcome::Duplicate,
                "250 2.0.0 Ok: queued\r\n",
            ),
        ] {
            let config = SinkConfig {
                fail: spec.parse().unwrap(),
                ..SinkConfig::default()
            };
            let (run, _) = feed(&config, input);
            assert_eq!(run.messages, vec![(outcome, 4, Vec::new())], "{spec}");
            assert!(text(&run.replies).ends_with(last_reply), "{spec}");
        }
    }

    #[test]
    fn same_seed_same_choices() {
        let config = SinkConfig {
            fail: "0.5:4xx".parse().unwrap(),
            ..SinkConfig::default()
        };
        let one = b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhi\r\n.\r\n";
        let mut input = b"HELO c\r\n".to_vec();
        for _ in 0..50 {
            input.extend_from_slice(one);
        }
        let (first, _) = feed(&config, &input);
        let (second, _) = feed(&config, &input);
        let tempfails = |run: &Run| {
            run.messages
                .iter()
                .filter(|(outcome, ..)| *outcome == Outcome::Tempfail)
                .count()
        };
        assert_eq!(first, second);
        assert!((10..40).contains(&tempfails(&first)));
    }

    #[test]
    fn xforward_and_xclient_follow_the_advertisement() {
        let input = b"EHLO c\r\nXFORWARD ADDR=192.0.2.1\r\nXCLIENT ADDR=192.0.2.1\r\n";
        let (run, _) = feed(&SinkConfig::default(), input);
        assert!(
            text(&run.replies)
                .ends_with("250 2.0.0 Ok\r\n502 5.5.2 Error: command not recognized\r\n")
        );

        let config = SinkConfig {
            hostname: "s".into(),
            ehlo_extensions: vec!["XCLIENT ADDR NAME".into()],
            ..SinkConfig::default()
        };
        let input = b"EHLO c\r\nXCLIENT ADDR=192.0.2.1\r\nMAIL FROM:<>\r\n";
        let (run, _) = feed(&config, input);
        assert_eq!(
            text(&run.replies),
            "250-s\r\n250 XCLIENT ADDR NAME\r\n220 s ESMTP ringwall-loadgen sink\r\n\
             503 5.5.1 Error: send HELO/EHLO first\r\n"
        );
    }

    #[test]
    fn transcript_is_per_transaction() {
        let input = b"EHLO c\r\nXFORWARD ADDR=192.0.2.1\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n\
                      DATA\r\none\r\n.\r\nMAIL FROM:<d@x>\r\nRCPT TO:<e@y>\r\nDATA\r\ntwo\r\n.\r\n";
        let (_, deliveries) = feed(&dumping(), input);
        assert_eq!(
            text(&deliveries[0].transcript),
            "EHLO c\r\nXFORWARD ADDR=192.0.2.1\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n"
        );
        assert_eq!(
            text(&deliveries[1].transcript),
            "EHLO c\r\nMAIL FROM:<d@x>\r\nRCPT TO:<e@y>\r\n"
        );
    }

    #[test]
    fn counting_keeps_nothing() {
        let input = b"EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\nhi\r\n.\r\n";
        let (_, deliveries) = feed(&SinkConfig::default(), input);
        let delivery = &deliveries[0];
        assert_eq!(delivery.size, 4);
        assert!(delivery.content.is_empty() && delivery.from.is_empty());
        assert!(delivery.recipients.is_empty() && delivery.transcript.is_empty());
    }

    #[test]
    fn partial_input_waits() {
        let (run, _) = feed_in_steps(&SinkConfig::default(), b"EHLO c\r\nNOO", 100);
        assert_eq!(run.unused, 3);
    }
}

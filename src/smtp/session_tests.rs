//! Byte-for-byte tests of the session state machine with a fake clock.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::data::{BareLf, BodyLimits};
use super::reply::table;
use super::session::{Event, Extensions, Limits, Session, SessionConfig, Timeouts, Verdict};

fn config() -> SessionConfig {
    SessionConfig {
        hostname: "mx.test".into(),
        extensions: Extensions {
            size: 10_000,
            eight_bit_mime: true,
            smtputf8: true,
            chunking: true,
            dsn: true,
            starttls: false,
        },
        limits: Limits {
            command_line: 512,
            body: BodyLimits {
                max_size: 10_000,
                max_header: 1_000,
                max_line: 998,
                max_header_field: 100_000,
                bare_lf: BareLf::Normalize,
            },
            recipients: 3,
            errors: 5,
            commands: 50,
            tarpit_after: 0,
            min_data_rate: 0,
        },
        timeouts: Timeouts {
            command: Duration::from_secs(300),
            data: Duration::from_secs(600),
            under_stress: Duration::from_secs(10),
            session: Duration::from_secs(3600),
            tarpit_delay: Duration::from_secs(1),
            data_rate_window: Duration::from_secs(30),
        },
    }
}

/// A fake shell: answers every event with `Continue` unless a rule says otherwise,
/// and records events and output.
struct Harness {
    session: Session,
    now: Instant,
    events: Vec<Event>,
    rule: Box<dyn FnMut(&Event) -> Verdict>,
}

impl Harness {
    fn new(config: SessionConfig) -> Harness {
        let now = Instant::now();
        let mut h = Harness {
            session: Session::new(Rc::new(config), now),
            now,
            events: Vec::new(),
            rule: Box::new(|_| Verdict::Continue),
        };
        h.pump();
        h
    }

    fn with_rule(mut self, rule: impl FnMut(&Event) -> Verdict + 'static) -> Harness {
        self.rule = Box::new(rule);
        self
    }

    fn pump(&mut self) {
        while let Some(event) = self.session.poll_event() {
            let waits = matches!(
                event,
                Event::Connect
                    | Event::Helo { .. }
                    | Event::Mail(..)
                    | Event::Rcpt(..)
                    | Event::Data
                    | Event::Message(_)
            );
            let verdict = (self.rule)(&event);
            self.events.push(event);
            if waits {
                self.session.decide(self.now, verdict);
            }
        }
    }

    /// Sends `input` and returns the output it produced.
    fn send(&mut self, input: &[u8]) -> String {
        self.session.receive(self.now, input);
        self.pump();
        self.take_output()
    }

    fn take_output(&mut self) -> String {
        let out = String::from_utf8_lossy(self.session.transmit()).into_owned();
        let n = self.session.transmit().len();
        self.session.transmitted(n);
        out
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }
}

fn greeted() -> Harness {
    let mut h = Harness::new(config());
    assert_eq!(h.take_output(), "220 mx.test ESMTP ringwall\r\n");
    h
}

fn in_transaction() -> Harness {
    let mut h = greeted();
    h.send(b"EHLO c.example\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.net>\r\n");
    h
}

#[test]
fn ehlo_lists_extensions() {
    let mut h = greeted();
    assert_eq!(
        h.send(b"EHLO client.example\r\n"),
        "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n\
         250-SMTPUTF8\r\n250-CHUNKING\r\n250 DSN\r\n"
    );
    assert_eq!(h.session.helo(), Some("client.example"));
    assert!(h.session.is_esmtp());
}

#[test]
fn helo_is_plain() {
    let mut h = greeted();
    assert_eq!(h.send(b"HELO client.example\r\n"), "250 mx.test\r\n");
    assert!(!h.session.is_esmtp());
}

#[test]
fn full_pipelined_transaction() {
    let mut h = greeted();
    let out = h.send(
        b"EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n",
    );
    assert!(out.ends_with("250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n250 2.1.5 Recipient ok\r\n354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n"), "{out}");
    assert_eq!(
        h.send(b"Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n"),
        "250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"
    );
    assert_eq!(h.messages(), vec![b"Subject: hi\r\n\r\n.dot\r\n".to_vec()]);
    assert!(h.session.is_closed());
    assert_eq!(h.events.last(), Some(&Event::Close));
}

#[test]
fn any_split_gives_the_same_output() {
    let script = b"EHLO c\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\nA: b\r\n\r\nx\r\n.\r\nQUIT\r\n";
    let mut whole = greeted();
    let expected = whole.send(script);
    for cut in 0..script.len() {
        let mut h = greeted();
        let mut out = h.send(&script[..cut]);
        out += &h.send(&script[cut..]);
        assert_eq!(out, expected, "cut at {cut}");
    }
}

#[test]
fn mail_before_helo() {
    let mut h = greeted();
    assert_eq!(
        h.send(b"MAIL FROM:<s@example.org>\r\n"),
        "503 5.5.1 Send HELO/EHLO first\r\n"
    );
}

#[test]
fn sequence_errors() {
    let mut h = greeted();
    h.send(b"EHLO c\r\n");
    assert_eq!(
        h.send(b"RCPT TO:<a@example.net>\r\n"),
        "503 5.5.1 Send MAIL first\r\n"
    );
    assert_eq!(h.send(b"DATA\r\n"), "503 5.5.1 Send MAIL first\r\n");
    h.send(b"MAIL FROM:<>\r\n");
    assert_eq!(
        h.send(b"MAIL FROM:<>\r\n"),
        "503 5.5.1 Sender already specified\r\n"
    );
    assert_eq!(h.send(b"DATA\r\n"), "554 5.5.1 No valid recipients\r\n");
}

#[test]
fn unknown_command_and_simple_verbs() {
    let mut h = greeted();
    assert_eq!(h.send(b"FOO\r\n"), "500 5.5.2 Command unrecognized\r\n");
    assert_eq!(h.send(b"NOOP\r\n"), "250 2.0.0 Ok\r\n");
    assert_eq!(h.send(b"RSET\r\n"), "250 2.0.0 Ok\r\n");
    assert_eq!(
        h.send(b"VRFY root\r\n"),
        "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
    );
    assert_eq!(
        h.send(b"EXPN staff\r\n"),
        "502 5.5.1 EXPN command disabled\r\n"
    );
    assert_eq!(
        h.send(b"HELP\r\n"),
        "214 2.0.0 See RFC 5321; this is an SMTP proxy\r\n"
    );
    assert_eq!(
        h.send(b"STARTTLS\r\n"),
        "502 5.5.1 STARTTLS not available\r\n"
    );
}

#[test]
fn bare_lf_ends_commands_in_normalize_mode() {
    let mut h = greeted();
    assert_eq!(h.send(b"NOOP\n"), "250 2.0.0 Ok\r\n");
}

#[test]
fn bare_lf_command_rejected_in_reject_mode() {
    let mut c = config();
    c.limits.body.bare_lf = BareLf::Reject;
    let mut h = Harness::new(c);
    h.take_output();
    assert_eq!(
        h.send(b"NOOP\n"),
        "500 5.5.2 Bare LF in command; end lines with CRLF\r\n"
    );
}

#[test]
fn bare_cr_in_command() {
    let mut h = greeted();
    assert_eq!(
        h.send(b"NOOP\rRSET\r\n"),
        "500 5.5.2 Bare CR in command\r\n"
    );
}

#[test]
fn long_command_line_answered_once() {
    let mut h = greeted();
    let mut line = b"NOOP ".to_vec();
    line.resize(2000, b'x');
    // Sent in pieces: the line must be discarded, not split into commands.
    assert_eq!(h.send(&line[..600]), "");
    assert_eq!(h.send(&line[600..]), "");
    assert_eq!(
        h.send(b"RSET\r\nNOOP\r\n"),
        "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n"
    );
    // Exactly at the limit (512 with CRLF) is fine; one more is not.
    let mut ok = b"NOOP ".to_vec();
    ok.resize(510, b'y');
    ok.extend_from_slice(b"\r\n");
    assert_eq!(h.send(&ok), "250 2.0.0 Ok\r\n");
    let mut over = b"NOOP ".to_vec();
    over.resize(511, b'y');
    over.extend_from_slice(b"\r\n");
    assert_eq!(h.send(&over), "500 5.5.2 Line too long\r\n");
}

#[test]
fn error_limit_closes_with_421() {
    let mut h = greeted();
    for _ in 0..5 {
        assert_eq!(h.send(b"BAD\r\n"), "500 5.5.2 Command unrecognized\r\n");
    }
    assert_eq!(
        h.send(b"BAD\r\n"),
        "421 4.7.0 Too many errors; closing connection\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn command_limit_closes_with_421() {
    let mut h = greeted();
    let out = h.send(&b"NOOP\r\n".repeat(51));
    assert_eq!(
        out,
        format!(
            "{}421 4.7.0 Too many commands; closing connection\r\n",
            "250 2.0.0 Ok\r\n".repeat(50)
        )
    );
}

#[test]
fn recipient_limit_gives_452() {
    let mut h = in_transaction();
    h.send(b"RCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n");
    assert_eq!(
        h.send(b"RCPT TO:<d@example.net>\r\n"),
        "452 4.5.3 Too many recipients\r\n"
    );
}

#[test]
fn size_parameter_over_limit() {
    let mut h = greeted();
    h.send(b"EHLO c\r\n");
    assert_eq!(
        h.send(b"MAIL FROM:<s@example.org> SIZE=10001\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(
        h.send(b"MAIL FROM:<s@example.org> SIZE=10000\r\n"),
        "250 2.1.0 Sender ok\r\n"
    );
}

#[test]
fn unadvertised_parameters_refused() {
    let mut c = config();
    c.extensions.eight_bit_mime = false;
    c.extensions.dsn = false;
    c.extensions.smtputf8 = false;
    let mut h = Harness::new(c);
    h.send(b"EHLO c\r\n");
    for line in [
        "MAIL FROM:<s@example.org> BODY=8BITMIME\r\n",
        "MAIL FROM:<s@example.org> SMTPUTF8\r\n",
        "MAIL FROM:<s@example.org> RET=FULL\r\n",
    ] {
        assert_eq!(
            h.send(line.as_bytes()),
            "555 5.5.4 Unsupported MAIL/RCPT parameter\r\n",
            "{line}"
        );
    }
}

#[test]
fn non_ascii_address_needs_smtputf8() {
    let mut h = greeted();
    h.send(b"EHLO c\r\n");
    assert_eq!(
        h.send("MAIL FROM:<josé@example.org>\r\n".as_bytes()),
        "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter\r\n"
    );
    assert_eq!(
        h.send("MAIL FROM:<josé@example.org> SMTPUTF8\r\n".as_bytes()),
        "250 2.1.0 Sender ok\r\n"
    );
}

#[test]
fn refused_recipient_is_not_kept() {
    let mut h = greeted().with_rule(|e| match e {
        Event::Rcpt(path, _) if path.to_string().contains("foreign") => {
            Verdict::Refuse(table::relay_denied())
        }
        _ => Verdict::Continue,
    });
    h.send(b"EHLO c\r\nMAIL FROM:<s@example.org>\r\n");
    assert_eq!(
        h.send(b"RCPT TO:<x@foreign.example>\r\n"),
        "550 5.7.1 Relay access denied\r\n"
    );
    assert_eq!(h.send(b"DATA\r\n"), "554 5.5.1 No valid recipients\r\n");
    assert_eq!(
        h.send(b"RCPT TO:<x@example.net>\r\n"),
        "250 2.1.5 Recipient ok\r\n"
    );
    assert_eq!(h.session.transaction().unwrap().recipients.len(), 1);
}

#[test]
fn message_verdict_reply_is_used() {
    let mut h = in_transaction().with_rule(|e| match e {
        Event::Message(_) => Verdict::Refuse(table::upstream_lost()),
        _ => Verdict::Continue,
    });
    h.send(b"DATA\r\n");
    assert_eq!(
        h.send(b"x\r\n.\r\n"),
        "451 4.4.2 Connection to the mail server lost; try again later\r\n"
    );
    assert!(h.session.transaction().is_none());
}

#[test]
fn defective_message_is_refused_and_reset() {
    let mut h = in_transaction();
    h.send(b"DATA\r\n");
    assert_eq!(
        h.send(b"a\rb\r\n.\r\n"),
        "550 5.5.2 Message contains bare CR; use CRLF line ends\r\n"
    );
    assert!(h.messages().is_empty());
    assert!(h.events.contains(&Event::Reset));
    assert!(h.session.transaction().is_none());
}

#[test]
fn oversized_message_gets_552_after_end_of_data() {
    let mut h = in_transaction();
    h.send(b"DATA\r\n");
    let body = format!(
        "Subject: big\r\n\r\n{}",
        format!("{}\r\n", "a".repeat(900)).repeat(12)
    );
    assert_eq!(h.send(body.as_bytes()), "");
    assert_eq!(
        h.send(b".\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(h.session.buffered(), 0);
}

#[test]
fn data_refused_by_budget() {
    let mut h = in_transaction().with_rule(|e| match e {
        Event::Data => Verdict::Refuse(table::buffer_full()),
        _ => Verdict::Continue,
    });
    assert_eq!(
        h.send(b"DATA\r\n"),
        "452 4.3.1 Insufficient system storage; try again later\r\n"
    );
    // The transaction is gone and the next line is a command again.
    assert_eq!(h.send(b"NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

#[test]
fn bdat_chunks() {
    let mut h = in_transaction();
    assert_eq!(
        h.send(b"BDAT 5\r\nA: b\r"),
        "250 2.0.0 5 octets received\r\n"
    );
    assert_eq!(
        h.send(b"BDAT 10 LAST\r\n\n\r\n.body\r\n"),
        "250 2.0.0 Ok: queued\r\n"
    );
    assert_eq!(h.messages(), vec![b"A: b\r\n\r\n.body\r\n".to_vec()]);
}

#[test]
fn bdat_octets_are_never_commands() {
    let mut h = greeted();
    h.send(b"EHLO c\r\n");
    // BDAT without a transaction is refused, but its octets are still swallowed.
    assert_eq!(
        h.send(b"BDAT 6\r\nQUIT\r\nNOOP\r\n"),
        "503 5.5.1 Send MAIL first\r\n250 2.0.0 Ok\r\n"
    );
    assert!(!h.session.is_closed());
}

#[test]
fn bdat_zero_last_ends_message() {
    let mut h = in_transaction();
    assert_eq!(h.send(b"BDAT 3\r\nab\n"), "250 2.0.0 3 octets received\r\n");
    assert_eq!(h.send(b"BDAT 0 LAST\r\n"), "250 2.0.0 Ok: queued\r\n");
    assert_eq!(h.messages(), vec![b"ab\r\n".to_vec()]);
}

#[test]
fn data_after_bdat_is_refused() {
    let mut h = in_transaction();
    h.send(b"BDAT 2\r\nab");
    assert_eq!(
        h.send(b"DATA\r\n"),
        "503 5.5.1 Cannot mix DATA and BDAT in one transaction\r\n"
    );
}

#[test]
fn rset_and_ehlo_reset_the_transaction() {
    let mut h = in_transaction();
    h.send(b"RSET\r\n");
    assert!(h.session.transaction().is_none());
    assert!(h.events.contains(&Event::Reset));
    let mut h = in_transaction();
    h.send(b"EHLO again\r\n");
    assert!(h.session.transaction().is_none());
}

#[test]
fn connect_refusal_answers_503_until_quit() {
    let mut h = Harness::new(config()).with_rule(|_| Verdict::Continue);
    h.take_output();
    let mut h2 = {
        let now = Instant::now();
        let mut s = Session::new(Rc::new(config()), now);
        assert_eq!(s.poll_event(), Some(Event::Connect));
        s.decide(
            now,
            Verdict::Refuse(super::reply::Reply::new(
                554,
                super::reply::Status(5, 7, 1),
                "Go away",
            )),
        );
        s
    };
    let now = Instant::now();
    h2.receive(now, b"EHLO x\r\nQUIT\r\n");
    assert_eq!(
        String::from_utf8_lossy(h2.transmit()),
        "554 5.7.1 Go away\r\n503 5.5.1 Service refused; send QUIT\r\n221 2.0.0 Bye\r\n"
    );
    assert!(h2.is_closed());
    assert_eq!(h.send(b"NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

#[test]
fn idle_timeout_and_stress() {
    let mut h = greeted();
    let deadline = h.session.poll_timeout().unwrap();
    assert_eq!(deadline, h.now + Duration::from_secs(300));
    h.session.set_under_stress(h.now, true);
    assert_eq!(
        h.session.poll_timeout().unwrap(),
        h.now + Duration::from_secs(10)
    );
    h.session.handle_timeout(h.now + Duration::from_secs(9));
    assert!(!h.session.is_closed());
    h.session.handle_timeout(h.now + Duration::from_secs(10));
    assert_eq!(
        h.take_output(),
        "421 4.4.2 Timeout exceeded; closing connection\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn no_idle_timer_while_waiting_for_the_shell() {
    let now = Instant::now();
    let mut s = Session::new(Rc::new(config()), now);
    // Awaiting the connect decision: only the session bound is armed.
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(3600)));
    s.handle_timeout(now + Duration::from_secs(3600));
    assert!(s.is_closed());
    assert_eq!(
        String::from_utf8_lossy(s.transmit()),
        "421 4.4.2 Session time limit exceeded; closing connection\r\n"
    );
}

#[test]
fn shutdown_waits_for_the_open_transaction() {
    let mut h = in_transaction();
    h.session.begin_shutdown();
    assert!(!h.session.is_closed());
    h.send(b"DATA\r\n");
    assert_eq!(
        h.send(b"x\r\n.\r\n"),
        "250 2.0.0 Ok: queued\r\n421 4.3.2 Service shutting down; try again later\r\n"
    );
    assert!(h.session.is_closed());
    let mut idle = greeted();
    idle.session.begin_shutdown();
    assert_eq!(
        idle.take_output(),
        "421 4.3.2 Service shutting down; try again later\r\n"
    );
}

#[test]
fn pipelined_input_waits_while_a_decision_is_pending() {
    let now = Instant::now();
    let mut s = Session::new(Rc::new(config()), now);
    s.poll_event();
    s.decide(now, Verdict::Continue);
    s.receive(now, b"EHLO c\r\nNOOP\r\n");
    assert!(!s.wants_input());
    assert!(matches!(s.poll_event(), Some(Event::Helo { .. })));
    assert!(!String::from_utf8_lossy(s.transmit()).contains("250 2.0.0 Ok"));
    s.decide(now, Verdict::Continue);
    assert!(String::from_utf8_lossy(s.transmit()).ends_with("250 2.0.0 Ok\r\n"));
}

/// A realistic pipelined script covering every stage, with two transactions.
const SCRIPT: &[u8] =
    b"EHLO client.example\r\nMAIL FROM:<s@example.org> SIZE=100\r\nRCPT TO:<a@example.net>\r\n\
RCPT TO:<b@example.net>\r\nDATA\r\nSubject: one\r\n\r\n..dotted\r\nline\r\n.\r\nRSET\r\nNOOP\r\n\
MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nBDAT 7\r\nA: b\r\n\rBDAT 4 LAST\r\n\nx\r\nQUIT\r\n";

/// Feeds `chunks` of [`SCRIPT`] and returns the output and the events seen.
fn run_split(cuts: &[usize]) -> (String, Vec<Event>) {
    let mut h = greeted();
    let mut out = String::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([&SCRIPT.len()]) {
        let cut = cut.clamp(start, SCRIPT.len());
        out += &h.send(&SCRIPT[start..cut]);
        start = cut;
    }
    (out, h.events)
}

proptest::proptest! {
    /// Any split of a valid SMTP stream into chunks gives the same replies and
    /// the same events as the stream in one piece.
    #[test]
    fn any_chunking_gives_the_same_replies_and_events(mut cuts in proptest::collection::vec(0..SCRIPT.len(), 0..40)) {
        cuts.sort_unstable();
        let whole = run_split(&[]);
        proptest::prop_assert!(whole.0.ends_with("221 2.0.0 Bye\r\n"), "{}", whole.0);
        proptest::prop_assert_eq!(run_split(&cuts), whole);
    }
}

fn tls_greeted() -> Harness {
    let mut tls = config();
    tls.extensions.starttls = true;
    let mut h = Harness::new(tls);
    h.take_output();
    assert!(h.send(b"EHLO c.test\r\n").contains("250 STARTTLS\r\n"));
    h
}

/// The shell's side of a handshake: the event was raised, then `verdict`.
fn finish_handshake(h: &mut Harness, verdict: Verdict) {
    assert_eq!(h.events.last(), Some(&Event::StartTls));
    h.session.decide(h.now, verdict);
    h.pump();
}

#[test]
fn starttls_drops_pipelined_plaintext_and_restarts_at_greeting() {
    let mut h = tls_greeted();
    // One packet: only the 220 may come back in the clear.
    assert_eq!(
        h.send(b"STARTTLS\r\nRSET\r\n"),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    assert!(!h.session.wants_input());
    finish_handshake(&mut h, Verdict::Continue);
    assert!(h.session.is_tls());
    assert_eq!(h.take_output(), "", "no second 220 and no RSET reply");
    // The first reply inside TLS answers our new EHLO, which no longer offers STARTTLS.
    let ehlo = h.send(b"EHLO c.test\r\n");
    assert!(ehlo.starts_with("250-mx.test\r\n"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
}

#[test]
fn starttls_injected_mail_is_never_seen() {
    let mut h = tls_greeted();
    h.send(b"STARTTLS\r\nMAIL FROM:<a@inj>\r\n");
    // More plaintext before the handshake ends is dropped as well.
    h.send(b"RCPT TO:<b@inj>\r\n");
    finish_handshake(&mut h, Verdict::Continue);
    assert_eq!(
        h.send(b"MAIL FROM:<a@x.test>\r\n"),
        "503 5.5.1 Send HELO/EHLO first\r\n",
        "the greeting state: EHLO is required again"
    );
    h.send(b"EHLO c.test\r\n");
    assert_eq!(
        h.send(b"MAIL FROM:<a@x.test>\r\n"),
        "250 2.1.0 Sender ok\r\n",
        "the injected MAIL opened no transaction"
    );
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, Event::Mail(s, _) if s.to_string().contains("inj"))),
        "{:?}",
        h.events
    );
}

#[test]
fn starttls_refusals() {
    let mut h = tls_greeted();
    assert_eq!(
        h.send(b"STARTTLS now\r\n"),
        "501 5.5.4 Syntax error in parameters or arguments\r\n"
    );
    h.send(b"MAIL FROM:<a@x.test>\r\n");
    assert_eq!(
        h.send(b"STARTTLS\r\n"),
        "503 5.5.1 STARTTLS not allowed inside a mail transaction\r\n"
    );
    h.send(b"RSET\r\n");
    h.send(b"STARTTLS\r\n");
    finish_handshake(&mut h, Verdict::Continue);
    assert_eq!(h.send(b"STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
}

#[test]
fn failed_handshake_closes_without_a_word() {
    let mut h = tls_greeted();
    h.send(b"STARTTLS\r\n");
    finish_handshake(&mut h, Verdict::Disconnect(table::idle_timeout()));
    assert!(h.session.is_closed());
    assert_eq!(h.take_output(), "");
    assert_eq!(h.events.last(), Some(&Event::Close));
}

#[test]
fn proxy_header_from_an_untrusted_client_is_refused() {
    let mut h = greeted();
    assert_eq!(
        h.send(b"PROXY TCP4 192.0.2.1 192.0.2.2 4000 25\r\n"),
        "554 5.7.1 PROXY header not accepted from this address\r\n"
    );
}

impl Harness {
    /// Lets `d` pass on the fake clock and fires what is due.
    fn advance(&mut self, d: Duration) -> String {
        self.now += d;
        self.session.handle_timeout(self.now);
        self.pump();
        self.take_output()
    }
}

const UNKNOWN: &str = "500 5.5.2 Command unrecognized\r\n";

/// Ten errors allowed, the tarpit from the third on, one second a step.
fn tarpitted() -> Harness {
    let mut c = config();
    c.limits.errors = 10;
    c.limits.tarpit_after = 2;
    let mut h = Harness::new(c);
    h.take_output();
    h
}

#[test]
fn tarpit_hold_grows_with_each_error_up_to_the_cap() {
    let second = Duration::from_secs(1);
    assert_eq!(Session::tarpit_hold(second, 1), second);
    assert_eq!(Session::tarpit_hold(second, 7), Duration::from_secs(7));
    assert_eq!(Session::tarpit_hold(second, 30), super::session::MAX_TARPIT);
    assert_eq!(Session::tarpit_hold(second, 31), super::session::MAX_TARPIT);
    assert_eq!(
        Session::tarpit_hold(Duration::MAX, u32::MAX),
        super::session::MAX_TARPIT
    );
    assert_eq!(Session::tarpit_hold(Duration::ZERO, 5), Duration::ZERO);
}

#[test]
fn errors_past_tarpit_after_are_held_back() {
    let mut h = tarpitted();
    assert_eq!(h.send(b"FOO\r\n"), UNKNOWN);
    assert_eq!(h.send(b"FOO\r\n"), UNKNOWN);
    assert!(h.session.wants_input());
    // Third error, one past tarpit_after: held 1 s; the pipelined NOOP waits
    // unread, and no idle timer runs meanwhile.
    assert_eq!(h.send(b"FOO\r\nNOOP\r\n"), "");
    assert!(!h.session.wants_input());
    let released = h.now + Duration::from_secs(1);
    assert_eq!(h.session.poll_timeout(), Some(released));
    assert_eq!(h.advance(Duration::from_millis(999)), "");
    assert!(!h.session.wants_input());
    assert_eq!(
        h.advance(Duration::from_millis(1)),
        format!("{UNKNOWN}250 2.0.0 Ok\r\n")
    );
    assert!(h.session.wants_input());
    assert_eq!(
        h.session.poll_timeout(),
        Some(released + Duration::from_secs(300))
    );
    // The fourth waits 2 s, the fifth 3 s; a good command does not wait.
    for (error, held) in [(4, 2000), (5, 3000)] {
        assert_eq!(h.send(b"FOO\r\n"), "", "error {error}");
        assert_eq!(
            h.session.poll_timeout(),
            Some(h.now + Duration::from_millis(held))
        );
        assert_eq!(h.advance(Duration::from_millis(held - 1)), "");
        assert_eq!(h.advance(Duration::from_millis(1)), UNKNOWN);
    }
    assert_eq!(h.send(b"NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

#[test]
fn tarpit_delay_is_capped() {
    let mut c = config();
    c.limits.errors = 100;
    c.limits.tarpit_after = 1;
    c.timeouts.tarpit_delay = Duration::from_secs(20);
    let mut h = Harness::new(c);
    h.take_output();
    assert_eq!(h.send(b"FOO\r\n"), UNKNOWN);
    // 20 s for the first error past tarpit_after ...
    assert_eq!(h.send(b"FOO\r\n"), "");
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(20))
    );
    assert_eq!(h.advance(Duration::from_secs(20)), UNKNOWN);
    // ... and 30 s, not 40, for the second.
    assert_eq!(h.send(b"FOO\r\n"), "");
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + super::session::MAX_TARPIT)
    );
    assert_eq!(h.advance(Duration::from_millis(29_999)), "");
    assert_eq!(h.advance(Duration::from_millis(1)), UNKNOWN);
}

#[test]
fn refused_recipients_are_tarpitted_too() {
    let mut c = config();
    c.limits.tarpit_after = 1;
    let mut h = Harness::new(c).with_rule(|e| match e {
        Event::Rcpt(..) => Verdict::Refuse(table::relay_denied()),
        _ => Verdict::Continue,
    });
    h.take_output();
    h.send(b"EHLO c.example\r\nMAIL FROM:<s@example.org>\r\n");
    let denied = table::relay_denied().to_string() + "\r\n";
    assert_eq!(h.send(b"RCPT TO:<a@elsewhere.example>\r\n"), denied);
    // The second refusal is held with the RSET pipelined behind it.
    assert_eq!(h.send(b"RCPT TO:<b@elsewhere.example>\r\nRSET\r\n"), "");
    assert_eq!(h.advance(Duration::from_millis(999)), "");
    assert_eq!(
        h.advance(Duration::from_millis(1)),
        format!("{denied}250 2.0.0 Ok\r\n")
    );
}

#[test]
fn the_error_budget_closes_at_once_even_when_tarpitted() {
    let mut c = config();
    c.limits.errors = 3;
    c.limits.tarpit_after = 1;
    let mut h = Harness::new(c);
    h.take_output();
    assert_eq!(h.send(b"FOO\r\n"), UNKNOWN);
    assert_eq!(h.send(b"FOO\r\n"), "");
    assert_eq!(h.advance(Duration::from_secs(1)), UNKNOWN);
    // The third error is held 2 s; the fourth, read once it is out, spends
    // the budget: its 421 follows with no delay of its own.
    assert_eq!(h.send(b"FOO\r\nFOO\r\n"), "");
    assert_eq!(h.advance(Duration::from_millis(1999)), "");
    assert_eq!(
        h.advance(Duration::from_millis(1)),
        format!("{UNKNOWN}421 4.7.0 Too many errors; closing connection\r\n")
    );
    assert!(h.session.is_closed());
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn held_replies_go_out_at_once_when_the_session_ends() {
    let mut h = tarpitted();
    h.send(b"FOO\r\nFOO\r\n");
    assert_eq!(h.send(b"FOO\r\n"), "");
    h.session.begin_shutdown();
    assert_eq!(
        h.take_output(),
        format!("{UNKNOWN}421 4.3.2 Service shutting down; try again later\r\n")
    );
    assert!(h.session.is_closed());
}

/// 100 octets a second over 10 s windows: 1000 octets each.
fn rate_limited() -> Harness {
    let mut c = config();
    c.limits.min_data_rate = 100;
    c.timeouts.data_rate_window = Duration::from_secs(10);
    let mut h = Harness::new(c);
    h.take_output();
    h.send(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n");
    h
}

const TOO_SLOW: &str = "421 4.4.2 Data rate too low; closing connection\r\n";

#[test]
fn data_slower_than_the_floor_ends_the_session() {
    let mut h = rate_limited();
    // No window before content starts: the command bound is the only timer.
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(300))
    );
    assert_eq!(
        h.send(b"DATA\r\n"),
        "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n"
    );
    let window_end = h.now + Duration::from_secs(10);
    assert_eq!(h.session.poll_timeout(), Some(window_end));
    // 999 octets in the first window: one short.
    h.now += Duration::from_secs(3);
    assert_eq!(h.send(&[b'a'; 999]), "");
    assert_eq!(h.session.poll_timeout(), Some(window_end));
    assert_eq!(h.advance(Duration::from_millis(6999)), "");
    assert!(!h.session.is_closed());
    assert_eq!(h.advance(Duration::from_millis(1)), TOO_SLOW);
    assert!(h.session.is_closed());
    assert!(h.messages().is_empty());
    assert!(h.events.contains(&Event::Reset));
}

#[test]
fn octets_after_the_window_end_count_for_the_next_window() {
    let mut h = rate_limited();
    h.send(b"DATA\r\n");
    h.send(&[b'a'; 999]);
    // The shell's timer has not fired yet when the 1000th octet arrives at
    // the window's end: it is too late for this window.
    h.now += Duration::from_secs(10);
    assert_eq!(h.send(b"a"), TOO_SLOW);
    assert!(h.session.is_closed());
}

#[test]
fn data_at_the_floor_goes_on_window_after_window() {
    let mut h = rate_limited();
    // An empty header section, so the lines below are body.
    h.send(b"DATA\r\n\r\n");
    // Ten lines of 98 octets and CRLF, with the empty line before them the
    // first time: at least the 1000 octets a window needs.
    let window = [[b'a'; 98].as_slice(), b"\r\n"].concat().repeat(10);
    for n in 0..3 {
        h.send(&window);
        assert_eq!(h.advance(Duration::from_secs(10)), "", "window {n}");
    }
    // The last window is partial: it is not checked.
    h.now += Duration::from_secs(9);
    assert_eq!(h.send(b".\r\n"), "250 2.0.0 Ok: queued\r\n");
    assert_eq!(h.messages().len(), 1);
    // Between messages no rate applies: the command timeout does.
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(300))
    );
}

#[test]
fn bdat_chunks_share_one_window() {
    let mut h = rate_limited();
    assert_eq!(h.send(b"BDAT 600\r\n"), "", "chunk octets still to come");
    assert_eq!(h.send(&[b'a'; 600]), "250 2.0.0 600 octets received\r\n");
    let window_end = h.now + Duration::from_secs(10);
    // A new chunk does not restart the window: 900 octets by its end.
    h.now += Duration::from_secs(5);
    assert_eq!(
        h.send(&[b"BDAT 300\r\n".as_slice(), &[b'b'; 300]].concat()),
        "250 2.0.0 300 octets received\r\n"
    );
    assert_eq!(h.session.poll_timeout(), Some(window_end));
    assert_eq!(h.advance(Duration::from_secs(5)), TOO_SLOW);
    assert!(h.messages().is_empty());
}

#[test]
fn a_refused_bdat_chunk_is_held_to_the_floor() {
    let mut h = Harness::new(SessionConfig {
        limits: Limits {
            min_data_rate: 100,
            ..config().limits
        },
        timeouts: Timeouts {
            data_rate_window: Duration::from_secs(10),
            ..config().timeouts
        },
        ..config()
    });
    h.take_output();
    // Refused (no MAIL), yet its 5000 octets must still be read: at the floor.
    h.send(b"EHLO c.test\r\nBDAT 5000\r\n");
    h.take_output();
    h.send(&[b'a'; 10]);
    assert_eq!(h.advance(Duration::from_secs(10)), TOO_SLOW);
}

#[test]
fn the_rate_window_pauses_while_a_reply_is_held() {
    let mut c = config();
    c.limits.min_data_rate = 100;
    c.limits.tarpit_after = 1;
    c.timeouts.data_rate_window = Duration::from_secs(10);
    c.timeouts.tarpit_delay = Duration::from_secs(5);
    let mut h = Harness::new(c);
    h.take_output();
    h.send(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n");
    let start = h.now;
    // An empty header section, then body lines: 600 octets ...
    let first = [b"\r\n".as_slice(), &[b'a'; 596], b"\r\n"].concat();
    assert_eq!(
        h.send(&[b"BDAT 600\r\n".as_slice(), &first].concat()),
        "250 2.0.0 600 octets received\r\n"
    );
    // Between chunks the client errs twice; the second reply is held 5 s
    // (3 s to 8 s), and the window (due at 10 s) waits as long.
    h.now = start + Duration::from_secs(3);
    assert_eq!(h.send(b"FOO\r\nFOO\r\n"), UNKNOWN);
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + Duration::from_secs(8))
    );
    assert_eq!(h.advance(Duration::from_secs(5)), UNKNOWN);
    assert_eq!(
        h.session.poll_timeout(),
        Some(start + Duration::from_secs(15))
    );
    // ... and 400 more by the shifted end make the 1000 the window needs.
    h.now = start + Duration::from_secs(14);
    let last = [[b'b'; 398].as_slice(), b"\r\n"].concat();
    assert_eq!(
        h.send(&[b"BDAT 400 LAST\r\n".as_slice(), &last].concat()),
        "250 2.0.0 Ok: queued\r\n"
    );
    assert_eq!(h.messages().len(), 1);
}

#[test]
fn a_floor_under_one_octet_per_window_is_no_floor() {
    let mut c = config();
    c.limits.min_data_rate = 1;
    c.timeouts.data_rate_window = Duration::from_millis(999);
    let mut h = Harness::new(c);
    h.take_output();
    h.send(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n");
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(600))
    );
}

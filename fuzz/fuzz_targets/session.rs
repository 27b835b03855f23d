//! A whole `smtp::Session` driven by a fake shell: arbitrary client bytes in
//! arbitrary chunks, arbitrary verdicts, time and shutdown. Checked on every step:
//! - invariant 1: a 2xx reply to end of data (the reply after a 354, or a
//!   "queued" one) comes only from the shell's positive answer to
//!   `Event::Message`, once per answer, as the first reply of that answer;
//! - invariant 2: every `Event::Message` holds canonical CRLF lines, no NUL,
//!   within `max_size`;
//! - invariant 3: `buffered()` stays within `max_size` + `command_line` + the
//!   chunk just read;
//! - time: after `handle_timeout(now)` no deadline is left at or before `now`
//!   (a shell would spin), and a reply the tarpit holds stays invisible, with
//!   input unread, until its release instant;
//! - the output is whole replies: CRLF-terminated lines of a 3-digit code and
//!   ` ` or `-`, multi-line replies keeping one code.
//!
//! Input layout: `[k, control (k octets), transcript...]`. The transcript is
//! what the client sends; the control octets choose the configuration, chunk
//! sizes, verdicts and time steps. Once they run out everything defaults to the
//! plain case (all extensions, whole transcript at once, `Continue`), so a seed is
//! a zero octet followed by a real SMTP transcript.
#![no_main]

use std::rc::Rc;
use std::time::{Duration, Instant};

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use ringwall::smtp::{
    BareLf, BodyLimits, Event, Extensions, Limits, Reply, Session, SessionConfig, Status, Timeouts,
    Verdict,
};

fuzz_target!(|input: &[u8]| {
    let Some((&k, rest)) = input.split_first() else {
        return;
    };
    let (control, transcript) = rest.split_at(usize::from(k).min(rest.len()));
    let mut u = Unstructured::new(control);
    let config = config(u.arbitrary().unwrap_or(0));
    Shell::new(config, u).run(transcript);
});

/// Text the shell's own end-of-data acceptance carries; the session's default
/// (`table::queued`) says "queued" as well, and nothing else may.
const SHELL_QUEUED: &str = "queued by the shell";

/// Small bounds, so the fuzzer reaches them; `flags` bits switch extensions off
/// and bare LF to reject (all zero: everything on), and switch STARTTLS, the
/// tarpit and the data-rate floor on.
fn config(flags: u8) -> SessionConfig {
    SessionConfig {
        hostname: "mx.fuzz.example".into(),
        extensions: Extensions {
            size: 4096,
            eight_bit_mime: flags & 1 == 0,
            smtputf8: flags & 2 == 0,
            chunking: flags & 4 == 0,
            dsn: flags & 8 == 0,
            starttls: flags & 32 != 0,
        },
        limits: Limits {
            command_line: 512,
            body: BodyLimits {
                max_size: 4096,
                max_header: 1024,
                max_line: 998,
                max_header_field: 256,
                bare_lf: if flags & 16 == 0 {
                    BareLf::Normalize
                } else {
                    BareLf::Reject
                },
            },
            recipients: 4,
            errors: 10,
            commands: 100,
            tarpit_after: if flags & 64 != 0 { 2 } else { 0 },
            min_data_rate: if flags & 128 != 0 { 64 } else { 0 },
        },
        timeouts: Timeouts {
            command: Duration::from_secs(300),
            data: Duration::from_secs(600),
            under_stress: Duration::from_secs(10),
            session: Duration::from_secs(3600),
            tarpit_delay: Duration::from_secs(1),
            // 64 octets a second over 2 s: 128 a window, so both sides of
            // the floor are within the fuzzer's reach.
            data_rate_window: Duration::from_secs(2),
        },
    }
}

struct Shell<'a> {
    session: Session,
    config: Rc<SessionConfig>,
    control: Unstructured<'a>,
    now: Instant,
    /// Positive answers given to `Event::Message`.
    accepted: usize,
    /// "queued" replies seen.
    queued: usize,
    /// The last reply seen was 354: the next one answers end of data.
    in_data: bool,
}

impl<'a> Shell<'a> {
    fn new(config: SessionConfig, control: Unstructured<'a>) -> Shell<'a> {
        let config = Rc::new(config);
        let now = Instant::now();
        Shell {
            session: Session::new(Rc::clone(&config), now),
            config,
            control,
            now,
            accepted: 0,
            queued: 0,
            in_data: false,
        }
    }

    fn run(mut self, mut transcript: &[u8]) {
        self.pump();
        while !transcript.is_empty() && !self.session.is_closed() {
            match self.control.choose_index(4).unwrap_or(0) {
                // A shell reads nothing while the session does not want input
                // (a tarpit holds a reply): time passes instead.
                0 if !self.session.wants_input() => self.advance(Duration::from_secs(1)),
                0 => {
                    let len = if self.control.is_empty() {
                        transcript.len()
                    } else {
                        self.control
                            .int_in_range(1..=transcript.len())
                            .unwrap_or(transcript.len())
                    };
                    let (chunk, rest) = transcript.split_at(len);
                    transcript = rest;
                    self.session.receive(self.now, chunk);
                    self.check_buffered(chunk.len());
                    self.pump();
                    self.check_buffered(chunk.len());
                }
                1 => {
                    // Milliseconds (top bit clear), so releases and window
                    // ends are hit on both sides, or seconds, so the idle and
                    // session bounds are reached.
                    let step: u16 = self.control.arbitrary().unwrap_or(0);
                    let by = if step & 0x8000 == 0 {
                        Duration::from_millis(u64::from(step))
                    } else {
                        Duration::from_secs(u64::from(step & 0x7fff))
                    };
                    self.advance(by);
                }
                2 => {
                    let stressed = self.control.arbitrary().unwrap_or(false);
                    self.session.set_under_stress(self.now, stressed);
                }
                _ => self.session.begin_shutdown(),
            }
            self.pump();
        }
        // The client goes quiet: every session ends by a timeout at the latest.
        self.now += self.config.timeouts.session;
        self.session.handle_timeout(self.now);
        self.pump();
        assert!(self.session.is_closed(), "session outlived its time bound");
        assert_eq!(
            self.accepted, self.queued,
            "queued replies without an accepted message"
        );
    }

    /// Lets `by` pass and fires what is due. After `pump` every event is
    /// answered, so a session that is open but does not want input holds a
    /// tarpitted reply.
    fn advance(&mut self, by: Duration) {
        let held = !self.session.wants_input() && !self.session.is_closed();
        let due = self.session.poll_timeout();
        self.now += by;
        self.session.handle_timeout(self.now);
        if held && due.is_some_and(|due| self.now < due) {
            assert!(
                self.session.transmit().is_empty(),
                "held output released before {due:?}"
            );
            assert!(
                !self.session.wants_input(),
                "input read while a reply is held"
            );
        }
        if let Some(next) = self.session.poll_timeout() {
            assert!(next > self.now, "a deadline left at or before now");
        }
    }

    fn check_buffered(&self, chunk: usize) {
        let limits = &self.config.limits;
        let bound = limits.body.max_size as usize + limits.command_line + chunk;
        assert!(
            self.session.buffered() <= bound,
            "buffered {} > {bound}",
            self.session.buffered()
        );
    }

    /// Answers events until the session waits for input again.
    fn pump(&mut self) {
        self.read_replies(false);
        while let Some(event) = self.session.poll_event() {
            let is_message = match &event {
                Event::Message(body) => {
                    self.check_message(body);
                    true
                }
                Event::Reset | Event::Close => continue,
                _ => false,
            };
            let verdict = self.verdict(&event);
            let positive = matches!(verdict, Verdict::Continue | Verdict::ContinueWith(_));
            self.session.decide(self.now, verdict);
            if is_message && positive {
                self.accepted += 1;
            }
            self.read_replies(is_message && positive);
        }
    }

    fn verdict(&mut self, event: &Event) -> Verdict {
        let code = match event {
            Event::Connect => 220,
            Event::Data => 354,
            _ => 250,
        };
        let text = if matches!(event, Event::Message(_)) {
            SHELL_QUEUED
        } else {
            "ok by the shell"
        };
        match self.control.choose_index(5).unwrap_or(0) {
            0 => Verdict::Continue,
            1 => Verdict::ContinueWith(Reply::new(code, Status(2, 0, 0), text)),
            2 => Verdict::Refuse(Reply::new(450, Status(4, 7, 1), "refused by the shell")),
            3 => Verdict::Refuse(Reply::new(550, Status(5, 7, 1), "refused by the shell")),
            _ => Verdict::Disconnect(Reply::new(421, Status(4, 7, 0), "closing by the shell")),
        }
    }

    fn check_message(&self, body: &[u8]) {
        assert!(body.len() as u64 <= self.config.limits.body.max_size);
        assert!(!body.contains(&0), "NUL in message");
        assert!(body.is_empty() || body.ends_with(b"\r\n"));
        for (i, &b) in body.iter().enumerate() {
            assert!(
                b != b'\n' || (i > 0 && body[i - 1] == b'\r'),
                "bare LF in message"
            );
            assert!(
                b != b'\r' || body.get(i + 1) == Some(&b'\n'),
                "bare CR in message"
            );
        }
    }

    /// Takes the session's output and checks it reply by reply. `accepted_now`:
    /// this output follows a positive answer to `Event::Message`, so its first
    /// reply is the end-of-data reply.
    fn read_replies(&mut self, accepted_now: bool) {
        let out = self.session.transmit().to_vec();
        self.session.transmitted(out.len());
        assert!(
            !accepted_now || !out.is_empty(),
            "no reply to an accepted message"
        );
        assert!(
            out.is_empty() || out.ends_with(b"\r\n"),
            "unterminated reply"
        );
        let mut first = true;
        let mut open: Option<&[u8]> = None;
        for line in out.split_inclusive(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r\n").expect("reply line without CRLF");
            assert!(!line.contains(&b'\r'), "CR inside a reply line");
            assert!(
                line.len() >= 4
                    && line[..3].iter().all(u8::is_ascii_digit)
                    && matches!(line[3], b' ' | b'-'),
                "malformed reply line {:?}",
                String::from_utf8_lossy(line)
            );
            let code = &line[..3];
            assert!(
                open.is_none_or(|c| c == code),
                "code changed inside a reply"
            );
            if line[3] == b'-' {
                open = Some(code);
                continue;
            }
            open = None;
            let queued = line.windows(6).any(|w| w == b"queued");
            if queued || (self.in_data && code[0] == b'2') {
                assert!(
                    accepted_now && first && queued,
                    "2xx to end of data without the shell: {:?}",
                    String::from_utf8_lossy(line)
                );
                self.queued += 1;
            }
            assert!(
                !accepted_now || !first || queued,
                "accepted message not answered queued"
            );
            self.in_data = code == b"354";
            first = false;
        }
        assert!(open.is_none(), "multi-line reply left open");
    }
}

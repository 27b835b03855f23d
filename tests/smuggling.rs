//! SMTP smuggling (invariant 2): end of data is exactly CRLF.CRLF. Each test
//! sends one message whose body holds an almost-end-of-data followed by a whole
//! forged transaction, then the real CRLF.CRLF and QUIT, all in one write. Had
//! the proxy ended the message early, the client would read the forged
//! transaction's replies and the upstream would get a second message; instead
//! the client reads exactly one end-of-data reply and the 221, and the forged
//! lines are either content of the one message or refuse it whole.
//!
//! Each attempt is made twice: in front of an upstream that takes BDAT (the
//! sink's default) and one that takes DATA, where our re-dot-stuffing of the
//! content is all that keeps a dot line from ending the message upstream.

mod common;

use common::{BYE, Dump, Setup, split_received};
use ringwall::config::BareNewlines;

/// The forged transaction hidden behind each separator.
const SMUGGLED: &str =
    "MAIL FROM:<smuggler@evil.example>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nSmuggled";

/// The message up to the separator.
const HEAD: &str = "Subject: smuggling\r\n\r\nHello";

/// What a smuggling attempt came to.
struct Attempt {
    /// The one reply to end of data.
    reply: String,
    /// What the upstream stored.
    dumps: Vec<Dump>,
    /// The sink's record of envelopes.
    record: String,
}

/// Sends `HEAD`, `separator`, `SMUGGLED`, CRLF.CRLF and QUIT in one write.
fn smuggle(setup: Setup, separator: &[u8]) -> Attempt {
    let stack = setup.start();
    let mut client = stack.session();
    client.envelope("a@sender.example", &["u@example.net"]);
    let mut attempt = HEAD.as_bytes().to_vec();
    attempt.extend_from_slice(separator);
    attempt.extend_from_slice(SMUGGLED.as_bytes());
    attempt.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
    client.send(&attempt);
    let reply = client.reply();
    assert_eq!(client.reply(), BYE);
    client.expect_closed();
    let dumps = stack.dumps();
    let record = stack.record();
    let counts = stack.finish();
    assert_eq!(counts.accepted as usize, record.lines().count());
    Attempt {
        reply,
        dumps,
        record,
    }
}

/// The attempt in front of both kinds of upstream.
fn smuggle_both(setup: fn() -> Setup, separator: &[u8]) -> [Attempt; 2] {
    [
        smuggle(setup(), separator),
        smuggle(setup().without_chunking(), separator),
    ]
}

/// Asserts the attempt was taken as one message whose separator became a
/// content line holding a dot, with the forged transaction as content after it.
fn assert_kept_as_content(attempt: &Attempt) {
    let queued = attempt.reply.starts_with("250 2.0.0 Ok: queued as ");
    assert!(queued, "{:?}", attempt.reply);
    let [dump] = attempt.dumps.as_slice() else {
        panic!("{} messages reached the upstream", attempt.dumps.len());
    };
    let expected = format!("{HEAD}\r\n.\r\n{SMUGGLED}\r\n");
    assert_eq!(
        String::from_utf8_lossy(split_received(&dump.eml).1),
        expected
    );
    assert_eq!(
        attempt.record,
        format!(
            "<none>\ta@sender.example\tu@example.net\t{}\n",
            dump.eml.len()
        )
    );
}

/// Asserts the attempt was refused whole with `reply` and nothing reached the upstream.
fn assert_refused(attempt: &Attempt, reply: &str) {
    assert_eq!(attempt.reply, reply);
    assert!(attempt.dumps.is_empty());
    assert_eq!(attempt.record, "");
}

/// The refusal of a message holding a CR that is not part of CRLF.
const BARE_CR: &str = "550 5.5.2 Message contains bare CR; use CRLF line ends\r\n";

/// `LF . LF` is not end of data: with bare LFs normalised, the dot is a content
/// line and the forged commands are message text.
#[test]
fn lf_dot_lf_is_content() {
    for attempt in smuggle_both(Setup::new, b"\n.\n") {
        assert_kept_as_content(&attempt);
    }
}

/// `LF . CRLF` is not end of data (the line before the dot did not end in CRLF).
#[test]
fn lf_dot_crlf_is_content() {
    for attempt in smuggle_both(Setup::new, b"\n.\r\n") {
        assert_kept_as_content(&attempt);
    }
}

/// `CRLF . LF` is not end of data (the dot line does not end in CRLF).
#[test]
fn crlf_dot_lf_is_content() {
    for attempt in smuggle_both(Setup::new, b"\r\n.\n") {
        assert_kept_as_content(&attempt);
    }
}

/// `CR . CR` holds bare CRs: the message is refused whole.
#[test]
fn cr_dot_cr_is_refused() {
    for attempt in smuggle_both(Setup::new, b"\r.\r") {
        assert_refused(&attempt, BARE_CR);
    }
}

/// `CRLF . CR` ends the dot line with a bare CR: refused whole.
#[test]
fn crlf_dot_cr_is_refused() {
    for attempt in smuggle_both(Setup::new, b"\r\n.\r") {
        assert_refused(&attempt, BARE_CR);
    }
}

/// `CR . CRLF` starts with a bare CR: refused whole.
#[test]
fn cr_dot_crlf_is_refused() {
    for attempt in smuggle_both(Setup::new, b"\r.\r\n") {
        assert_refused(&attempt, BARE_CR);
    }
}

/// `LF . CR` ends the dot line with a bare CR: refused whole.
#[test]
fn lf_dot_cr_is_refused() {
    for attempt in smuggle_both(Setup::new, b"\n.\r") {
        assert_refused(&attempt, BARE_CR);
    }
}

/// A NUL before the dot (an upstream that drops NULs would see CRLF.CRLF):
/// refused whole.
#[test]
fn nul_before_the_dot_is_refused() {
    for attempt in smuggle_both(Setup::new, b"\r\n\0.\r\n") {
        assert_refused(&attempt, "550 5.6.0 Message contains NUL octets\r\n");
    }
}

/// With `bare_newlines = "reject"`, `LF . LF` refuses the message whole.
#[test]
fn lf_dot_lf_is_refused_when_bare_newlines_are_rejected() {
    let rejecting = || Setup::new().config(|c| c.server.bare_newlines = BareNewlines::Reject);
    for attempt in smuggle_both(rejecting, b"\n.\n") {
        assert_refused(
            &attempt,
            "550 5.5.2 Message contains bare LF; use CRLF line ends\r\n",
        );
    }
}

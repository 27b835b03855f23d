//! SMTP replies and the one table of every reply ringwall sends on its own.
//!
//! Every reply carries an RFC 3463 enhanced status code (we advertise
//! ENHANCEDSTATUSCODES), except the greeting and EHLO's capability list, which
//! RFC 2034 exempts. Keeping the canned replies in one table keeps codes and texts
//! consistent across the protocol core, the shell and the tests that assert them.

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;

/// An RFC 3463 enhanced status code such as `5.7.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub u8, pub u16, pub u16);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Status {
    /// The generic status of a reply class (`2.0.0`, `4.0.0`, `5.0.0`), used when
    /// an upstream reply carries no enhanced code of its own.
    pub fn generic_for(code: u16) -> Status {
        Status((code / 100) as u8, 0, 0)
    }
}

/// One SMTP reply: a code, an optional enhanced status and one or more lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: u16,
    /// The enhanced status code, repeated on every line when present.
    pub status: Option<Status>,
    /// Text lines; a reply with several lines is sent as a multi-line reply.
    pub lines: Vec<Cow<'static, str>>,
}

impl Reply {
    /// A single-line reply with fixed text.
    pub fn new(code: u16, status: Status, text: &'static str) -> Reply {
        Reply {
            code,
            status: Some(status),
            lines: vec![Cow::Borrowed(text)],
        }
    }

    /// A single-line reply with computed text.
    pub fn owned(code: u16, status: Option<Status>, text: String) -> Reply {
        Reply {
            code,
            status,
            lines: vec![Cow::Owned(text)],
        }
    }

    /// 2xx: the command succeeded.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 4xx: a transient failure the client should retry.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: a permanent failure.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// Appends the wire form (CRLF line ends, `-` continuation) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        let mut code = itoa3(self.code);
        for (i, line) in self.lines.iter().enumerate() {
            code[3] = if i == last { b' ' } else { b'-' };
            out.extend_from_slice(&code);
            if let Some(status) = self.status {
                // Writing into a Vec cannot fail.
                let _ = write!(out, "{status} ");
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if self.lines.is_empty() {
            out.extend_from_slice(&code[..3]);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a string, for logs and tests.
    pub fn to_wire(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for Reply {
    /// The reply as one log-friendly line: `550 5.7.1 Relay access denied`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(status) = self.status {
            write!(f, " {status}")?;
        }
        for line in &self.lines {
            write!(f, " {line}")?;
        }
        Ok(())
    }
}

fn itoa3(code: u16) -> [u8; 4] {
    let code = code.min(999);
    [
        b'0' + (code / 100) as u8,
        b'0' + (code / 10 % 10) as u8,
        b'0' + (code % 10) as u8,
        b' ',
    ]
}

/// The table of every reply ringwall composes itself. Names say when each is sent.
pub mod table {
    use super::{Reply, Status};

    macro_rules! replies {
        ($($(#[$doc:meta])* $name:ident = $code:literal ($c:literal, $s:literal, $d:literal) $text:literal;)*) => {
            $(
                $(#[$doc])*
                pub fn $name() -> Reply {
                    Reply::new($code, Status($c, $s, $d), $text)
                }
            )*
        };
    }

    replies! {
        /// RSET, NOOP and other plain successes.
        ok = 250 (2, 0, 0) "Ok";
        /// MAIL accepted.
        sender_ok = 250 (2, 1, 0) "Sender ok";
        /// RCPT accepted (locally, or by the upstream).
        recipient_ok = 250 (2, 1, 5) "Recipient ok";
        /// VRFY is never answered truthfully (address harvesting).
        vrfy = 252 (2, 5, 0) "Cannot VRFY user, but will accept message and attempt delivery";
        /// EXPN is disabled (mailing-list harvesting).
        expn = 502 (5, 5, 1) "EXPN command disabled";
        /// End of data, when the shell gave no reply of its own.
        queued = 250 (2, 0, 0) "Ok: queued";
        /// RCPT of a triplet greylisting has not seen retried yet (RFC 6647).
        greylisted = 451 (4, 7, 1) "Greylisted, please try again later";
        /// A message whose verdict is `reject` (the score or a rule class).
        content_rejected = 550 (5, 7, 1) "Message rejected as spam";
        /// A message whose verdict is `tempfail`.
        content_deferred = 451 (4, 7, 1) "Message deferred by the content filter; try again later";
        /// A message to quarantine while the store is below its free-space
        /// floor or full: the client keeps it and retries.
        quarantine_full = 451 (4, 3, 1) "Insufficient system storage; try again later";
        /// A message to quarantine that could not be written.
        quarantine_failed = 451 (4, 3, 0) "Temporary local problem; try again later";
        /// A sender on `[senders] block`.
        sender_blocked = 550 (5, 7, 1) "Sender blocked by local policy";
        /// Any command but QUIT after a refused greeting (RFC 5321 §3.1).
        refused_send_quit = 503 (5, 5, 1) "Service refused; send QUIT";
        /// HELP.
        help = 214 (2, 0, 0) "See RFC 5321; this is an SMTP proxy";
        /// QUIT.
        bye = 221 (2, 0, 0) "Bye";
        /// The client sent a command we do not know.
        unknown_command = 500 (5, 5, 2) "Command unrecognized";
        /// A command line longer than `[limits] command_line`.
        line_too_long = 500 (5, 5, 2) "Line too long";
        /// A command line holding a CR that is not part of CRLF.
        bare_cr_command = 500 (5, 5, 2) "Bare CR in command";
        /// A command ended by a bare LF while `bare_newlines = "reject"`.
        bare_lf_command = 500 (5, 5, 2) "Bare LF in command; end lines with CRLF";
        /// A command holding a NUL byte or other non-text octets.
        bad_command_octets = 500 (5, 5, 2) "Invalid characters in command";
        /// A command whose arguments do not parse.
        syntax_params = 501 (5, 5, 4) "Syntax error in parameters or arguments";
        /// EHLO/HELO without a usable domain or address literal.
        bad_helo = 501 (5, 5, 4) "Syntax error: HELO/EHLO needs a domain or address literal";
        /// With `[server] strict_helo_literal`, an EHLO/HELO literal that is not
        /// the client's address.
        helo_literal_mismatch = 550 (5, 7, 1) "HELO address literal does not match your address";
        /// MAIL with a malformed reverse-path.
        bad_sender = 501 (5, 1, 7) "Bad sender address syntax";
        /// RCPT with a malformed forward-path.
        bad_recipient = 501 (5, 1, 3) "Bad recipient address syntax";
        /// A non-ASCII address without SMTPUTF8 (RFC 6531 §3.5).
        needs_smtputf8 = 553 (5, 6, 7) "Non-ASCII address needs the SMTPUTF8 parameter";
        /// A MAIL or RCPT parameter we do not offer (RFC 5321 §4.1.1.11).
        unsupported_parameter = 555 (5, 5, 4) "Unsupported MAIL/RCPT parameter";
        /// STARTTLS when TLS is not configured.
        no_starttls = 502 (5, 5, 1) "STARTTLS not available";
        /// STARTTLS accepted: the TLS handshake follows at once (RFC 3207).
        ready_tls = 220 (2, 0, 0) "Ready to start TLS";
        /// STARTTLS inside a TLS session.
        tls_active = 503 (5, 5, 1) "TLS already active";
        /// STARTTLS inside a mail transaction (as Postfix refuses it).
        tls_in_transaction = 503 (5, 5, 1) "STARTTLS not allowed inside a mail transaction";
        /// A PROXY protocol header from a client outside `[server] proxy_protocol_from`:
        /// an attempt to spoof the client address.
        proxy_untrusted = 554 (5, 7, 1) "PROXY header not accepted from this address";
        /// MAIL before HELO/EHLO.
        need_helo = 503 (5, 5, 1) "Send HELO/EHLO first";
        /// MAIL inside a transaction.
        nested_mail = 503 (5, 5, 1) "Sender already specified";
        /// RCPT before MAIL.
        need_mail = 503 (5, 5, 1) "Send MAIL first";
        /// DATA or BDAT before any accepted RCPT.
        need_rcpt = 554 (5, 5, 1) "No valid recipients";
        /// DATA after BDAT, or BDAT after DATA, in one transaction.
        mixed_data = 503 (5, 5, 1) "Cannot mix DATA and BDAT in one transaction";
        /// 354: go ahead with the message.
        start_data = 354 (2, 0, 0) "End data with <CR><LF>.<CR><LF>";
        /// A recipient domain we do not relay for.
        relay_denied = 550 (5, 7, 1) "Relay access denied";
        /// A local part with `%`, `!` or a quoted `@`: relay-hack forms.
        routing_characters = 550 (5, 7, 1) "Relay access denied: routing characters in local part";
        /// Recipients past `[limits] recipients` (RFC 5321 §4.5.3.1.8 asks for 452).
        too_many_recipients = 452 (4, 5, 3) "Too many recipients";
        /// A recipient of another policy class than those already accepted:
        /// one transaction gets one verdict, so the client sends it again in a
        /// new transaction (clients treat 452 at RCPT so, RFC 5321 §4.5.3.1.10).
        other_policy = 452 (4, 5, 3) "Too many recipients for one verdict; send this one in a new transaction";
        /// SIZE= or DATA past `[server] max_message_size`.
        message_too_big = 552 (5, 3, 4) "Message size exceeds fixed maximum message size";
        /// A header section past `[limits] header_size`.
        header_too_big = 552 (5, 3, 4) "Message header section exceeds fixed maximum size";
        /// One header field, folded lines included, past `[limits] header_field`.
        header_field_too_big = 552 (5, 3, 4) "Message header field exceeds fixed maximum length";
        /// A DATA line past `[limits] data_line`.
        data_line_too_long = 552 (5, 3, 4) "Message line exceeds fixed maximum length";
        /// A bare CR inside message content: a smuggling vector, never forwarded.
        bare_cr_data = 550 (5, 5, 2) "Message contains bare CR; use CRLF line ends";
        /// A bare LF inside message content while `bare_newlines = "reject"`.
        bare_lf_data = 550 (5, 5, 2) "Message contains bare LF; use CRLF line ends";
        /// A NUL octet inside message content (an upstream that strips NULs would
        /// otherwise read `\0.` as end of data).
        nul_data = 550 (5, 6, 0) "Message contains NUL octets";
        /// The shard's buffer budget for message data is spent.
        buffer_full = 452 (4, 3, 1) "Insufficient system storage; try again later";
        /// Protocol errors past `[limits] errors`.
        too_many_errors = 421 (4, 7, 0) "Too many errors; closing connection";
        /// Commands past `[limits] commands`.
        too_many_commands = 421 (4, 7, 0) "Too many commands; closing connection";
        /// Connections from one client address past `[server] max_connections_per_ip`.
        too_many_from_ip = 421 (4, 7, 0) "Too many connections from your address; try again later";
        /// New connections from one client address past `[server]
        /// max_connection_rate_per_ip` in the current window.
        too_fast_from_ip = 421 (4, 7, 0) "Connection rate limit exceeded for your address; try again later";
        /// Connections on one shard past `[server] max_connections_per_shard`.
        shard_full = 421 (4, 3, 2) "Too many connections; try again later";
        /// The client was silent past the state's time bound.
        idle_timeout = 421 (4, 4, 2) "Timeout exceeded; closing connection";
        /// Content slower than `[limits] min_data_rate` over a rate window (slowloris).
        data_too_slow = 421 (4, 4, 2) "Data rate too low; closing connection";
        /// The session lived past `[timeouts] session`.
        session_timeout = 421 (4, 4, 2) "Session time limit exceeded; closing connection";
        /// The proxy is shutting down (SIGTERM).
        shutting_down = 421 (4, 3, 2) "Service shutting down; try again later";
        /// No upstream could be reached for this transaction.
        upstream_unreachable = 451 (4, 4, 1) "Mail server temporarily unreachable; try again later";
        /// At connect, with `[upstream] fail_closed`, when no upstream is reachable.
        upstream_unreachable_at_connect = 421 (4, 4, 1) "Mail server temporarily unreachable; try again later";
        /// The upstream connection broke or timed out mid-transaction.
        upstream_lost = 451 (4, 4, 2) "Connection to the mail server lost; try again later";
        /// The shard's upstream connections are all in use.
        upstream_busy = 451 (4, 4, 5) "Mail server busy; try again later";
        /// With `[upstream] xclient`, the upstream refused the client's identity.
        upstream_identity_refused = 451 (4, 7, 0) "Mail server refused the client identity; try again later";
        /// The upstream answered something we could not parse.
        upstream_protocol = 451 (4, 5, 0) "Mail server protocol error; try again later";
    }
}

/// Maps an upstream reply onto our own text with the upstream's codes kept, so the
/// client sees the upstream's decision without the upstream's wording (which may
/// leak internals, or carry injected lines).
pub fn mapped_upstream(code: u16, status: Option<Status>, stage: UpstreamStage) -> Reply {
    let status = status
        .filter(|s| u16::from(s.0) == code / 100)
        .unwrap_or(Status::generic_for(code));
    let text = match (code / 100, stage) {
        (2, UpstreamStage::Mail) => "Sender ok",
        (2, UpstreamStage::Rcpt) => "Recipient ok",
        (2, UpstreamStage::Message) => "Message accepted",
        (4, UpstreamStage::Mail) => "Sender temporarily rejected by the mail server",
        (4, UpstreamStage::Rcpt) => "Recipient temporarily rejected by the mail server",
        (4, UpstreamStage::Message) => "Message temporarily rejected by the mail server",
        (5, UpstreamStage::Mail) => "Sender rejected by the mail server",
        (5, UpstreamStage::Rcpt) => "Recipient rejected by the mail server",
        (5, UpstreamStage::Message) => "Message rejected by the mail server",
        _ => "Unexpected reply from the mail server",
    };
    let code = match code / 100 {
        2 | 4 | 5 => code,
        _ => 451,
    };
    let status = if code == 451 && status.0 != 4 {
        Status(4, 5, 0)
    } else {
        status
    };
    Reply::new(code, status, text)
}

/// Which command an upstream reply answered, to pick our wording for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamStage {
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// End of data.
    Message,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_wire_form() {
        assert_eq!(
            table::relay_denied().to_wire(),
            "550 5.7.1 Relay access denied\r\n"
        );
    }

    #[test]
    fn multi_line_wire_form() {
        let reply = Reply {
            code: 250,
            status: None,
            lines: vec!["mx.example".into(), "PIPELINING".into(), "SIZE 100".into()],
        };
        assert_eq!(
            reply.to_wire(),
            "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n"
        );
    }

    #[test]
    fn upstream_mapping_keeps_codes_and_replaces_text() {
        let r = mapped_upstream(550, Some(Status(5, 1, 1)), UpstreamStage::Rcpt);
        assert_eq!(
            r.to_wire(),
            "550 5.1.1 Recipient rejected by the mail server\r\n"
        );
        let r = mapped_upstream(451, None, UpstreamStage::Message);
        assert_eq!(
            r.to_wire(),
            "451 4.0.0 Message temporarily rejected by the mail server\r\n"
        );
    }

    #[test]
    fn upstream_mapping_repairs_mismatched_status_and_odd_codes() {
        let r = mapped_upstream(250, Some(Status(5, 1, 1)), UpstreamStage::Message);
        assert_eq!(r.to_wire(), "250 2.0.0 Message accepted\r\n");
        let r = mapped_upstream(354, None, UpstreamStage::Message);
        assert_eq!(r.code, 451);
        assert_eq!(r.status, Some(Status(4, 5, 0)));
    }

    #[test]
    fn classes() {
        assert!(table::ok().is_positive());
        assert!(table::buffer_full().is_transient());
        assert!(table::relay_denied().is_permanent());
    }
}

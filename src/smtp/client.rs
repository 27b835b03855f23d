//! The upstream-side client codec: what ringwall writes to the real mail server
//! and how it reads the answers. Pure like the rest of `smtp/`: the relay shell
//! owns the socket and the clock.
//!
//! Everything written here is built from values we parsed and validated ourselves;
//! XFORWARD values are xtext-encoded so a client cannot inject attributes or lines.

use memchr::memmem;
use thiserror::Error;

use super::reply::Status;

/// Longest reply line we accept from an upstream (RFC 5321 says 512; we are lenient).
pub const MAX_REPLY_LINE: usize = 4096;
/// Most lines in one multi-line reply (an EHLO list is a few dozen).
pub const MAX_REPLY_LINES: usize = 128;
/// XFORWARD and XCLIENT command lines stay within RFC 5321's 512-octet command limit.
pub const MAX_ATTRIBUTE_LINE: usize = 512;

/// Appends `body` (canonical CRLF lines, as the decoder produced it) to `out`
/// dot-stuffed for DATA: every line that starts with `.` gets one more. The caller
/// appends the terminating `.` CRLF.
pub fn dot_stuff(body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len() + body.len() / 64 + 8);
    let mut start = 0;
    if body.first() == Some(&b'.') {
        out.push(b'.');
    }
    for pos in memmem::find_iter(body, b"\n.") {
        out.extend_from_slice(&body[start..=pos]);
        out.push(b'.');
        start = pos + 1;
    }
    out.extend_from_slice(&body[start..]);
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
}

/// A complete reply read from the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamReply {
    /// The reply code.
    pub code: u16,
    /// The enhanced status code of the first line, if it had one.
    pub status: Option<Status>,
    /// Each line's text after the code and separator (status code left in).
    pub lines: Vec<String>,
}

impl UpstreamReply {
    /// 2xx.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The upstream's queue id if its end-of-data reply names one, as Postfix's
    /// `250 2.0.0 Ok: queued as 4BXyz0` and Exim's `250 OK id=1abc-00` do.
    pub fn queue_id(&self) -> Option<&str> {
        let text = self.lines.first()?;
        let after = text
            .find("queued as ")
            .map(|i| &text[i + 10..])
            .or_else(|| text.find("id=").map(|i| &text[i + 3..]))?;
        let id = after
            .split(|c: char| c.is_whitespace() || c == ')')
            .next()?;
        (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())).then_some(id)
    }
}

/// Why the upstream's bytes are not a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReplyError {
    /// A line without a three-digit code, or codes that change mid-reply.
    #[error("malformed reply line from the upstream")]
    Malformed,
    /// A line or a reply past our bounds.
    #[error("reply from the upstream too long")]
    TooLong,
}

/// Incremental reply parser: feed bytes, take complete replies.
#[derive(Debug, Default)]
pub struct ReplyParser {
    buf: Vec<u8>,
    lines: Vec<String>,
    code: Option<u16>,
}

impl ReplyParser {
    /// Adds bytes read from the upstream.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet part of a complete reply. Anything here after a
    /// reply the shell waited for is unsolicited (a response-injection attempt or a
    /// broken upstream).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Drops buffered bytes (after STARTTLS, where the plaintext tail is untrusted).
    pub fn discard(&mut self) {
        self.buf.clear();
        self.lines.clear();
        self.code = None;
    }

    /// The next complete reply, if the buffer holds one.
    pub fn next_reply(&mut self) -> Result<Option<UpstreamReply>, ReplyError> {
        loop {
            let Some(lf) = memchr::memchr(b'\n', &self.buf) else {
                return if self.buf.len() > MAX_REPLY_LINE {
                    Err(ReplyError::TooLong)
                } else {
                    Ok(None)
                };
            };
            if lf > MAX_REPLY_LINE {
                return Err(ReplyError::TooLong);
            }
            let line: Vec<u8> = self.buf.drain(..=lf).collect();
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() < 3
                || !line[..3].iter().all(u8::is_ascii_digit)
                || !matches!(line.get(3), None | Some(b' ' | b'-'))
            {
                return Err(ReplyError::Malformed);
            }
            let code = (line[0] - b'0') as u16 * 100
                + (line[1] - b'0') as u16 * 10
                + (line[2] - b'0') as u16;
            if *self.code.get_or_insert(code) != code {
                return Err(ReplyError::Malformed);
            }
            if self.lines.len() >= MAX_REPLY_LINES {
                return Err(ReplyError::TooLong);
            }
            self.lines
                .push(String::from_utf8_lossy(line.get(4..).unwrap_or_default()).into_owned());
            if line.get(3) != Some(&b'-') {
                let lines = std::mem::take(&mut self.lines);
                self.code = None;
                let status = lines.first().and_then(|l| parse_status(l, code));
                return Ok(Some(UpstreamReply {
                    code,
                    status,
                    lines,
                }));
            }
        }
    }
}

/// Reads an enhanced status code at the start of a reply line, if its class
/// matches the reply code's.
fn parse_status(text: &str, code: u16) -> Option<Status> {
    let word = text.split(' ').next()?;
    let mut parts = word.split('.');
    let class: u8 = parts.next()?.parse().ok()?;
    let subject: u16 = parts.next()?.parse().ok()?;
    let detail: u16 = parts.next()?.parse().ok()?;
    (parts.next().is_none() && u16::from(class) == code / 100 && subject < 1000 && detail < 1000)
        .then_some(Status(class, subject, detail))
}

/// What the upstream's EHLO reply offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// SIZE and its limit (0 = no limit stated).
    pub size: Option<u64>,
    /// 8BITMIME.
    pub eight_bit_mime: bool,
    /// SMTPUTF8.
    pub smtputf8: bool,
    /// CHUNKING.
    pub chunking: bool,
    /// DSN.
    pub dsn: bool,
    /// STARTTLS.
    pub starttls: bool,
    /// ENHANCEDSTATUSCODES.
    pub enhanced_status_codes: bool,
    /// The XFORWARD attributes offered (upper case), empty when not offered.
    pub xforward: Vec<String>,
    /// The XCLIENT attributes offered (upper case), empty when not offered.
    pub xclient: Vec<String>,
}

impl Capabilities {
    /// Reads the EHLO reply's extension lines (all but the first).
    pub fn from_ehlo(reply: &UpstreamReply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => caps.pipelining = true,
                "SIZE" => caps.size = Some(words.next().and_then(|w| w.parse().ok()).unwrap_or(0)),
                "8BITMIME" => caps.eight_bit_mime = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "CHUNKING" => caps.chunking = true,
                "DSN" => caps.dsn = true,
                "STARTTLS" => caps.starttls = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                "XFORWARD" => caps.xforward = words.map(str::to_ascii_uppercase).collect(),
                "XCLIENT" => caps.xclient = words.map(str::to_ascii_uppercase).collect(),
                _ => {}
            }
        }
        caps
    }
}

/// Encodes `value` as RFC 3461 xtext: `+`, `=`, and anything outside `!`..`~`
/// become `+XX`, so no value can end an attribute or a line.
pub fn xtext(value: &str, out: &mut String) {
    for &b in value.as_bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push('+');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

/// Builds the `verb` (XFORWARD or XCLIENT) command lines for `attributes`
/// (name, raw value), keeping only those the upstream offered, each value
/// xtext-encoded, split so no line passes 512 octets. Returns the lines
/// without CRLF.
pub fn attribute_lines(verb: &str, attributes: &[(&str, &str)], offered: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::from(verb);
    for (name, value) in attributes {
        if !offered.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            continue;
        }
        let mut attr = format!(" {name}=");
        xtext(value, &mut attr);
        if line.len() + attr.len() + 2 > MAX_ATTRIBUTE_LINE && line.len() > verb.len() {
            lines.push(std::mem::replace(&mut line, String::from(verb)));
        }
        line.push_str(&attr);
    }
    if line.len() > verb.len() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuff_cases() {
        let mut out = Vec::new();
        dot_stuff(b".a\r\nb\r\n.\r\n..\r\n", &mut out);
        assert_eq!(out, b"..a\r\nb\r\n..\r\n...\r\n");
        let mut out = Vec::new();
        dot_stuff(b"no newline", &mut out);
        assert_eq!(out, b"no newline\r\n");
        let mut out = Vec::new();
        dot_stuff(b"", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn parses_single_and_multi_line_replies_across_feeds() {
        let mut p = ReplyParser::default();
        p.feed(b"250-mx.example Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-XCLIENT ADDR NAME\r\n250-XFORWARD NAME ADDR");
        assert_eq!(p.next_reply(), Ok(None));
        p.feed(b" PROTO HELO\r\n250 8BITMIME\r\n220 next");
        let reply = p.next_reply().unwrap().unwrap();
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines.len(), 6);
        let caps = Capabilities::from_ehlo(&reply);
        assert!(caps.pipelining && caps.eight_bit_mime && !caps.chunking);
        assert_eq!(caps.size, Some(10_240_000));
        assert_eq!(caps.xforward, ["NAME", "ADDR", "PROTO", "HELO"]);
        assert_eq!(caps.xclient, ["ADDR", "NAME"]);
        assert_eq!(p.next_reply(), Ok(None));
        assert_eq!(p.pending(), 8);
    }

    #[test]
    fn reads_status_and_queue_id() {
        let mut p = ReplyParser::default();
        p.feed(b"250 2.0.0 Ok: queued as 4BXyz0K1\r\n");
        let reply = p.next_reply().unwrap().unwrap();
        assert_eq!(reply.status, Some(Status(2, 0, 0)));
        assert_eq!(reply.queue_id(), Some("4BXyz0K1"));
        p.feed(b"550 5.1.1 <u@x>: Recipient address rejected\n");
        let reply = p.next_reply().unwrap().unwrap();
        assert_eq!(reply.status, Some(Status(5, 1, 1)));
        assert_eq!(reply.queue_id(), None);
    }

    #[test]
    fn malformed_and_oversized_replies() {
        let mut p = ReplyParser::default();
        p.feed(b"hello\r\n");
        assert_eq!(p.next_reply(), Err(ReplyError::Malformed));
        let mut p = ReplyParser::default();
        p.feed(b"250-a\r\n550 b\r\n");
        assert_eq!(p.next_reply(), Err(ReplyError::Malformed));
        let mut p = ReplyParser::default();
        p.feed(&vec![b'2'; MAX_REPLY_LINE + 1]);
        assert_eq!(p.next_reply(), Err(ReplyError::TooLong));
    }

    #[test]
    fn xtext_encodes_specials() {
        let mut s = String::new();
        xtext("a+b=c d\r\n\u{e9}", &mut s);
        assert_eq!(s, "a+2Bb+3Dc+20d+0D+0A+C3+A9");
    }

    #[test]
    fn attribute_lines_keep_offered_attributes_and_split() {
        let offered = vec!["NAME".to_string(), "ADDR".to_string(), "HELO".to_string()];
        let lines = attribute_lines(
            "XFORWARD",
            &[
                ("NAME", "[UNAVAILABLE]"),
                ("ADDR", "192.0.2.1"),
                ("PORT", "25"),
            ],
            &offered,
        );
        assert_eq!(lines, ["XFORWARD NAME=[UNAVAILABLE] ADDR=192.0.2.1"]);
        let long_helo = "h".repeat(400);
        let lines = attribute_lines(
            "XCLIENT",
            &[("NAME", &"n".repeat(200)), ("HELO", &long_helo)],
            &offered,
        );
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("XCLIENT NAME=") && lines[1].starts_with("XCLIENT HELO="));
        assert!(lines.iter().all(|l| l.len() <= MAX_ATTRIBUTE_LINE - 2));
    }
}

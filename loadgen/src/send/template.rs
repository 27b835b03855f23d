//! A message rendered once, before the run, in its wire form: CRLF lines,
//! dot-stuffed, without a Message-ID header but with the place where the
//! stamped one goes.
//!
//! Sending a message is then a copy of the part before that place, the
//! Message-ID line, and the rest: no per-message parsing, escaping or
//! allocation, which is what keeps the load generator off the critical path.

use memchr::{memchr_iter, memmem};

/// Characters of a generated body line, before its CRLF: under the 78 that
/// RFC 5322 recommends.
const LINE: usize = 76;

/// The header field name looked for (case-insensitively) and stamped.
const MESSAGE_ID: &[u8] = b"message-id";

/// One message ready to send.
#[derive(Debug)]
pub(crate) struct Template {
    /// The dot-stuffed message without its terminating `.` line; always
    /// ends with CRLF.
    wire: Vec<u8>,
    /// Where `Message-ID: <...>` CRLF goes: the start of a header line.
    insert_at: usize,
}

/// What a generated message says about itself in its header.
#[derive(Debug)]
pub(crate) struct Headers<'a> {
    /// The From: address.
    pub(crate) from: &'a str,
    /// The To: address.
    pub(crate) to: &'a str,
    /// The Date: value (RFC 5322), the same for the whole run.
    pub(crate) date: &'a str,
}

impl Template {
    /// A real message: line endings made CRLF (a bare LF becomes CRLF; a
    /// bare CR is kept, as a server must judge it), every Message-ID header
    /// removed (the stamped one takes the place of the first, or ends the
    /// header section if there was none), then dot-stuffed.
    pub(crate) fn from_message(raw: &[u8]) -> Self {
        let mut text = crlf_lines(raw);
        let header_end = header_end(&text);
        let mut insert_at = None;
        let mut kept = Vec::with_capacity(text.len());
        let mut position = 0;
        while position < header_end {
            let end = field_end(&text, position, header_end);
            if is_message_id(&text[position..end]) {
                insert_at.get_or_insert(kept.len());
            } else {
                kept.extend_from_slice(&text[position..end]);
            }
            position = end;
        }
        let split = insert_at.unwrap_or(kept.len());
        kept.extend_from_slice(&text[header_end..]);
        text = kept;
        // The split is at a line start, so stuffing the halves apart is the
        // same as stuffing the whole.
        let mut wire = dot_stuff(&text[..split]);
        let insert_at = wire.len();
        wire.extend_from_slice(&dot_stuff(&text[split..]));
        Self { wire, insert_at }
    }

    /// A generated message with a plain-text body of exactly `size` bytes
    /// (one more for a size of 1: a body line must end with CRLF).
    pub(crate) fn generated(size: u64, headers: &Headers<'_>) -> Self {
        let head = format!(
            "From: <{}>\r\nTo: <{}>\r\nSubject: ringwall-loadgen test message, {size} bytes\r\nDate: {}\r\n",
            headers.from, headers.to, headers.date
        );
        let rest = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
        let mut wire = Vec::with_capacity(head.len() + rest.len() + size as usize + 2);
        wire.extend_from_slice(head.as_bytes());
        let insert_at = wire.len();
        wire.extend_from_slice(rest.as_bytes());
        push_body(&mut wire, size as usize);
        Self { wire, insert_at }
    }

    /// The wire bytes before the Message-ID line.
    pub(crate) fn head(&self) -> &[u8] {
        &self.wire[..self.insert_at]
    }

    /// The wire bytes after the Message-ID line, ending with CRLF.
    pub(crate) fn tail(&self) -> &[u8] {
        &self.wire[self.insert_at..]
    }
}

/// `raw` with every line ending as CRLF, and a final CRLF if it had none.
pub(crate) fn crlf_lines(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32 + 2);
    let mut start = 0;
    for newline in memchr_iter(b'\n', raw) {
        let line = &raw[start..newline];
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
        start = newline + 1;
    }
    if start < raw.len() {
        out.extend_from_slice(&raw[start..]);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Index of the empty line that ends the header section (or the end of the
/// message if it has none), in CRLF text.
fn header_end(text: &[u8]) -> usize {
    if text.starts_with(b"\r\n") {
        return 0;
    }
    memmem::find(text, b"\r\n\r\n").map_or(text.len(), |at| at + 2)
}

/// End of the header field starting at `start`: past its continuation lines.
fn field_end(text: &[u8], start: usize, header_end: usize) -> usize {
    let mut end = start;
    loop {
        end = memchr::memchr(b'\n', &text[end..header_end]).map_or(header_end, |at| end + at + 1);
        if end >= header_end || !matches!(text[end], b' ' | b'\t') {
            return end;
        }
    }
}

/// Whether a header field is a Message-ID (name, optional blanks, colon).
fn is_message_id(field: &[u8]) -> bool {
    field.len() > MESSAGE_ID.len()
        && field[..MESSAGE_ID.len()].eq_ignore_ascii_case(MESSAGE_ID)
        && field[MESSAGE_ID.len()..]
            .iter()
            .find(|&&b| b != b' ' && b != b'\t')
            == Some(&b':')
}

/// `text` with a dot added before every line that starts with one (RFC 5321
/// 4.5.2); `text` starts at a line start.
pub(crate) fn dot_stuff(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    if text.first() == Some(&b'.') {
        out.push(b'.');
    }
    let mut start = 0;
    for at in memmem::find_iter(text, b"\n.") {
        out.extend_from_slice(&text[start..=at]);
        out.push(b'.');
        start = at + 1;
    }
    out.extend_from_slice(&text[start..]);
    out
}

/// Appends `size` bytes of plain text in CRLF lines of at most [`LINE`]
/// characters.
fn push_body(out: &mut Vec<u8>, size: usize) {
    const WORDS: &[u8] = b"the quick brown fox jumps over the lazy dog while ringwall-loadgen \
        measures how many messages per second a mail server accepts ";
    let mut left = size.max(2);
    let mut line_number = 0usize;
    while left > 0 {
        // A line needs at least its CRLF; never leave a single byte behind.
        let mut take = left.min(LINE + 2);
        if left - take == 1 {
            take -= 1;
        }
        let characters = take - 2;
        let offset = line_number * 7 % WORDS.len();
        out.extend(WORDS.iter().cycle().skip(offset).take(characters));
        out.extend_from_slice(b"\r\n");
        left -= take;
        line_number += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(template: &Template, id: &str) -> String {
        let mut out = template.head().to_vec();
        out.extend_from_slice(format!("Message-ID: {id}\r\n").as_bytes());
        out.extend_from_slice(template.tail());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn replaces_a_folded_message_id_in_place() {
        let raw = b"From: a@x\nMessage-Id:\n  <old@x>\nSubject: s\n\n.dot\nbody\n";
        let template = Template::from_message(raw);
        assert_eq!(
            whole(&template, "<new>"),
            "From: a@x\r\nMessage-ID: <new>\r\nSubject: s\r\n\r\n..dot\r\nbody\r\n"
        );
    }

    #[test]
    fn adds_a_message_id_at_the_end_of_the_header() {
        let template = Template::from_message(b"Subject: s\r\nX-Message-ID: no\r\n\r\nbody");
        assert_eq!(
            whole(&template, "<new>"),
            "Subject: s\r\nX-Message-ID: no\r\nMessage-ID: <new>\r\n\r\nbody\r\n"
        );
        let headerless = Template::from_message(b"\nbody\n");
        assert_eq!(whole(&headerless, "<n>"), "Message-ID: <n>\r\n\r\nbody\r\n");
    }

    #[test]
    fn message_id_in_the_body_is_left_alone() {
        let raw = b"Subject: s\r\n\r\nMessage-ID: <body@x>\r\n";
        let template = Template::from_message(raw);
        assert_eq!(
            whole(&template, "<n>"),
            "Subject: s\r\nMessage-ID: <n>\r\n\r\nMessage-ID: <body@x>\r\n"
        );
    }

    #[test]
    fn every_message_id_header_goes() {
        let raw = b"Message-ID: <1>\r\nA: b\r\nmessage-id : <2>\r\n\r\nx\r\n";
        assert_eq!(
            whole(&Template::from_message(raw), "<n>"),
            "Message-ID: <n>\r\nA: b\r\n\r\nx\r\n"
        );
    }

    #[test]
    fn bare_cr_is_kept_and_crlf_untouched() {
        assert_eq!(crlf_lines(b"a\r\nb\rc\nd"), b"a\r\nb\rc\r\nd\r\n");
    }

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff(b".a\r\nb\r\n..c\r\n"), b"..a\r\nb\r\n...c\r\n");
        assert_eq!(dot_stuff(b"a.b\r\n"), b"a.b\r\n");
    }

    #[test]
    fn generated_bodies_have_the_exact_size() {
        let headers = Headers {
            from: "s@a.test",
            to: "r@b.test",
            date: "Thu, 1 Jan 1970 00:00:00 +0000",
        };
        for size in [0u64, 1, 2, 3, 77, 78, 79, 80, 1024, 20 * 1024] {
            let template = Template::generated(size, &headers);
            let text = whole(&template, "<n>");
            let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
            assert_eq!(body.len() as u64, size.max(2), "size {size}");
            assert!(body.ends_with("\r\n"));
            assert!(body.split("\r\n").all(|line| line.len() <= LINE));
            assert!(!body.contains("\r\n.") && !body.starts_with('.'));
        }
        let text = whole(&Template::generated(100, &headers), "<n>");
        assert!(text.starts_with("From: <s@a.test>\r\nTo: <r@b.test>\r\nSubject: "));
        assert!(text.contains(
            "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\nMessage-ID: <n>\r\nMIME-Version: 1.0\r\n"
        ));
    }
}

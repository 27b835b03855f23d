//! Reading SMTP replies (RFC 5321 4.2): the code, where the reply ends, and
//! the EHLO keywords the client acts on.
//!
//! Pure functions over bytes, so the session's IO shell stays small and the
//! edge cases (multi-line replies, bare LF, garbage) are tested here.

use memchr::memchr;

/// A complete reply at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The three-digit code, 200 to 599.
    pub(crate) code: u16,
    /// Bytes the reply takes, all its lines included.
    pub(crate) len: usize,
}

impl Reply {
    /// A 2xx code.
    pub(crate) fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 421: the server is closing the connection.
    pub(crate) fn is_closing(&self) -> bool {
        self.code == 421
    }
}

/// Why bytes from the server are not a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReplyError {
    /// A line that does not start with a code from 200 to 599 followed by
    /// a space, a dash or the line end.
    #[error("the server sent something that is not an SMTP reply")]
    NotAReply,
    /// A multi-line reply whose lines carry different codes.
    #[error("the server sent a multi-line reply with different codes")]
    MixedCodes,
}

/// The first complete reply in `input`, `None` if more bytes are needed.
pub(crate) fn parse(input: &[u8]) -> Result<Option<Reply>, ReplyError> {
    let mut position = 0;
    let mut code = None;
    while let Some(at) = memchr(b'\n', &input[position..]) {
        let end = position + at + 1;
        let line = trim_eol(&input[position..end]);
        let (line_code, last) = line_code(line)?;
        if *code.get_or_insert(line_code) != line_code {
            return Err(ReplyError::MixedCodes);
        }
        if last {
            return Ok(Some(Reply {
                code: line_code,
                len: end,
            }));
        }
        position = end;
    }
    // Reject garbage before waiting for the rest of a line that cannot
    // become a reply.
    let partial = &input[position..];
    if partial.len() >= 4 {
        line_code(&partial[..4])?;
    }
    Ok(None)
}

/// The code of one reply line and whether it is the reply's last line.
fn line_code(line: &[u8]) -> Result<(u16, bool), ReplyError> {
    let digits = line.get(..3).ok_or(ReplyError::NotAReply)?;
    if !(b'2'..=b'5').contains(&digits[0]) || !digits[1..].iter().all(u8::is_ascii_digit) {
        return Err(ReplyError::NotAReply);
    }
    let code = digits
        .iter()
        .fold(0u16, |code, &d| code * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None | Some(b' ') => Ok((code, true)),
        Some(b'-') => Ok((code, false)),
        Some(_) => Err(ReplyError::NotAReply),
    }
}

/// `line` without its LF or CRLF.
fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// What an EHLO reply offers that changes how the client talks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Extensions {
    /// RFC 2920: commands may be sent in groups.
    pub(crate) pipelining: bool,
    /// RFC 3207: the session can be upgraded to TLS.
    pub(crate) starttls: bool,
}

impl Extensions {
    /// The extensions listed in a complete EHLO reply (its first line is
    /// the server's name, not a keyword).
    pub(crate) fn parse(reply: &[u8]) -> Self {
        let mut extensions = Self::default();
        for line in reply.split(|&b| b == b'\n').skip(1) {
            let text = trim_eol(line).get(4..).unwrap_or_default();
            let keyword = text.split(|&b| b == b' ').next().unwrap_or_default();
            if keyword.eq_ignore_ascii_case(b"PIPELINING") {
                extensions.pipelining = true;
            } else if keyword.eq_ignore_ascii_case(b"STARTTLS") {
                extensions.starttls = true;
            }
        }
        extensions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, len: usize) -> Result<Option<Reply>, ReplyError> {
        Ok(Some(Reply { code, len }))
    }

    #[test]
    fn single_and_multi_line_replies() {
        assert_eq!(parse(b"250 2.0.0 Ok\r\nrest"), reply(250, 14));
        assert_eq!(parse(b"354\r\n"), reply(354, 5));
        assert_eq!(parse(b"220 bare lf\n"), reply(220, 12));
        let ehlo = b"250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n";
        assert_eq!(parse(ehlo), reply(250, ehlo.len()));
        assert_eq!(parse(b"250-mx.test\r\n250-PIPE"), Ok(None));
        assert_eq!(parse(b"25"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
    }

    #[test]
    fn pipelined_replies_come_one_at_a_time() {
        let input = b"250 2.1.0 Ok\r\n550 5.1.1 No\r\n354 Go\r\n";
        let first = parse(input).unwrap().unwrap();
        assert_eq!(first.code, 250);
        let second = parse(&input[first.len..]).unwrap().unwrap();
        assert_eq!(second.code, 550);
        assert!(!second.is_positive());
        let third = parse(&input[first.len + second.len..]).unwrap().unwrap();
        assert_eq!(third, Reply { code: 354, len: 8 });
    }

    #[test]
    fn garbage_is_refused_early() {
        assert_eq!(parse(b"HTTP/1.1 400\r\n"), Err(ReplyError::NotAReply));
        assert_eq!(parse(b"HTTP"), Err(ReplyError::NotAReply));
        assert_eq!(parse(b"250x\r\n"), Err(ReplyError::NotAReply));
        assert_eq!(parse(b"150 no\r\n"), Err(ReplyError::NotAReply));
        assert_eq!(parse(b"250-a\r\n251 b\r\n"), Err(ReplyError::MixedCodes));
        assert!(Reply { code: 421, len: 0 }.is_closing());
    }

    #[test]
    fn ehlo_keywords() {
        let ehlo = b"250-mx.test\r\n250-SIZE 1000\r\n250-pipelining\r\n250 STARTTLS\r\n";
        assert_eq!(
            Extensions::parse(ehlo),
            Extensions {
                pipelining: true,
                starttls: true
            }
        );
        assert_eq!(
            Extensions::parse(b"250 PIPELINING\r\n"),
            Extensions::default()
        );
    }
}

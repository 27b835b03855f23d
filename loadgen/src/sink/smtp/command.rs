//! One SMTP command line, parsed into what the session acts on.
//!
//! Parsing borrows from the read buffer (paths are slices into it), so a
//! command costs no allocation unless the session decides to keep something.

/// A parsed command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// `EHLO name`.
    Ehlo,
    /// `HELO name`.
    Helo,
    /// `XFORWARD attr=value ...`: the proxy passing the real client on.
    Xforward,
    /// `XCLIENT attr=value ...`: the same, Postfix's session-resetting kind.
    Xclient,
    /// `MAIL FROM:<path> [params]`, with the path between the brackets.
    Mail(&'a [u8]),
    /// `RCPT TO:<path> [params]`, with the path between the brackets.
    Rcpt(&'a [u8]),
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]`.
    Bdat {
        /// Octets of message data that follow the command line.
        size: u64,
        /// Whether this chunk ends the message.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
    /// A known verb whose arguments do not parse (501).
    Malformed,
    /// An empty line (500).
    Empty,
    /// A verb the sink does not know (502).
    Unknown,
}

/// Parses one command line, given without its line ending.
pub(crate) fn parse(line: &[u8]) -> Command<'_> {
    let (verb, args) = match line.iter().position(|&b| b == b' ') {
        Some(space) => (&line[..space], trim(&line[space + 1..])),
        None => (line, &[][..]),
    };
    let is = |name: &str| verb.eq_ignore_ascii_case(name.as_bytes());
    if verb.is_empty() {
        Command::Empty
    } else if is("EHLO") {
        needs_argument(args, Command::Ehlo)
    } else if is("HELO") {
        needs_argument(args, Command::Helo)
    } else if is("XFORWARD") {
        needs_argument(args, Command::Xforward)
    } else if is("XCLIENT") {
        needs_argument(args, Command::Xclient)
    } else if is("MAIL") {
        path_after(args, b"FROM:").map_or(Command::Malformed, Command::Mail)
    } else if is("RCPT") {
        path_after(args, b"TO:")
            .filter(|path| !path.is_empty())
            .map_or(Command::Malformed, Command::Rcpt)
    } else if is("DATA") {
        if args.is_empty() {
            Command::Data
        } else {
            Command::Malformed
        }
    } else if is("BDAT") {
        bdat(args)
    } else if is("RSET") {
        Command::Rset
    } else if is("NOOP") {
        Command::Noop
    } else if is("QUIT") {
        Command::Quit
    } else {
        Command::Unknown
    }
}

/// `command` if there is an argument, else `Malformed`.
fn needs_argument(args: &[u8], command: Command<'static>) -> Command<'static> {
    if args.is_empty() {
        Command::Malformed
    } else {
        command
    }
}

/// The path in `FROM:<path> params` (or `TO:`), tolerating spaces after the
/// colon as many clients send them; `None` if the brackets are missing.
fn path_after<'a>(args: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let head = args.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = trim(&args[keyword.len()..]).strip_prefix(b"<")?;
    let close = rest.iter().position(|&b| b == b'>')?;
    Some(&rest[..close])
}

/// `BDAT size [LAST]`.
fn bdat(args: &[u8]) -> Command<'static> {
    let mut words = args.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let size = words
        .next()
        .and_then(|w| std::str::from_utf8(w).ok())
        .and_then(|w| w.parse::<u64>().ok());
    let last = match words.next() {
        None => Some(false),
        Some(word) if word.eq_ignore_ascii_case(b"LAST") => Some(true),
        Some(_) => None,
    };
    match (size, last, words.next()) {
        (Some(size), Some(last), None) => Command::Bdat { size, last },
        _ => Command::Malformed,
    }
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim(bytes: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_envelope_commands() {
        assert_eq!(
            parse(b"MAIL FROM:<a@b.example>"),
            Command::Mail(b"a@b.example")
        );
        assert_eq!(
            parse(b"mail from: <a@b.example> SIZE=10 BODY=8BITMIME"),
            Command::Mail(b"a@b.example")
        );
        assert_eq!(parse(b"MAIL FROM:<>"), Command::Mail(b""));
        assert_eq!(
            parse(b"RCPT TO:<c@d.example>"),
            Command::Rcpt(b"c@d.example")
        );
        assert_eq!(parse(b"RCPT TO:<>"), Command::Malformed);
        assert_eq!(parse(b"MAIL TO:<a@b>"), Command::Malformed);
        assert_eq!(parse(b"MAIL FROM:a@b"), Command::Malformed);
        assert_eq!(parse(b"MAIL"), Command::Malformed);
    }

    #[test]
    fn reads_bdat() {
        assert_eq!(
            parse(b"BDAT 10"),
            Command::Bdat {
                size: 10,
                last: false
            }
        );
        assert_eq!(
            parse(b"bdat 0 last"),
            Command::Bdat {
                size: 0,
                last: true
            }
        );
        assert_eq!(parse(b"BDAT"), Command::Malformed);
        assert_eq!(parse(b"BDAT -1"), Command::Malformed);
        assert_eq!(parse(b"BDAT 1 LAST more"), Command::Malformed);
    }

    #[test]
    fn reads_the_rest() {
        assert_eq!(parse(b"EHLO client.example"), Command::Ehlo);
        assert_eq!(parse(b"EHLO"), Command::Malformed);
        assert_eq!(parse(b"HELO x"), Command::Helo);
        assert_eq!(parse(b"XFORWARD ADDR=192.0.2.1"), Command::Xforward);
        assert_eq!(parse(b"XCLIENT NAME=x"), Command::Xclient);
        assert_eq!(parse(b"DATA"), Command::Data);
        assert_eq!(parse(b"DATA now"), Command::Malformed);
        assert_eq!(parse(b"RSET"), Command::Rset);
        assert_eq!(parse(b"NOOP hi"), Command::Noop);
        assert_eq!(parse(b"quit"), Command::Quit);
        assert_eq!(parse(b""), Command::Empty);
        assert_eq!(parse(b"VRFY x"), Command::Unknown);
    }
}

//! The DATA decoder: finds the end of data and removes dot-stuffing.
//!
//! It works on whatever the socket delivered so far and never buffers the
//! message: content is handed out as slices of the input, skipping only the
//! stuffed dots. The search is for `CRLF.` with `memchr::memmem`, so a chunk
//! with no line that starts with a dot is passed through in one step.
//! End-of-data is exactly `CRLF.CRLF` (or `.CRLF` as the first line).

use std::sync::LazyLock;

use memchr::memmem;

/// A line that starts with a dot: the only place where stuffing or the end
/// of data can be.
static DOT_LINE: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\r\n."));

/// What follows a dot at the start of a line.
enum AfterDot {
    /// `CRLF`: the dot ends the data.
    End,
    /// Anything else: the dot was stuffed and is dropped.
    Stuffed,
    /// Too few bytes yet to tell.
    Unknown,
}

/// Reads `rest`, the bytes after a line-initial dot.
fn after_dot(rest: &[u8]) -> AfterDot {
    match rest {
        [] | [b'\r'] => AfterDot::Unknown,
        [b'\r', b'\n', ..] => AfterDot::End,
        _ => AfterDot::Stuffed,
    }
}

/// Decoder state carried from one read to the next.
#[derive(Debug, Clone)]
pub(crate) struct DotDecoder {
    /// The next input byte starts a line.
    at_line_start: bool,
}

impl DotDecoder {
    /// A decoder positioned at the first line of the data.
    pub(crate) fn new() -> Self {
        Self {
            at_line_start: true,
        }
    }

    /// Decodes as much of `input` as can be decided, handing each run of
    /// message content to `emit`.
    ///
    /// Returns how many input bytes were used and whether the end of data was
    /// reached (the terminator is used, not emitted). Bytes not used (at most
    /// a partial `CRLF.CRLF`) must be offered again with more input.
    pub(crate) fn decode(&mut self, input: &[u8], mut emit: impl FnMut(&[u8])) -> (usize, bool) {
        let mut pos = 0;
        if self.at_line_start {
            match input {
                [] => return (0, false),
                [b'.', rest @ ..] => match after_dot(rest) {
                    AfterDot::End => return (3, true),
                    AfterDot::Unknown => return (0, false),
                    AfterDot::Stuffed => pos = 1,
                },
                _ => {}
            }
            self.at_line_start = false;
        }
        loop {
            let Some(found) = DOT_LINE.find(&input[pos..]) else {
                // Hold back a trailing CR or CRLF: it may begin `CRLF.`.
                let hold = if input.ends_with(b"\r\n") {
                    2
                } else {
                    usize::from(input.ends_with(b"\r"))
                };
                let end = (input.len() - hold).max(pos);
                if end > pos {
                    emit(&input[pos..end]);
                }
                return (end, false);
            };
            let dot = pos + found + 2;
            emit(&input[pos..dot]);
            match after_dot(&input[dot + 1..]) {
                AfterDot::End => return (dot + 3, true),
                AfterDot::Unknown => {
                    self.at_line_start = true;
                    return (dot, false);
                }
                AfterDot::Stuffed => pos = dot + 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` one after another the way a socket would (unused bytes
    /// are offered again with the next piece); returns the decoded message
    /// and the bytes after the end of data.
    fn run(pieces: &[&[u8]]) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut decoder = DotDecoder::new();
        let mut message = Vec::new();
        let mut pending = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            pending.extend_from_slice(piece);
            let (used, done) = decoder.decode(&pending, |s| message.extend_from_slice(s));
            pending.drain(..used);
            if done {
                let mut after = pending;
                for rest in &pieces[i + 1..] {
                    after.extend_from_slice(rest);
                }
                return Some((message, after));
            }
        }
        None
    }

    #[test]
    fn unstuffs_and_stops_at_the_terminator() {
        let (message, after) =
            run(&[b"Subject: x\r\n\r\n..dot\r\nplain\r\n...\r\n.\r\nQUIT\r\n"]).unwrap();
        assert_eq!(message, b"Subject: x\r\n\r\n.dot\r\nplain\r\n..\r\n");
        assert_eq!(after, b"QUIT\r\n");
    }

    #[test]
    fn empty_message() {
        assert_eq!(run(&[b".\r\n"]), Some((Vec::new(), Vec::new())));
    }

    #[test]
    fn stuffed_first_line() {
        let (message, _) = run(&[b".hidden\r\n.\r\n"]).unwrap();
        assert_eq!(message, b"hidden\r\n");
    }

    #[test]
    fn same_result_for_every_split() {
        let wire: &[u8] = b".a\r\nb\r\n..\r\n.c.\r\n\r\n.\r\nNEXT";
        let whole = run(&[wire]).unwrap();
        assert_eq!(whole.0, b"a\r\nb\r\n.\r\nc.\r\n\r\n");
        assert_eq!(whole.1, b"NEXT");
        for one in 0..wire.len() {
            for two in one..wire.len() {
                let pieces = [&wire[..one], &wire[one..two], &wire[two..]];
                assert_eq!(run(&pieces), Some(whole.clone()), "split {one} {two}");
            }
        }
    }

    #[test]
    fn bare_dot_lines_inside_text_are_not_the_end() {
        // A dot that is not at a line start, and LF-only lines, are content.
        let (message, _) = run(&[b"a.\r\nb\n.\nc\r\n.\r\n"]).unwrap();
        assert_eq!(message, b"a.\r\nb\n.\nc\r\n");
    }

    #[test]
    fn waits_for_more() {
        assert_eq!(run(&[b"text\r\n", b".", b"\r"]), None);
    }
}

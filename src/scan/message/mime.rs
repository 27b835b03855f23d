//! The MIME tree, walked within its bounds before anything is decoded.
//!
//! mail-parser builds a tree of its own without bounds: no depth or part
//! limit, and a multipart whose boundary never appears again makes it scan
//! to the end of the message, once per such part, which a crafted message
//! turns quadratic. So the tree is walked here, in one forward pass over the
//! octets, and mail-parser is handed only header sections (and its decoders
//! only leaf bodies): a part's header section is read once, and a body line
//! is looked at only when it starts with `--`, against the boundaries of the
//! enclosing multiparts (at most `mime_depth` of them).
//!
//! Delimiters are recognised as RFC 2046 has them: at the start of a line,
//! `--` and the boundary, then `--` for the close delimiter or only blanks.
//! A delimiter of an outer multipart also ends the inner ones left open.

use memchr::{memchr, memmem};

use super::decode::Encoding;
use super::finding::{Findings, MIME_TOO_DEEP, TOO_MANY_PARTS};
use super::header::{self, Header, PartInfo};
use super::limits::ScanLimits;

/// The longest boundary honoured; RFC 2046 allows 70 octets, and a longer
/// one makes its multipart a text leaf.
const MAX_BOUNDARY: usize = 200;

/// The walked message.
pub(super) struct Tree<'a> {
    /// The message's own header fields, decoded.
    pub headers: Vec<Header>,
    /// The message's header section as kept, as text.
    pub raw_headers: String,
    /// The parts with content, in message order.
    pub leaves: Vec<Leaf<'a>>,
}

/// A part with content: not a multipart, not an enclosed message.
pub(super) struct Leaf<'a> {
    pub info: PartInfo,
    /// The body, still transfer-encoded.
    pub body: &'a [u8],
}

/// Walks `data`, a whole message, recording MIME_TOO_DEEP and
/// TOO_MANY_PARTS as it crosses those bounds.
pub(super) fn walk<'a>(data: &'a [u8], limits: &ScanLimits, findings: &mut Findings) -> Tree<'a> {
    let section = header::split(data, 0, limits, findings, |_| false);
    let parsed = header::parse(&section.text);
    let headers = header::fields(&section.text, &parsed);
    let raw_headers = String::from_utf8_lossy(&section.text).into_owned();
    let info = with_default_type(PartInfo::from_headers(&parsed), false);

    let mut walker = Walker {
        data,
        limits,
        findings,
        stack: Vec::new(),
        leaves: Vec::new(),
        parts: 0,
        stopped: false,
    };
    let mut open = walker.enter(info, section.body_start, 0);
    while !walker.stopped {
        let delimiter = find_delimiter(data, open.start, &walker.stack);
        walker.close(open, delimiter.as_ref());
        let Some(delimiter) = delimiter else { break };
        let depth = walker.stack[delimiter.frame].depth + 1;
        let digest = walker.stack[delimiter.frame].digest;
        walker.stack.truncate(delimiter.frame + 1);
        if delimiter.close {
            walker.stack.pop();
            open = Open {
                region: Region::Skip,
                start: delimiter.next_line,
            };
            continue;
        }
        if !walker.count_part() {
            break;
        }
        let stack = &walker.stack;
        let section = header::split(data, delimiter.next_line, limits, walker.findings, |line| {
            match_delimiter(line, stack).is_some()
        });
        let info = with_default_type(
            PartInfo::from_headers(&header::parse(&section.text)),
            digest,
        );
        open = walker.enter(info, section.body_start, depth);
    }
    Tree {
        headers,
        raw_headers,
        leaves: walker.leaves,
    }
}

/// RFC 2045 and 2046 defaults: text/plain, or message/rfc822 in a digest.
fn with_default_type(mut info: PartInfo, in_digest: bool) -> PartInfo {
    if info.mime_type.is_empty() {
        info.mime_type = if in_digest {
            "message/rfc822"
        } else {
            "text/plain"
        }
        .to_string();
    }
    info
}

/// An enclosing multipart whose delimiters end parts.
struct Frame {
    boundary: Vec<u8>,
    /// The multipart's own depth; its parts are one deeper.
    depth: usize,
    /// multipart/digest: parts default to message/rfc822.
    digest: bool,
}

/// What the octets from `start` to the next delimiter are.
struct Open {
    region: Region,
    start: usize,
}

enum Region {
    /// A leaf's body.
    Leaf(PartInfo),
    /// The preamble of the multipart at this stack index. If the multipart
    /// ends before its first delimiter (its boundary never appears), the
    /// preamble is all it has, and it is scanned as text (`fallback`), as
    /// MUAs show such a message.
    Preamble { frame: usize, fallback: PartInfo },
    /// Nothing to scan: an epilogue, or content past the depth bound.
    Skip,
}

struct Walker<'a, 'l, 'f> {
    data: &'a [u8],
    limits: &'l ScanLimits,
    findings: &'f mut Findings,
    stack: Vec<Frame>,
    leaves: Vec<Leaf<'a>>,
    parts: usize,
    stopped: bool,
}

impl<'a> Walker<'a, '_, '_> {
    /// Counts one more part; past the bound, records TOO_MANY_PARTS and
    /// stops the walk.
    fn count_part(&mut self) -> bool {
        self.parts += 1;
        if self.parts > self.limits.parts {
            self.findings.add(
                TOO_MANY_PARTS,
                format_args!("more than {} MIME parts", self.limits.parts),
            );
            self.stopped = true;
        }
        !self.stopped
    }

    /// Enters an entity at `depth` whose header said `info` and whose body
    /// starts at `body_start`: a multipart opens a frame, an enclosed
    /// message (not transfer-encoded) is entered in turn, anything else is
    /// a leaf.
    fn enter(&mut self, mut info: PartInfo, mut body_start: usize, mut depth: usize) -> Open {
        loop {
            if depth > self.limits.mime_depth {
                self.findings.add(
                    MIME_TOO_DEEP,
                    format_args!("MIME parts nested deeper than {}", self.limits.mime_depth),
                );
                return Open {
                    region: Region::Skip,
                    start: body_start,
                };
            }
            if info.mime_type.starts_with("multipart/") {
                let boundary = info.boundary.take().unwrap_or_default();
                if !boundary.is_empty() && boundary.len() <= MAX_BOUNDARY {
                    self.stack.push(Frame {
                        boundary: boundary.into_bytes(),
                        depth,
                        digest: info.mime_type == "multipart/digest",
                    });
                    info.mime_type = "text/plain".to_string();
                    return Open {
                        region: Region::Preamble {
                            frame: self.stack.len() - 1,
                            fallback: info,
                        },
                        start: body_start,
                    };
                }
                info.mime_type = "text/plain".to_string();
            } else if matches!(info.mime_type.as_str(), "message/rfc822" | "message/global")
                && info.encoding == Encoding::Identity
            {
                if !self.count_part() {
                    return Open {
                        region: Region::Skip,
                        start: body_start,
                    };
                }
                let stack = &self.stack;
                let section =
                    header::split(self.data, body_start, self.limits, self.findings, |line| {
                        match_delimiter(line, stack).is_some()
                    });
                info =
                    with_default_type(PartInfo::from_headers(&header::parse(&section.text)), false);
                body_start = section.body_start;
                depth += 1;
                continue;
            }
            return Open {
                region: Region::Leaf(info),
                start: body_start,
            };
        }
    }

    /// Ends the open region where `delimiter` starts (or at the end of data).
    fn close(&mut self, open: Open, delimiter: Option<&Delimiter>) {
        let end = delimiter.map_or(self.data.len(), |d| d.line_start);
        let mut body = &self.data[open.start.min(end)..end];
        if delimiter.is_some() {
            // The line end before a delimiter belongs to the delimiter.
            body = body.strip_suffix(b"\n").unwrap_or(body);
            body = body.strip_suffix(b"\r").unwrap_or(body);
        }
        match open.region {
            Region::Leaf(info) => self.leaves.push(Leaf { info, body }),
            Region::Preamble { frame, fallback } => {
                if delimiter.is_none_or(|d| d.frame < frame) {
                    self.leaves.push(Leaf {
                        info: fallback,
                        body,
                    });
                }
            }
            Region::Skip => {}
        }
    }
}

/// A delimiter line found in the body.
struct Delimiter {
    line_start: usize,
    /// Where the line after it starts.
    next_line: usize,
    /// The stack index of the multipart it belongs to.
    frame: usize,
    /// A close delimiter (`--boundary--`).
    close: bool,
}

/// The first delimiter of any enclosing multipart at or after `from`, which
/// is at a line start.
fn find_delimiter(data: &[u8], from: usize, stack: &[Frame]) -> Option<Delimiter> {
    if stack.is_empty() || from >= data.len() {
        return None;
    }
    let found = |line_start: usize| {
        let (frame, close) = match_delimiter(&data[line_start..], stack)?;
        let next_line =
            memchr(b'\n', &data[line_start..]).map_or(data.len(), |i| line_start + i + 1);
        Some(Delimiter {
            line_start,
            next_line,
            frame,
            close,
        })
    };
    if let Some(d) = found(from) {
        return Some(d);
    }
    memmem::find_iter(&data[from..], b"\n--").find_map(|i| found(from + i + 1))
}

/// Whether `line` (from a line start onward) is a delimiter of a multipart
/// on the stack, innermost first: its index and whether it closes it.
fn match_delimiter(line: &[u8], stack: &[Frame]) -> Option<(usize, bool)> {
    let rest = line.strip_prefix(b"--")?;
    stack.iter().enumerate().rev().find_map(|(i, frame)| {
        let after = rest.strip_prefix(frame.boundary.as_slice())?;
        if after.starts_with(b"--") {
            return Some((i, true));
        }
        after
            .iter()
            .take_while(|&&b| b != b'\n')
            .all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
            .then_some((i, false))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(data: &[u8], limits: &ScanLimits) -> (Vec<(String, String)>, Vec<&'static str>) {
        let mut findings = Findings::default();
        let tree = walk(data, limits, &mut findings);
        let leaves = tree
            .leaves
            .iter()
            .map(|l| {
                (
                    l.info.mime_type.clone(),
                    String::from_utf8_lossy(l.body).into_owned(),
                )
            })
            .collect();
        (leaves, findings.into_vec().iter().map(|f| f.rule).collect())
    }

    #[test]
    fn a_simple_message_is_one_leaf() {
        let (l, f) = leaves(b"Subject: x\r\n\r\nhello\r\n", &ScanLimits::default());
        assert_eq!(l, [("text/plain".into(), "hello\r\n".into())]);
        assert!(f.is_empty());
    }

    #[test]
    fn nested_multiparts_yield_their_leaves_in_order() {
        let msg = b"Content-Type: multipart/mixed; boundary=outer\n\n\
            preamble\n\
            --outer\n\
            Content-Type: multipart/alternative; boundary=\"inner\"\n\n\
            --inner\n\
            Content-Type: text/plain\n\n\
            plain\n\
            --inner\n\
            Content-Type: text/html\n\n\
            <p>html</p>\n\
            --inner--\n\
            --outer\n\
            Content-Type: application/pdf\n\n\
            %PDF\n\
            --outer--\n\
            epilogue\n";
        let (l, f) = leaves(msg, &ScanLimits::default());
        assert_eq!(
            l,
            [
                ("text/plain".into(), "plain".into()),
                ("text/html".into(), "<p>html</p>".into()),
                ("application/pdf".into(), "%PDF".into()),
            ]
        );
        assert!(f.is_empty());
    }

    #[test]
    fn an_outer_delimiter_ends_inner_parts_left_open() {
        let msg = b"Content-Type: multipart/mixed; boundary=a\n\n\
            --a\nContent-Type: multipart/mixed; boundary=b\n\n\
            --b\n\ninner\n\
            --a\n\nsecond\n--a--\n";
        let (l, _) = leaves(msg, &ScanLimits::default());
        assert_eq!(
            l,
            [
                ("text/plain".into(), "inner".into()),
                ("text/plain".into(), "second".into())
            ]
        );
    }

    #[test]
    fn a_boundary_that_never_appears_leaves_the_body_as_text() {
        let msg = b"Content-Type: multipart/mixed; boundary=zzz\n\nno parts here\n";
        let (l, _) = leaves(msg, &ScanLimits::default());
        assert_eq!(l, [("text/plain".into(), "no parts here\n".into())]);
    }

    #[test]
    fn a_boundary_prefix_is_not_a_delimiter() {
        let msg = b"Content-Type: multipart/mixed; boundary=abc\n\n\
            --abc\n\nx\n--abcdef\ny\n--abc--\n";
        let (l, _) = leaves(msg, &ScanLimits::default());
        assert_eq!(l, [("text/plain".into(), "x\n--abcdef\ny".into())]);
    }

    #[test]
    fn an_enclosed_message_is_entered() {
        let msg = b"Content-Type: multipart/mixed; boundary=a\n\n\
            --a\nContent-Type: message/rfc822\n\n\
            Subject: inner\nContent-Type: text/html\n\n<b>in</b>\n\
            --a--\n";
        let (l, _) = leaves(msg, &ScanLimits::default());
        assert_eq!(l, [("text/html".into(), "<b>in</b>".into())]);
    }

    #[test]
    fn a_part_header_without_empty_line_ends_at_the_delimiter() {
        let msg = b"Content-Type: multipart/mixed; boundary=a\n\n\
            --a\nContent-Type: text/html\n--a\n\nok\n--a--\n";
        let (l, _) = leaves(msg, &ScanLimits::default());
        assert_eq!(
            l,
            [
                ("text/html".into(), "".into()),
                ("text/plain".into(), "ok".into())
            ]
        );
    }

    #[test]
    fn depth_past_the_bound_is_skipped_and_named() {
        let limits = ScanLimits {
            mime_depth: 2,
            ..ScanLimits::default()
        };
        let msg = crate::scan::message::fixtures::nested_mime(5);
        let (l, f) = leaves(&msg, &limits);
        assert!(l.is_empty(), "{l:?}");
        assert_eq!(f, ["MIME_TOO_DEEP"]);
        let (l, f) = leaves(&msg, &ScanLimits::default());
        assert_eq!(l.len(), 1);
        assert!(f.is_empty());
    }

    #[test]
    fn parts_past_the_bound_stop_the_walk() {
        let limits = ScanLimits {
            parts: 10,
            ..ScanLimits::default()
        };
        let msg = crate::scan::message::fixtures::many_parts(50);
        let (l, f) = leaves(&msg, &limits);
        assert_eq!(l.len(), 10);
        assert_eq!(f, ["TOO_MANY_PARTS"]);
    }
}

//! What the session keeps of a message while it streams past.
//!
//! Counting needs only the size; `--record` needs the header section (for
//! the Message-ID); `--dump-dir` needs every byte. Copying only what the run
//! asked for keeps the plain counting sink free of per-message copies.

use memchr::memmem;

/// A header section larger than this is cut: the Message-ID is then
/// reported missing rather than letting a headerless stream grow memory.
const HEADER_LIMIT: usize = 256 * 1024;

/// How much of each message to copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    /// Count only.
    Nothing,
    /// Copy up to the end of the header section.
    Headers,
    /// Copy the whole decoded message.
    Everything,
}

/// A message being received.
#[derive(Debug)]
pub(crate) struct Body {
    /// What is still being copied (`Headers` turns to `Nothing` once the
    /// header section is complete).
    capture: Capture,
    /// The copied bytes.
    bytes: Vec<u8>,
    /// Decoded size so far, copied or not.
    size: u64,
}

impl Body {
    /// An empty message that copies according to `capture`.
    pub(crate) fn new(capture: Capture) -> Self {
        Self {
            capture,
            bytes: Vec::new(),
            size: 0,
        }
    }

    /// Adds decoded message content.
    pub(crate) fn push(&mut self, content: &[u8]) {
        self.size += content.len() as u64;
        match self.capture {
            Capture::Nothing => {}
            Capture::Everything => self.bytes.extend_from_slice(content),
            Capture::Headers => {
                // The blank line may straddle two pushes: search from three
                // bytes before the new content.
                let from = self.bytes.len().saturating_sub(3);
                self.bytes.extend_from_slice(content);
                let ended = self.bytes.starts_with(b"\r\n")
                    || memmem::find(&self.bytes[from..], b"\r\n\r\n").is_some();
                if ended || self.bytes.len() >= HEADER_LIMIT {
                    self.capture = Capture::Nothing;
                }
            }
        }
    }

    /// The decoded size in bytes and the copied bytes.
    pub(crate) fn finish(self) -> (u64, Vec<u8>) {
        (self.size, self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_copies_nothing() {
        let mut body = Body::new(Capture::Nothing);
        body.push(b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(body.finish(), (20, Vec::new()));
    }

    #[test]
    fn headers_stop_at_the_blank_line_even_split() {
        let mut body = Body::new(Capture::Headers);
        body.push(b"A: 1\r\n\r");
        body.push(b"\nbody\r\n");
        body.push(b"more\r\n");
        let (size, bytes) = body.finish();
        assert_eq!(size, 20);
        assert_eq!(bytes, b"A: 1\r\n\r\nbody\r\n");
    }

    #[test]
    fn everything_is_everything() {
        let mut body = Body::new(Capture::Everything);
        body.push(b"A: 1\r\n\r\n");
        body.push(b"body\r\n");
        assert_eq!(body.finish().1, b"A: 1\r\n\r\nbody\r\n");
    }
}

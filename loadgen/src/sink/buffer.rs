//! A connection's read buffer: small while idle, larger only under load.
//!
//! An idle connection should hold a few KiB, not a large buffer per socket.
//! The session consumes data as it goes (DATA is streamed, never buffered
//! whole), so the buffer only needs to hold one command line or one read; it
//! grows when a read fills it completely (more is waiting, so bigger reads
//! save syscalls) up to a cap, or when a single line does not fit.

use futures_lite::{AsyncRead, AsyncReadExt};
use std::io;

/// Starting size: a burst of pipelined commands fits.
const INITIAL: usize = 4 * 1024;

/// Largest size reached by growing for throughput.
const READ_CAP: usize = 64 * 1024;

/// Bytes read from the socket and not yet used by the session.
#[derive(Debug)]
pub(crate) struct InputBuffer {
    /// Storage; `bytes.len()` is the capacity in use.
    bytes: Vec<u8>,
    /// First unused byte.
    start: usize,
    /// End of the bytes read.
    end: usize,
}

impl InputBuffer {
    /// An empty buffer of the initial size.
    pub(crate) fn new() -> Self {
        Self {
            bytes: vec![0; INITIAL],
            start: 0,
            end: 0,
        }
    }

    /// The bytes read and not yet used.
    pub(crate) fn unused(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// Marks `count` more bytes as used.
    pub(crate) fn consume(&mut self, count: usize) {
        self.start += count;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once from `reader` after the unused bytes; returns how many
    /// bytes arrived (0 at end of stream).
    pub(crate) async fn fill<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<usize> {
        if self.end == self.bytes.len() {
            if self.start > 0 {
                self.bytes.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.grow();
            }
        }
        let read = reader.read(&mut self.bytes[self.end..]).await?;
        let filled = self.end + read == self.bytes.len();
        self.end += read;
        if filled && self.bytes.len() < READ_CAP {
            self.grow();
        }
        Ok(read)
    }

    /// Doubles the storage.
    fn grow(&mut self) {
        self.bytes.resize(self.bytes.len() * 2, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use futures_lite::io::Cursor;

    #[test]
    fn grows_under_load_and_keeps_unused_bytes() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut reader = Cursor::new(data.clone());
        let mut buffer = InputBuffer::new();
        let mut seen = Vec::new();
        block_on(async {
            while buffer.fill(&mut reader).await.unwrap() > 0 {
                // Use all but the last 10 bytes, as a session waiting for
                // the rest of a line would.
                let usable = buffer.unused().len().saturating_sub(10);
                seen.extend_from_slice(&buffer.unused()[..usable]);
                buffer.consume(usable);
            }
        });
        seen.extend_from_slice(buffer.unused());
        assert_eq!(seen, data);
        assert!(buffer.bytes.len() <= READ_CAP);
        assert!(buffer.bytes.len() > INITIAL);
    }

    #[test]
    fn a_long_line_makes_room() {
        let data = vec![b'x'; 3 * INITIAL];
        let mut reader = Cursor::new(data);
        let mut buffer = InputBuffer::new();
        block_on(async { while buffer.fill(&mut reader).await.unwrap() > 0 {} });
        assert_eq!(buffer.unused().len(), 3 * INITIAL);
    }
}

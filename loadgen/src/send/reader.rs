//! The session's read side: bytes from the server, handed out one reply at
//! a time, each with the time its last byte was read.
//!
//! Pipelined replies usually arrive together; the time a reply counts as
//! received is that of the read that completed it, so a batch of replies
//! costs one clock read and one system call.

use std::io;
use std::time::Instant;

use futures_lite::{AsyncRead, AsyncReadExt};

use super::reply::{self, Reply, ReplyError};

/// Starting buffer: a long EHLO reply or a batch of pipelined replies.
const INITIAL: usize = 4 * 1024;

/// Longest reply accepted; a server sending more is not speaking SMTP.
const MAX_REPLY: usize = 64 * 1024;

/// Why no reply could be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The socket failed (including a timeout or a refused connect).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The bytes are not a reply.
    #[error("{0}")]
    Protocol(#[from] ReplyError),
    /// A reply longer than [`MAX_REPLY`].
    #[error("a reply longer than 64 KiB")]
    TooLong,
}

/// Bytes read and not yet handed out.
#[derive(Debug)]
pub(crate) struct ReplyReader {
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// When the last read returned.
    read_at: Instant,
}

impl ReplyReader {
    /// An empty reader.
    pub(crate) fn new() -> Self {
        Self {
            buffer: vec![0; INITIAL],
            start: 0,
            end: 0,
            read_at: Instant::now(),
        }
    }

    /// The next reply, reading as needed, with when it was complete. The
    /// reply's bytes stay available through [`last`](Self::last) until the
    /// next call.
    pub(crate) async fn next<R: AsyncRead + Unpin>(
        &mut self,
        stream: &mut R,
    ) -> Result<(Reply, Instant), ReadError> {
        loop {
            if let Some(reply) = reply::parse(&self.buffer[self.start..self.end])? {
                self.start += reply.len;
                return Ok((reply, self.read_at));
            }
            self.make_room()?;
            let read = stream.read(&mut self.buffer[self.end..]).await?;
            self.read_at = Instant::now();
            if read == 0 {
                return Err(ReadError::Closed);
            }
            self.end += read;
        }
    }

    /// The bytes of the reply last returned by [`next`](Self::next), given
    /// its length.
    pub(crate) fn last(&self, reply: &Reply) -> &[u8] {
        &self.buffer[self.start - reply.len..self.start]
    }

    /// Drops the bytes beyond the replies handed out (after STARTTLS's 220
    /// they came unprotected and must not be read: RFC 3207 section 5).
    pub(crate) fn discard(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Makes space after the unread bytes: moves them to the front, or
    /// grows the buffer if they fill it.
    fn make_room(&mut self) -> Result<(), ReadError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end < self.buffer.len() {
            return Ok(());
        }
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        } else if self.buffer.len() < MAX_REPLY {
            self.buffer.resize(self.buffer.len() * 2, 0);
        } else {
            return Err(ReadError::TooLong);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use futures_lite::io::Cursor;

    #[test]
    fn replies_one_at_a_time_then_closed() {
        let mut stream = Cursor::new(b"250-a\r\n250 b\r\n354 go\r\n".to_vec());
        let mut reader = ReplyReader::new();
        block_on(async {
            let (first, _) = reader.next(&mut stream).await.unwrap();
            assert_eq!(first.code, 250);
            assert_eq!(reader.last(&first), b"250-a\r\n250 b\r\n");
            let (second, _) = reader.next(&mut stream).await.unwrap();
            assert_eq!(second.code, 354);
            assert!(matches!(
                reader.next(&mut stream).await,
                Err(ReadError::Closed)
            ));
        });
    }

    #[test]
    fn long_replies_grow_the_buffer_up_to_the_cap() {
        let mut long = Vec::new();
        for _ in 0..200 {
            long.extend_from_slice(b"250-");
            long.extend_from_slice(&[b'x'; 60]);
            long.extend_from_slice(b"\r\n");
        }
        long.extend_from_slice(b"250 end\r\n");
        let mut reader = ReplyReader::new();
        let (reply, _) = block_on(reader.next(&mut Cursor::new(long.clone()))).unwrap();
        assert_eq!(reply.len, long.len());

        let endless = b"250-"
            .iter()
            .chain(&[b'x'; 70_000])
            .copied()
            .collect::<Vec<_>>();
        let mut reader = ReplyReader::new();
        assert!(matches!(
            block_on(reader.next(&mut Cursor::new(endless))),
            Err(ReadError::TooLong)
        ));
    }

    #[test]
    fn extra_bytes_after_a_reply_can_be_dropped() {
        let mut stream = Cursor::new(b"220 ready\r\n250 injected\r\n".to_vec());
        let mut reader = ReplyReader::new();
        block_on(reader.next(&mut stream)).unwrap();
        reader.discard();
        assert!(matches!(
            block_on(reader.next(&mut stream)),
            Err(ReadError::Closed)
        ));
    }
}

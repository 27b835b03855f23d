//! DNS over TCP (RFC 1035 §4.2.2, RFC 7766): one query on a new connection,
//! each message behind its two-octet length.
//!
//! Only answers that came truncated over UDP are asked for this way, rarely
//! enough that connections are not kept open between queries.

use std::io;
use std::net::SocketAddr;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

/// Sends `query` to `server` over a new TCP connection and returns the
/// message that comes back. The caller bounds the time it takes.
pub(super) async fn exchange(server: SocketAddr, query: &[u8]) -> io::Result<Vec<u8>> {
    let length = u16::try_from(query.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "DNS query too long for TCP"))?;
    let mut stream = TcpStream::connect(server).await.map_err(io::Error::from)?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await?;
    let mut prefix = [0; 2];
    stream.read_exact(&mut prefix).await?;
    let mut answer = vec![0; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut answer).await?;
    Ok(answer)
}

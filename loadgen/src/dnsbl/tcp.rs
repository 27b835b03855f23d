//! The emulator's TCP side: length-prefixed queries (RFC 1035 4.2.2), for
//! resolvers that retry a truncated UDP answer.

use std::io;
use std::rc::Rc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};

use super::answer::Transport;
use super::service::Service;

/// Pause after a failed accept (e.g. out of file descriptors) so a
/// persistent error does not spin the core.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Accepts connections forever, one task per connection.
pub(crate) async fn serve(listener: TcpListener, service: Rc<Service>) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                glommio::spawn_local(converse(stream, Rc::clone(&service))).detach();
            }
            Err(error) => {
                eprintln!("ringwall-loadgen dnsbl: cannot accept over TCP: {error}");
                glommio::timer::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Answers the queries of one connection in order until the client closes
/// it; IO errors just end the connection.
async fn converse(mut stream: TcpStream, service: Rc<Service>) {
    let _ = answer_each(&mut stream, &service).await;
}

/// The read-answer loop of [`converse`]. A dropped query (`--loss`) gets no
/// answer and the connection stays open, so the client times out as it
/// would over UDP.
async fn answer_each(stream: &mut TcpStream, service: &Service) -> io::Result<()> {
    let mut prefix = [0; 2];
    loop {
        match stream.read_exact(&mut prefix).await {
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
        let mut query = vec![0; usize::from(u16::from_be_bytes(prefix))];
        stream.read_exact(&mut query).await?;
        let (_, answer) = service.respond(&query, Transport::Tcp);
        let Some(answer) = answer else {
            continue;
        };
        let length = u16::try_from(answer.len())
            .map_err(|_| io::Error::other("answer longer than a TCP message can be"))?;
        if !service.latency.is_zero() {
            glommio::timer::sleep(service.latency).await;
        }
        let mut framed = Vec::with_capacity(answer.len() + 2);
        framed.extend_from_slice(&length.to_be_bytes());
        framed.extend_from_slice(&answer);
        stream.write_all(&framed).await?;
    }
}

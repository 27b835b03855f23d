//! The emulator's UDP side: one socket, one answer per datagram.
//!
//! A delayed answer is sent from its own task, so `--latency` delays each
//! answer without holding up the queries behind it, as a distant server
//! does.

use std::rc::Rc;
use std::time::Duration;

use glommio::net::UdpSocket;

use super::answer::Transport;
use super::service::Service;

/// Largest datagram read: the most a UDP payload can be.
const MAX_DATAGRAM: usize = 65_535;

/// Pause after a failed receive so a persistent error does not spin the core.
const RECEIVE_BACKOFF: Duration = Duration::from_millis(10);

/// Answers datagrams on `socket` forever. Send errors are ignored: a client
/// that went away loses its answer, as on a real network.
pub(crate) async fn serve(socket: UdpSocket, service: Rc<Service>) {
    let socket = Rc::new(socket);
    let mut buffer = vec![0; MAX_DATAGRAM];
    loop {
        let (length, peer) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(error) => {
                eprintln!("ringwall-loadgen dnsbl: cannot receive over UDP: {error}");
                glommio::timer::sleep(RECEIVE_BACKOFF).await;
                continue;
            }
        };
        let (forged, answer) = service.respond(&buffer[..length], Transport::Udp);
        if let Some(forged) = forged {
            let _ = socket.send_to(&forged, peer).await;
        }
        let Some(answer) = answer else {
            continue;
        };
        if service.latency.is_zero() {
            let _ = socket.send_to(&answer, peer).await;
        } else {
            let socket = Rc::clone(&socket);
            let latency = service.latency;
            glommio::spawn_local(async move {
                glommio::timer::sleep(latency).await;
                let _ = socket.send_to(&answer, peer).await;
            })
            .detach();
        }
    }
}

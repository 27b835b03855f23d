//! The benchmark floor: a minimal glommio TCP relay with no SMTP logic.
//!
//! Every client connection gets one upstream connection and bytes are copied both
//! ways. It makes the same socket exchanges per message as the proxy (client side
//! and upstream side) and nothing else, so the proxy's CPU cost per message over
//! this floor's is what SMTP handling, policy and relaying add.
//!
//! Usage: `floor_relay LISTEN_ADDR UPSTREAM_ADDR` (one executor, pinned to the
//! first CPU of the process's affinity mask; run it under `taskset`).

use std::net::SocketAddr;

use futures_lite::FutureExt;
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutorBuilder, Placement};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: floor_relay LISTEN_ADDR UPSTREAM_ADDR");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen.parse().expect("LISTEN_ADDR is ip:port");
    let upstream: SocketAddr = upstream.parse().expect("UPSTREAM_ADDR is ip:port");
    LocalExecutorBuilder::new(Placement::Unbound)
        .name("floor-relay")
        .spawn(move || async move {
            let listener = TcpListener::bind(listen).expect("bind LISTEN_ADDR");
            println!("listening on {}", listener.local_addr().expect("bound"));
            loop {
                let Ok(client) = listener.accept().await else {
                    continue;
                };
                glommio::spawn_local(relay(client, upstream)).detach();
            }
        })
        .expect("executor")
        .join()
        .expect("relay thread");
}

async fn relay(mut client: TcpStream, upstream: SocketAddr) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut up, mut down) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        // Readiness-based reads: dropping the losing read loses no bytes.
        let from_client = async { (true, client.read(&mut up).await) };
        let from_server = async { (false, server.read(&mut down).await) };
        let written = match from_client.or(from_server).await {
            (true, Ok(n)) if n > 0 => server.write_all(&up[..n]).await,
            (false, Ok(n)) if n > 0 => client.write_all(&down[..n]).await,
            _ => return,
        };
        if written.is_err() {
            return;
        }
    }
}

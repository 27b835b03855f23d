//! Listening sockets: one per shard per address, all with SO_REUSEPORT so the
//! kernel spreads connections across shards with no shared accept queue.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use socket2::{Domain, Protocol, Socket, Type};

use super::ServerError;

/// Accept backlog per socket; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 4096;

/// Binds `shards` sockets for every address. Port 0 is resolved by the first
/// socket and reused by the others. Returns, per shard, (bound address, socket).
pub fn bind_all(
    listen: &[SocketAddr],
    shards: usize,
) -> Result<Vec<Vec<(SocketAddr, OwnedFd)>>, ServerError> {
    let mut per_shard: Vec<Vec<(SocketAddr, OwnedFd)>> = (0..shards).map(|_| Vec::new()).collect();
    for &wanted in listen {
        let mut addr = wanted;
        for shard in per_shard.iter_mut() {
            let socket = bind_one(addr).map_err(|source| ServerError::Bind {
                addr: wanted,
                source,
            })?;
            addr = socket
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .unwrap_or(addr);
            shard.push((addr, socket.into()));
        }
    }
    Ok(per_shard)
}

fn bind_one(addr: SocketAddr) -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket)
}

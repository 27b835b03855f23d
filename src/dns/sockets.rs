//! The shard's UDP sockets for DNS queries: one per query in flight, kept
//! idle between queries and replaced after a set number of them.
//!
//! Each socket is bound to the wildcard address of its server's family on
//! port 0, so the kernel picks the source port, at random within
//! `ip_local_port_range` (Linux randomises ephemeral ports). With the random
//! query ID that gives a forger about 31 bits to guess (RFC 5452); replacing
//! a socket after `rotate_after` queries keeps one port from being learnt
//! and aimed at.
//!
//! The sockets are made with socket2, not `glommio::net::UdpSocket::bind`,
//! because that one sets SO_REUSEPORT: Linux then may give a port-0 bind an
//! ephemeral port another SO_REUSEPORT socket of ours already holds, and
//! spread the answers meant for one between both.

use std::cell::RefCell;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{FromRawFd, IntoRawFd};

use glommio::net::UdpSocket;
use socket2::{Domain, Protocol, Socket, Type};

/// A socket lent to one query.
#[derive(Debug)]
pub(super) struct PooledSocket {
    /// The socket.
    socket: UdpSocket,
    /// Whether it is an IPv6 socket.
    v6: bool,
    /// Queries it has carried.
    uses: u32,
}

impl PooledSocket {
    /// The socket.
    pub(super) fn socket(&self) -> &UdpSocket {
        &self.socket
    }
}

/// Idle sockets, reused by the next queries.
#[derive(Debug)]
pub(super) struct SocketPool {
    /// Sockets whose last query got its answer.
    idle: RefCell<Vec<PooledSocket>>,
    /// How many idle sockets are kept.
    keep: usize,
    /// Queries after which a socket is closed.
    rotate_after: u32,
}

impl SocketPool {
    /// An empty pool keeping up to `keep` idle sockets, each for at most
    /// `rotate_after` queries (at least one).
    pub(super) fn new(keep: usize, rotate_after: u32) -> Self {
        Self {
            idle: RefCell::new(Vec::new()),
            keep,
            rotate_after: rotate_after.max(1),
        }
    }

    /// A socket for one query to `server`: an idle one of its address
    /// family, or a new one.
    pub(super) fn take(&self, server: SocketAddr) -> io::Result<PooledSocket> {
        let v6 = server.is_ipv6();
        let reused = {
            let mut idle = self.idle.borrow_mut();
            let found = idle.iter().rposition(|socket| socket.v6 == v6);
            found.map(|index| idle.swap_remove(index))
        };
        let mut socket = match reused {
            Some(socket) => socket,
            None => PooledSocket {
                socket: bind(v6)?,
                v6,
                uses: 0,
            },
        };
        socket.uses += 1;
        Ok(socket)
    }

    /// Takes back a socket whose query got its answer. A socket that has
    /// carried `rotate_after` queries is closed instead (the next one gets a
    /// new port), and so is one more than `keep` idle. A socket whose query
    /// timed out is not given back at all, so a late answer dies with it.
    pub(super) fn put_back(&self, socket: PooledSocket) {
        let mut idle = self.idle.borrow_mut();
        if socket.uses < self.rotate_after && idle.len() < self.keep {
            idle.push(socket);
        }
    }
}

/// A UDP socket on the wildcard address of one family, port chosen by the
/// kernel, without SO_REUSEPORT.
fn bind(v6: bool) -> io::Result<UdpSocket> {
    let (domain, any) = if v6 {
        (Domain::IPV6, SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)))
    } else {
        (Domain::IPV4, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if v6 {
        socket.set_only_v6(true)?;
    }
    socket.bind(&any.into())?;
    // SAFETY: the descriptor is a bound UDP socket we just made and own;
    // glommio takes it over and closes it.
    Ok(unsafe { UdpSocket::from_raw_fd(socket.into_raw_fd()) })
}

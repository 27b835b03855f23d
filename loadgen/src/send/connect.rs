//! Opening a TCP connection from a chosen local address without blocking
//! the executor.
//!
//! glommio's `TcpStream::connect` cannot bind a source address first, so the
//! socket is made here: non-blocking, bound (with `IP_BIND_ADDRESS_NO_PORT`,
//! so the kernel picks the port at connect time and can reuse ports across
//! destinations and from TIME_WAIT), connected (`EINPROGRESS`), and handed to
//! glommio. The handshake then completes in the background: glommio's first
//! read of the server's greeting waits for the socket to become readable,
//! which happens when the greeting arrives or the connect fails (the read
//! then returns the connect error, e.g. `ECONNREFUSED`). SMTP servers speak
//! first, so "connected" and "greeted" are one wait.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

use glommio::net::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};

/// Starts a connection to `server` from `source` (any local address when
/// `None`) and returns the stream, usable at once: reads and writes wait
/// for the handshake.
pub(crate) fn start(server: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(server),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    // Commands are small and each waits for a reply: never hold them back.
    socket.set_tcp_nodelay(true)?;
    if let Some(ip) = source {
        bind_address_no_port(&socket);
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    match socket.connect(&server.into()) {
        Ok(()) => {}
        Err(error) if error.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(error) => return Err(error),
    }
    let fd = OwnedFd::from(socket).into_raw_fd();
    // SAFETY: `fd` is the TCP socket created above; `into_raw_fd` gave up
    // its ownership, which the stream now takes.
    Ok(unsafe { TcpStream::from_raw_fd(fd) })
}

/// Checks that `ip` is a local address a socket can bind to, so a bad
/// `--source-ips` fails at start with a clear error instead of as a stream
/// of failed sessions.
pub(crate) fn check_bindable(ip: IpAddr) -> io::Result<()> {
    let socket = Socket::new(
        Domain::for_address(SocketAddr::new(ip, 0)),
        Type::STREAM,
        None,
    )?;
    bind_address_no_port(&socket);
    socket.bind(&SocketAddr::new(ip, 0).into())
}

/// Sets `IP_BIND_ADDRESS_NO_PORT` (Linux 4.2+), which socket2 does not
/// expose: bind the address now, choose the port at connect time. Best
/// effort: without it, binding still works, with one port range per source
/// address instead of per destination.
fn bind_address_no_port(socket: &Socket) {
    let enable: libc::c_int = 1;
    // SAFETY: a valid socket descriptor, a valid option for IPPROTO_IP, and
    // a pointer to a live c_int of the length passed. The result is ignored
    // on purpose (see above).
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&raw const enable).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_range_is_bindable_and_foreign_addresses_are_not() {
        check_bindable("127.0.0.2".parse().unwrap()).unwrap();
        check_bindable("127.1.2.3".parse().unwrap()).unwrap();
        // TEST-NET-1 (RFC 5737) is never a local address.
        assert!(check_bindable("192.0.2.1".parse().unwrap()).is_err());
    }
}

//! A private haproxy in TCP mode in front of the proxy, as a load balancer
//! runs it: `send-proxy-v2`, connecting from a source address of its own.
//! Stopped when dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, peer};

/// A running haproxy.
pub struct Haproxy {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Haproxy {
    /// Listens on a free loopback port and forwards every connection to
    /// `backend` from `source`, each preceded by a PROXY v2 header.
    pub fn start(backend: SocketAddr, source: IpAddr) -> Haproxy {
        let dir = tempfile::tempdir().expect("temporary directory");
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let config = dir.path().join("haproxy.cfg");
        std::fs::write(
            &config,
            format!(
                "global\n    maxconn 64\n\
                 defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\
                 frontend smtp\n    bind {addr}\n    default_backend ringwall\n\
                 backend ringwall\n    server ringwall {backend} send-proxy-v2 source {source}\n"
            ),
        )
        .expect("haproxy.cfg");
        let child = Command::new(peer("/usr/sbin/haproxy"))
            .args(["-db", "-q", "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        Haproxy {
            child,
            addr,
            _dir: dir,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The `ringwall` binary on its own process, as an operator runs it, with a
//! config file written for the test and its log captured.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{DOMAIN, HOSTNAME, free_port};

/// The binary under test.
pub const RINGWALL: &str = env!("CARGO_BIN_EXE_ringwall");

/// `ringwall run`; killed when dropped.
pub struct Proxy {
    child: Child,
    addr: SocketAddr,
}

impl Proxy {
    /// Starts it on a free loopback port, one shard, relaying [`DOMAIN`] to
    /// `upstream`, with `extra` TOML appended (whole tables, or keys of
    /// `[timeouts]`, the last table written here).
    pub fn start(dir: &Path, upstream: SocketAddr, extra: &str) -> Proxy {
        Self::start_with_server(dir, upstream, "", extra)
    }

    /// As [`Proxy::start`], with `server_keys` added to `[server]`.
    pub fn start_with_server(
        dir: &Path,
        upstream: SocketAddr,
        server_keys: &str,
        extra: &str,
    ) -> Proxy {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let config = dir.join("ringwall.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = [\"{addr}\"]\nhostname = \"{HOSTNAME}\"\nshards = 1\n{server_keys}\
                 [upstream]\naddress = \"{upstream}\"\n[domains]\naccept = [\"{DOMAIN}\"]\n\
                 [timeouts]\nshutdown_grace = \"10s\"\n{extra}"
            ),
        )
        .unwrap();
        let child = Command::new(RINGWALL)
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ringwall runs");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "ringwall did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Proxy { child, addr }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends it a signal.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Waits for the process to end; returns its exit status and its log.
    pub fn wait(mut self) -> (std::process::ExitStatus, String) {
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (self.child.wait().unwrap(), log)
    }

    /// SIGTERM, then its log once it exited cleanly.
    pub fn stop(self) -> String {
        self.signal(libc::SIGTERM);
        let (status, log) = self.wait();
        assert!(status.success(), "exit status {status}; log:\n{log}");
        log
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

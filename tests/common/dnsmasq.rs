//! A private dnsmasq answering a test DNS list zone: a DNS server that is not
//! ringwall's own emulator, so end-to-end triage is checked against an
//! independent implementation of the protocol. Stopped when dropped.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::peer;

/// Ports tried before giving up: a port found free can be taken by another
/// test before dnsmasq binds it.
const PORT_ATTEMPTS: usize = 5;

/// A running dnsmasq.
pub struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Dnsmasq {
    /// Answers on a free loopback port (UDP and TCP) for `zone` alone: each
    /// of `records` (a name under the zone and its address) gets its A
    /// record, every other name under the zone NXDOMAIN, and any other name
    /// REFUSED, since nothing is forwarded anywhere.
    pub fn start(zone: &str, records: &[(&str, Ipv4Addr)]) -> Dnsmasq {
        Dnsmasq::start_zones(&[zone], records, &[])
    }

    /// As [`Dnsmasq::start`] for several zones, with `pointers` (an
    /// address and a host name) as PTR records alone; each of `records`
    /// gets its PTR record too.
    pub fn start_zones(
        zones: &[&str],
        records: &[(&str, Ipv4Addr)],
        pointers: &[(Ipv4Addr, &str)],
    ) -> Dnsmasq {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = dir.path().join("dnsmasq.log");
        for _ in 0..PORT_ATTEMPTS {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_udp_and_tcp_port()));
            let mut command = Command::new(peer("/usr/sbin/dnsmasq"));
            command
                // In the foreground, logging to stderr; --no-daemon also keeps
                // root's user id (no switch to `nobody`) and writes no pid file.
                .args(["--no-daemon", "--log-facility=-", "--pid-file="])
                // Nothing from /etc: no dnsmasq.conf, no hosts, no resolv.conf.
                .args(["--conf-file=/dev/null", "--no-hosts", "--no-resolv"])
                .arg(format!("--port={}", addr.port()))
                .args(["--listen-address=127.0.0.1", "--bind-interfaces"])
                // Names under the zones are answered from the records alone.
                .args(zones.iter().map(|zone| format!("--local=/{zone}/")))
                .args(
                    records
                        .iter()
                        .map(|(name, address)| format!("--host-record={name},{address}")),
                )
                .args(pointers.iter().map(|(address, name)| {
                    let [a, b, c, d] = address.octets();
                    format!("--ptr-record={d}.{c}.{b}.{a}.in-addr.arpa,{name}")
                }))
                // Its messages untranslated, as `wait_listening` reads them.
                .env("LC_ALL", "C")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("dnsmasq log"));
            let mut child = command
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
            if wait_listening(&mut child, addr, &log) {
                return Dnsmasq {
                    child,
                    addr,
                    _dir: dir,
                };
            }
        }
        panic!(
            "dnsmasq found no free port in {PORT_ATTEMPTS} attempts:\n{}",
            read_log(&log)
        );
    }

    /// Where to send queries (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that neither UDP nor TCP holds once this returns.
fn free_udp_and_tcp_port() -> u16 {
    loop {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free UDP port");
        let port = udp.local_addr().expect("bound address").port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
}

/// Waits until dnsmasq accepts TCP on `addr`, which it binds at start
/// together with UDP: true once it does, false when it exited because the
/// port was taken meanwhile. Any other exit fails the test with dnsmasq's
/// own words.
fn wait_listening(child: &mut Child, addr: SocketAddr, log: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("dnsmasq's status") {
            let log = read_log(log);
            assert!(
                log.contains("Address already in use"),
                "dnsmasq exited ({status}):\n{log}"
            );
            return false;
        }
        if std::net::TcpStream::connect(addr).is_ok() {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "dnsmasq did not start listening:\n{}",
            read_log(log)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What dnsmasq wrote to its log so far.
fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

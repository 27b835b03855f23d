//! PROXY protocol behind a real haproxy (`send-proxy-v2`), and the edges: a
//! header from an untrusted address, a trusted peer without a header or too
//! slow with it, and a load balancer's LOCAL health check.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::binary::Proxy;
use common::haproxy::Haproxy;
use common::{BYE, Client, GREETING, Setup, message, queue_id, seconds};
use ringwall_loadgen::sink::{self, SinkConfig};

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The v2 signature, version 2 / LOCAL, AF_UNSPEC, no address block.
const V2_LOCAL: &[u8] = b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";

/// A v2 PROXY header for TCP over IPv4 from `source` to 127.0.0.1:25.
fn v2_proxy(source: SocketAddr) -> Vec<u8> {
    let SocketAddr::V4(source) = source else {
        panic!("IPv4 only")
    };
    let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    header.extend_from_slice(&source.ip().octets());
    header.extend_from_slice(&[127, 0, 0, 1]);
    header.extend_from_slice(&source.port().to_be_bytes());
    header.extend_from_slice(&25u16.to_be_bytes());
    header
}

/// The acceptance test: the client binds 127.0.0.55, haproxy connects to
/// ringwall from 127.0.0.3 with a PROXY v2 header. 127.0.0.55 is in the log
/// line, the XFORWARD ADDR and the Received header; 127.0.0.3 is nowhere.
#[test]
fn haproxy_send_proxy_v2_gives_the_real_client_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    let sink = sink::start(SinkConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        pin: false,
        dump_dir: Some(dump.clone()),
        ..SinkConfig::default()
    })
    .expect("sink starts");
    let proxy = Proxy::start_with_server(
        dir.path(),
        sink.local_addr(),
        "proxy_protocol_from = [\"127.0.0.3/32\"]\n",
        "",
    );
    let haproxy = Haproxy::start(proxy.addr(), loopback(3));

    let mut client = Client::connect_from(loopback(55), haproxy.addr());
    assert_eq!(client.reply(), GREETING);
    client.command("EHLO client.example");
    let id = queue_id(&client.deliver(&["u@example.net"], &message("haproxy", "via haproxy\r\n")));
    assert_eq!(client.command("QUIT"), BYE);

    // Direct from an untrusted address, a PROXY header is refused.
    let mut spoof = Client::connect_from(loopback(77), proxy.addr());
    assert_eq!(spoof.reply(), GREETING);
    assert_eq!(
        spoof.command("PROXY TCP4 192.0.2.9 127.0.0.1 4000 25"),
        "554 5.7.1 PROXY header not accepted from this address\r\n"
    );
    assert_eq!(spoof.command("QUIT"), BYE);

    let log = proxy.stop();
    sink.stop();
    assert_eq!(sink.wait().unwrap().accepted, 1);
    let line = log
        .lines()
        .find(|l| l.contains("ringwall::transaction"))
        .unwrap_or_else(|| panic!("no transaction line:\n{log}"));
    assert!(line.contains(&format!("queue_id={id}")), "{line}");
    assert!(line.contains("client=127.0.0.55"), "{line}");
    assert!(
        !log.contains("127.0.0.3"),
        "the balancer's address leaked:\n{log}"
    );
    let mut envs = Vec::new();
    for entry in std::fs::read_dir(&dump).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(!text.contains("127.0.0.3"), "{}: {text}", path.display());
        if path.extension().is_some_and(|e| e == "env") {
            envs.push(text);
        }
    }
    assert_eq!(envs.len(), 1);
    assert!(envs[0].contains("ADDR=127.0.0.55"), "{}", envs[0]);
}

/// From a trusted address, the header comes before the banner; the session
/// then belongs to the client it names (here: its per-IP limit).
#[test]
fn trusted_peer_header_comes_first_and_names_the_client() {
    let stack = Setup::new()
        .config(|c| {
            c.server.proxy_protocol_from = vec!["127.0.0.3/32".parse().unwrap()];
            c.server.max_connections_per_ip = 1;
        })
        .start();
    let client = SocketAddr::new(loopback(55), 4000);
    let mut first = Client::connect_from(loopback(3), stack.addr());
    first.send(v2_proxy(client));
    assert_eq!(first.reply(), GREETING);
    // A second connection from the balancer for the same client crosses the
    // client's limit; one for another client does not.
    let mut second = Client::connect_from(loopback(3), stack.addr());
    second.send(v2_proxy(client));
    assert_eq!(
        second.reply(),
        "421 4.7.0 Too many connections from your address; try again later\r\n"
    );
    let mut other = Client::connect_from(loopback(3), stack.addr());
    other.send(v2_proxy(SocketAddr::new(loopback(56), 4000)));
    assert_eq!(other.reply(), GREETING);
    // The v1 text form works too, with SMTP in the same packet.
    let mut v1 = Client::connect_from(loopback(3), stack.addr());
    v1.send(b"PROXY TCP4 127.0.0.57 127.0.0.1 4001 25\r\nNOOP\r\n");
    assert_eq!(v1.reply(), GREETING);
    assert_eq!(v1.reply(), "250 2.0.0 Ok\r\n");
}

#[test]
fn trusted_peer_without_a_header_is_dropped_before_the_banner() {
    let stack = Setup::new()
        .config(|c| {
            c.server.proxy_protocol_from = vec!["127.0.0.3/32".parse().unwrap()];
            c.timeouts.proxy_header = seconds(1);
        })
        .start();
    let mut talker = Client::connect_from(loopback(3), stack.addr());
    talker.send(b"EHLO client.example\r\n");
    talker.expect_closed();

    let mut silent = Client::connect_from(loopback(3), stack.addr());
    let started = Instant::now();
    silent.expect_closed();
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A header split across writes is waited for.
    let mut slow = Client::connect_from(loopback(3), stack.addr());
    let header = v2_proxy(SocketAddr::new(loopback(55), 4000));
    slow.send(&header[..7]);
    std::thread::sleep(Duration::from_millis(200));
    slow.send(&header[7..]);
    assert_eq!(slow.reply(), GREETING);
}

/// haproxy's `check-send-proxy` health checks send v2 LOCAL: the session runs
/// as the balancer itself.
#[test]
fn v2_local_health_check_is_answered() {
    let stack = Setup::new()
        .config(|c| c.server.proxy_protocol_from = vec!["127.0.0.3/32".parse().unwrap()])
        .start();
    let mut check = Client::connect_from(loopback(3), stack.addr());
    check.send(V2_LOCAL);
    assert_eq!(check.reply(), GREETING);
    assert_eq!(check.command("QUIT"), BYE);
}

/// A v2 header sent by an untrusted client is never honoured: the binary
/// signature ends in QUIT\n, so the session ends without a transaction.
#[test]
fn v2_header_from_an_untrusted_client_goes_nowhere() {
    let stack = Setup::new().start();
    let mut spoof = Client::connect_from(loopback(77), stack.addr());
    assert_eq!(spoof.reply(), GREETING);
    spoof.send(v2_proxy(SocketAddr::new(loopback(9), 4000)));
    let replies = String::from_utf8_lossy(&spoof.read_to_close()).into_owned();
    assert!(replies.contains("221 2.0.0 Bye\r\n"), "{replies}");
    assert!(!replies.contains("250 2.1.0"), "{replies}");
    assert_eq!(stack.finish().accepted, 0);
}

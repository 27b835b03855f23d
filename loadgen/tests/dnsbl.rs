//! The DNSBL emulator over real loopback sockets, asked the way a resolver
//! asks: std UDP and TCP sockets, messages built and read with hickory.

mod announce;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::process::Stdio;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use ringwall_loadgen::dnsbl::{self, DnsblConfig, RunningDnsbl, SPOOFED_CODE, Tally};

/// How long to wait for an answer that should come.
const PATIENCE: Duration = Duration::from_secs(5);

/// An emulator on a free loopback port with RFC 5782's test entry listed in
/// zen.test, a domain in dbl.test, and `config`'s other settings.
fn start(config: DnsblConfig) -> RunningDnsbl {
    dnsbl::start(DnsblConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        listings: vec![
            "zen.test=2.0.0.127=127.0.0.2".parse().unwrap(),
            "zen.test=2.0.0.127=127.0.0.4".parse().unwrap(),
            "dbl.test=example.com=127.0.1.2".parse().unwrap(),
        ],
        zones: vec!["zen.test:txt=https://zen.test/lookup".parse().unwrap()],
        ..config
    })
    .unwrap()
}

/// A query for `name` of type `kind` with ID `id`, as bytes.
fn query(id: u16, name: &str, kind: RecordType) -> Vec<u8> {
    let mut message = Message::query();
    message.metadata.id = id;
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    message.to_vec().unwrap()
}

/// A UDP socket that waits at most `wait` for each datagram.
fn udp(wait: Duration) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    socket
}

/// The next datagram, parsed; None on timeout.
fn receive(socket: &UdpSocket) -> Option<Message> {
    let mut buffer = [0; 1500];
    let length = socket.recv(&mut buffer).ok()?;
    Some(Message::from_vec(&buffer[..length]).unwrap())
}

/// Asks `name` over UDP and returns the answer.
fn ask(server: SocketAddr, name: &str, kind: RecordType) -> Message {
    let socket = udp(PATIENCE);
    socket.send_to(&query(7, name, kind), server).unwrap();
    let answer = receive(&socket).expect("an answer");
    assert_eq!(answer.metadata.id, 7);
    answer
}

/// Asks `name` over TCP and returns the answer.
fn ask_tcp(server: SocketAddr, name: &str) -> Message {
    let mut stream = TcpStream::connect(server).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let packet = query(8, name, RecordType::A);
    let mut framed = u16::try_from(packet.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(&packet);
    stream.write_all(&framed).unwrap();
    let mut prefix = [0; 2];
    stream.read_exact(&mut prefix).unwrap();
    let mut answer = vec![0; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut answer).unwrap();
    Message::from_vec(&answer).unwrap()
}

/// The addresses in an answer.
fn addresses(answer: &Message) -> Vec<Ipv4Addr> {
    answer
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(address) => Some(address.0),
            _ => None,
        })
        .collect()
}

#[test]
fn listed_not_listed_txt_and_refused_are_answered_and_counted() {
    let dnsbl = start(DnsblConfig::default());
    let server = dnsbl.local_addr();

    let listed = ask(server, "2.0.0.127.zen.test.", RecordType::A);
    assert_eq!(listed.metadata.response_code, ResponseCode::NoError);
    assert_eq!(
        addresses(&listed),
        [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 4)]
    );
    assert_eq!(listed.answers[0].ttl, dnsbl::DEFAULT_TTL);

    let txt = ask(server, "2.0.0.127.zen.test.", RecordType::TXT);
    assert_eq!(
        txt.answers[0].data.to_string(),
        "https://zen.test/lookup".to_string()
    );

    let domain = ask(server, "example.com.dbl.test.", RecordType::A);
    assert_eq!(addresses(&domain), [Ipv4Addr::new(127, 0, 1, 2)]);

    let clean = ask(server, "1.0.0.127.zen.test.", RecordType::A);
    assert_eq!(clean.metadata.response_code, ResponseCode::NXDomain);
    assert!(clean.answers.is_empty());

    let outside = ask(server, "example.org.", RecordType::A);
    assert_eq!(outside.metadata.response_code, ResponseCode::Refused);

    let counts = dnsbl.counts();
    assert_eq!(
        counts.zone("zen.test"),
        Tally {
            queries: 3,
            listed: 2,
            nxdomain: 1,
            ..Tally::default()
        }
    );
    assert_eq!(
        counts.zone("dbl.test"),
        Tally {
            queries: 1,
            listed: 1,
            ..Tally::default()
        }
    );
    assert_eq!((counts.all.queries, counts.all.errors), (5, 1));
    dnsbl.stop();
    assert_eq!(dnsbl.wait().unwrap(), counts);
}

#[test]
fn error_code_zones_answer_everything_with_the_code() {
    let dnsbl = start(DnsblConfig {
        error_codes: vec!["zen.test=127.255.255.254".parse().unwrap()],
        ..DnsblConfig::default()
    });
    for name in ["2.0.0.127.zen.test.", "1.0.0.127.zen.test."] {
        let answer = ask(dnsbl.local_addr(), name, RecordType::A);
        assert_eq!(addresses(&answer), [Ipv4Addr::new(127, 255, 255, 254)]);
    }
    assert_eq!(dnsbl.counts().zone("zen.test").errors, 2);
}

#[test]
fn no_answer_comes_before_the_latency() {
    let latency = Duration::from_millis(200);
    let dnsbl = start(DnsblConfig {
        latency,
        ..DnsblConfig::default()
    });
    // Two queries at once: each waits its own latency, not one after the other.
    let socket = udp(PATIENCE);
    let sent = Instant::now();
    for id in [1, 2] {
        let packet = query(id, "2.0.0.127.zen.test.", RecordType::A);
        socket.send_to(&packet, dnsbl.local_addr()).unwrap();
    }
    let ids: BTreeSet<u16> = (0..2)
        .map(|_| receive(&socket).expect("an answer").metadata.id)
        .collect();
    assert!(sent.elapsed() >= latency);
    assert_eq!(ids, BTreeSet::from([1, 2]));

    let sent = Instant::now();
    let answer = ask_tcp(dnsbl.local_addr(), "2.0.0.127.zen.test.");
    assert!(sent.elapsed() >= latency);
    assert_eq!(addresses(&answer).len(), 2);
}

/// Sends 40 queries at once to an emulator losing half of them with `seed`;
/// returns the IDs answered and the counts.
fn lossy_run(seed: u64) -> (BTreeSet<u16>, Tally) {
    let dnsbl = start(DnsblConfig {
        loss: 0.5,
        seed,
        ..DnsblConfig::default()
    });
    // Answers come at once; the timeout only ends the wait for the last.
    let socket = udp(Duration::from_secs(1));
    for id in 0..40 {
        let packet = query(id, "2.0.0.127.zen.test.", RecordType::A);
        socket.send_to(&packet, dnsbl.local_addr()).unwrap();
    }
    let answered = std::iter::from_fn(|| receive(&socket))
        .map(|answer| answer.metadata.id)
        .collect();
    dnsbl.stop();
    (answered, dnsbl.wait().unwrap().zone("zen.test"))
}

#[test]
fn loss_drops_the_same_queries_for_the_same_seed() {
    let (answered, tally) = lossy_run(3);
    assert_eq!(tally.queries, 40);
    assert_eq!(tally.dropped + tally.listed, 40);
    assert_eq!(answered.len() as u64, tally.listed);
    assert!((8..=32).contains(&answered.len()), "{answered:?}");
    assert_eq!(lossy_run(3).0, answered);
}

#[test]
fn truncated_over_udp_complete_over_tcp() {
    let dnsbl = start(DnsblConfig {
        truncate: true,
        ..DnsblConfig::default()
    });
    let cut = ask(dnsbl.local_addr(), "2.0.0.127.zen.test.", RecordType::A);
    assert!(cut.metadata.truncation);
    assert!(cut.answers.is_empty());
    let full = ask_tcp(dnsbl.local_addr(), "2.0.0.127.zen.test.");
    assert!(!full.metadata.truncation);
    assert_eq!(full.metadata.id, 8);
    assert_eq!(addresses(&full).len(), 2);
    assert_eq!(
        dnsbl.counts().zone("zen.test"),
        Tally {
            queries: 2,
            listed: 1,
            truncated: 1,
            ..Tally::default()
        }
    );
}

#[test]
fn a_forged_answer_with_the_wrong_id_comes_first() {
    let dnsbl = start(DnsblConfig {
        spoof_id: true,
        ..DnsblConfig::default()
    });
    let socket = udp(PATIENCE);
    let packet = query(100, "1.0.0.127.zen.test.", RecordType::A);
    socket.send_to(&packet, dnsbl.local_addr()).unwrap();
    let forged = receive(&socket).expect("the forged answer");
    assert_ne!(forged.metadata.id, 100);
    assert_eq!(addresses(&forged), [SPOOFED_CODE]);
    let real = receive(&socket).expect("the real answer");
    assert_eq!(real.metadata.id, 100);
    assert_eq!(real.metadata.response_code, ResponseCode::NXDomain);
    // Counted once, as what the real answer said.
    assert_eq!(dnsbl.counts().zone("zen.test").nxdomain, 1);
    assert_eq!(dnsbl.counts().all.queries, 1);
}

#[test]
fn the_binary_answers_and_prints_json_counts() {
    let server_proc = announce::start(
        [
            "dnsbl",
            "--listen",
            "127.0.0.1:0",
            "--zone",
            "all.test:rate=1:codes=127.0.0.3",
            "--ttl",
            "60",
            "--json",
        ],
        Stdio::inherit(),
    );
    let server = server_proc.addr;

    let answer = ask(server, "any.name.all.test.", RecordType::A);
    assert_eq!(addresses(&answer), [Ipv4Addr::new(127, 0, 0, 3)]);
    assert_eq!(answer.answers[0].ttl, 60);

    let (status, rest, _) = server_proc.terminate();
    assert!(status.success());
    let counts: serde_json::Value = serde_json::from_str(&rest).unwrap();
    assert_eq!(counts["all"]["queries"], 1);
    assert_eq!(counts["zones"]["all.test"]["listed"], 1);
}

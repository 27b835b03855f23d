//! Exact cases, properties and a differential check against the `ppp` crate
//! for the PROXY protocol parser.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;

use super::proxy::{
    MAX_TLVS, Parsed, ProxyCommand, ProxyError, ProxyHeader, ProxyVersion, Tlv, V1_MAX, V2_MAX,
    looks_like_proxy, parse,
};

const SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

/// A test-only v2 encoder: command, family octet, the address block as given,
/// then TLVs; `crc` adds a correct (or, with `false`, a wrong) CRC32C TLV.
fn v2(
    command: u8,
    family: u8,
    addresses: &[u8],
    tlvs: &[(u8, Vec<u8>)],
    crc: Option<bool>,
) -> Vec<u8> {
    let mut body = addresses.to_vec();
    for (kind, value) in tlvs {
        body.push(*kind);
        body.extend_from_slice(&(value.len() as u16).to_be_bytes());
        body.extend_from_slice(value);
    }
    let crc_at = crc.map(|_| {
        body.extend_from_slice(&[0x03, 0, 4]);
        let at = 16 + body.len();
        body.extend_from_slice(&[0; 4]);
        at
    });
    let mut header = SIGNATURE.to_vec();
    header.push(0x20 | command);
    header.push(family);
    header.extend_from_slice(&(body.len() as u16).to_be_bytes());
    header.extend_from_slice(&body);
    if let (Some(at), Some(good)) = (crc_at, crc) {
        let sum = crc32c::crc32c(&header) ^ u32::from(!good);
        header[at..at + 4].copy_from_slice(&sum.to_be_bytes());
    }
    header
}

fn address_block(source: SocketAddr, destination: SocketAddr) -> (u8, Vec<u8>) {
    let mut block = Vec::new();
    let family = match (source.ip(), destination.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
            0x11
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            block.extend_from_slice(&s.octets());
            block.extend_from_slice(&d.octets());
            0x21
        }
        _ => panic!("one family"),
    };
    block.extend_from_slice(&source.port().to_be_bytes());
    block.extend_from_slice(&destination.port().to_be_bytes());
    (family, block)
}

fn v1(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
    let protocol = if source.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {protocol} {} {} {} {}\r\n",
        source.ip(),
        destination.ip(),
        source.port(),
        destination.port()
    )
    .into_bytes()
}

fn complete(input: &[u8]) -> (ProxyHeader, usize) {
    match parse(input) {
        Ok(Parsed::Complete { header, consumed }) => (header, consumed),
        other => panic!("{other:?} for {input:?}"),
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn v1_forms() {
    let (header, consumed) = complete(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO x\r\n");
    assert_eq!(consumed, 44);
    assert_eq!(header.version, ProxyVersion::V1);
    assert_eq!(header.command, ProxyCommand::Proxy);
    assert_eq!(header.source(), Some(addr("192.0.2.1:56324")));
    assert_eq!(header.addresses.unwrap().1, addr("198.51.100.2:25"));

    let (header, _) = complete(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");
    assert_eq!(header.source(), Some(addr("[2001:db8::1]:1")));

    for unknown in [
        &b"PROXY UNKNOWN\r\n"[..],
        b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n",
    ] {
        let (header, consumed) = complete(unknown);
        assert_eq!(header.command, ProxyCommand::Local);
        assert_eq!(header.source(), None);
        assert_eq!(consumed, unknown.len());
    }
}

#[test]
fn v1_errors() {
    let cases: &[(&[u8], ProxyError)] = &[
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.2 1 25\n",
            ProxyError::V1Syntax("line does not end in CRLF"),
        ),
        (
            b"PROXY TCP4 192.0.2.1  198.51.100.2 1 25\r\n",
            ProxyError::V1Syntax("expected 5 fields separated by single spaces"),
        ),
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n",
            ProxyError::V1Syntax("expected 5 fields separated by single spaces"),
        ),
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.2 1 25 9\r\n",
            ProxyError::V1Syntax("expected 5 fields separated by single spaces"),
        ),
        (
            b"PROXY TCP4 2001:db8::1 198.51.100.2 1 25\r\n",
            ProxyError::V1Syntax("address does not match the protocol"),
        ),
        (
            b"PROXY TCP6 192.0.2.1 2001:db8::2 1 25\r\n",
            ProxyError::V1Syntax("address does not match the protocol"),
        ),
        (
            b"PROXY TCP4 192.0.2.01 198.51.100.2 1 25\r\n",
            ProxyError::V1Syntax("address does not match the protocol"),
        ),
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 25\r\n",
            ProxyError::V1Syntax("bad port"),
        ),
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.2 +1 25\r\n",
            ProxyError::V1Syntax("bad port"),
        ),
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.2 01 25\r\n",
            ProxyError::V1Syntax("bad port"),
        ),
        (
            b"PROXY UDP4 192.0.2.1 198.51.100.2 1 25\r\n",
            ProxyError::V1Syntax("unknown protocol"),
        ),
        (
            b"PROXY UNKNOWNX\r\n",
            ProxyError::V1Syntax("unknown protocol"),
        ),
        (b"PROXY TCP4 \xff\r\n", ProxyError::V1Syntax("not ASCII")),
        (b"EHLO client.example\r\n", ProxyError::NotProxy),
        (b"\r\n\r\nX", ProxyError::NotProxy),
    ];
    for (input, error) in cases {
        assert_eq!(
            parse(input),
            Err(error.clone()),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let long = [b"PROXY UNKNOWN ".as_slice(), &[b'a'; V1_MAX]].concat();
    assert_eq!(parse(&long), Err(ProxyError::V1TooLong));
    assert_eq!(parse(&long[..V1_MAX - 1]), Ok(Parsed::Incomplete));
}

#[test]
fn v2_forms() {
    let (family, block) = address_block(addr("192.0.2.1:56324"), addr("198.51.100.2:25"));
    let header = v2(1, family, &block, &[(0x05, b"id-1".to_vec())], Some(true));
    let mut input = header.clone();
    input.extend_from_slice(b"EHLO x\r\n");
    let (parsed, consumed) = complete(&input);
    assert_eq!(consumed, header.len());
    assert_eq!(parsed.version, ProxyVersion::V2);
    assert_eq!(parsed.source(), Some(addr("192.0.2.1:56324")));
    assert_eq!(parsed.tlv(0x05), Some(&b"id-1"[..]));
    assert_eq!(parsed.tlvs.len(), 2);

    let (family, block) = address_block(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:25"));
    let (parsed, _) = complete(&v2(1, family, &block, &[], None));
    assert_eq!(parsed.source(), Some(addr("[2001:db8::1]:1")));

    // LOCAL: no addresses, whatever the family says; TLVs still read.
    let (parsed, consumed) = complete(&v2(0, 0x00, &[], &[], None));
    assert_eq!(
        (parsed.command, parsed.addresses, consumed),
        (ProxyCommand::Local, None, 16)
    );
    let (family, block) = address_block(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    let (parsed, _) = complete(&v2(0, family, &block, &[(0x04, vec![])], None));
    assert_eq!(parsed.source(), None);
    assert_eq!(
        parsed.tlvs,
        [Tlv {
            kind: 0x04,
            value: vec![]
        }]
    );
    let (parsed, _) = complete(&v2(0, 0x31, &[0; 216], &[], None));
    assert_eq!(parsed.command, ProxyCommand::Local);
}

#[test]
fn v2_errors() {
    let (family, block) = address_block(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    let mut bad_version = v2(1, family, &block, &[], None);
    bad_version[12] = 0x11;
    assert_eq!(parse(&bad_version[..13]), Err(ProxyError::BadVersion(1)));
    let mut bad_command = v2(1, family, &block, &[], None);
    bad_command[12] = 0x22;
    assert_eq!(parse(&bad_command[..13]), Err(ProxyError::BadCommand(2)));
    for family in [0x12, 0x22, 0x31, 0x00, 0x13, 0x41] {
        assert_eq!(
            parse(&v2(1, family, &block, &[], None)),
            Err(ProxyError::BadFamily(family))
        );
    }
    assert_eq!(
        parse(&v2(1, 0x21, &block, &[], None)),
        Err(ProxyError::AddressBlockShort)
    );
    // Too long is decided from the fixed part, before the rest arrives.
    let mut huge = SIGNATURE.to_vec();
    huge.extend_from_slice(&[0x21, 0x11, 0x04, 0x01]);
    assert_eq!(parse(&huge), Err(ProxyError::TooLong { len: 16 + 1025 }));
    let mut overrun = v2(1, family, &block, &[(0x05, b"abc".to_vec())], None);
    let at = overrun.len() - 4;
    overrun[at] = 9;
    assert_eq!(parse(&overrun), Err(ProxyError::TlvOverrun));
    let dangling = v2(
        1,
        family,
        &[block.clone(), vec![0x05, 0]].concat(),
        &[],
        None,
    );
    assert_eq!(parse(&dangling), Err(ProxyError::TlvOverrun));
    let many: Vec<(u8, Vec<u8>)> = (0..=MAX_TLVS).map(|_| (0x04, vec![])).collect();
    assert_eq!(
        parse(&v2(1, family, &block, &many, None)),
        Err(ProxyError::TooManyTlvs)
    );
    assert_eq!(
        parse(&v2(1, family, &block, &[], Some(false))),
        Err(ProxyError::Crc32cMismatch)
    );
    let short_crc = v2(1, family, &block, &[(0x03, vec![1, 2])], None);
    assert_eq!(parse(&short_crc), Err(ProxyError::Crc32cMismatch));
}

#[test]
fn every_strict_prefix_is_incomplete() {
    let (family, block) = address_block(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    let headers = [
        v1(addr("192.0.2.1:1"), addr("192.0.2.2:2")),
        b"PROXY UNKNOWN\r\n".to_vec(),
        v2(1, family, &block, &[(0x01, b"smtp".to_vec())], Some(true)),
        v2(0, 0, &[], &[], None),
    ];
    for header in headers {
        for cut in 0..header.len() {
            assert_eq!(
                parse(&header[..cut]),
                Ok(Parsed::Incomplete),
                "{:?}",
                &header[..cut]
            );
        }
        assert_eq!(complete(&header).1, header.len());
    }
}

#[test]
fn looks_like_proxy_on_prefixes() {
    assert!(looks_like_proxy(b"PROXY TCP4"));
    assert!(looks_like_proxy(b"PRO"));
    assert!(looks_like_proxy(b"\r\n\r\n\0"));
    assert!(!looks_like_proxy(b"EHLO"));
    assert!(!looks_like_proxy(b""));
}

fn any_addresses() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        (
            any::<[u8; 4]>(),
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<u16>()
        )
            .prop_map(|(s, sp, d, dp)| (SocketAddr::from((s, sp)), SocketAddr::from((d, dp)))),
        (
            any::<[u8; 16]>(),
            any::<u16>(),
            any::<[u8; 16]>(),
            any::<u16>()
        )
            .prop_map(|(s, sp, d, dp)| (SocketAddr::from((s, sp)), SocketAddr::from((d, dp)))),
    ]
}

fn any_tlvs() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
    proptest::collection::vec(
        (
            any::<u8>().prop_filter("not CRC", |k| *k != 0x03),
            proptest::collection::vec(any::<u8>(), 0..40),
        ),
        0..MAX_TLVS - 1,
    )
}

proptest! {
    #[test]
    fn v2_round_trips((source, destination) in any_addresses(), tlvs in any_tlvs(), crc in any::<bool>(), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let (family, block) = address_block(source, destination);
        let header = v2(1, family, &block, &tlvs, crc.then_some(true));
        let input = [header.as_slice(), &tail].concat();
        let (parsed, consumed) = complete(&input);
        prop_assert_eq!(consumed, header.len());
        prop_assert_eq!(parsed.addresses, Some((source, destination)));
        let kept: Vec<(u8, Vec<u8>)> = parsed.tlvs.iter().filter(|t| t.kind != 0x03).map(|t| (t.kind, t.value.clone())).collect();
        prop_assert_eq!(kept, tlvs);
    }

    #[test]
    fn v1_round_trips((source, destination) in any_addresses(), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let header = v1(source, destination);
        let input = [header.as_slice(), &tail].concat();
        let (parsed, consumed) = complete(&input);
        prop_assert_eq!(consumed, header.len());
        prop_assert_eq!(parsed.addresses, Some((source, destination)));
    }

    #[test]
    fn arbitrary_input_is_bounded(input in proptest::collection::vec(any::<u8>(), 0..1200)) {
        match parse(&input) {
            Ok(Parsed::Incomplete) => prop_assert!(input.len() < V2_MAX),
            Ok(Parsed::Complete { header, consumed }) => {
                prop_assert!(consumed <= input.len() && consumed <= V2_MAX);
                prop_assert!(header.tlvs.len() <= MAX_TLVS);
                prop_assert_eq!(parse(&input[..consumed]), Ok(Parsed::Complete { header, consumed }));
            }
            Err(_) => {}
        }
    }

    #[test]
    fn split_anywhere_gives_the_same_header((source, destination) in any_addresses(), tlvs in any_tlvs(), cut in any::<prop::sample::Index>()) {
        let (family, block) = address_block(source, destination);
        let header = v2(1, family, &block, &tlvs, None);
        let cut = cut.index(header.len());
        prop_assert_eq!(parse(&header[..cut]), Ok(Parsed::Incomplete));
        prop_assert_eq!(complete(&header).1, header.len());
    }

    /// The `ppp` crate reads the same addresses from the same headers.
    #[test]
    fn agrees_with_ppp((source, destination) in any_addresses(), tlvs in any_tlvs()) {
        let (family, block) = address_block(source, destination);
        let binary = v2(1, family, &block, &tlvs, None);
        let theirs = ppp::v2::Header::try_from(binary.as_slice()).expect("ppp parses v2");
        prop_assert_eq!(ppp_v2_addresses(&theirs.addresses), complete(&binary).0.addresses);
        let text = v1(source, destination);
        let text = std::str::from_utf8(&text).unwrap();
        let theirs = ppp::v1::Header::try_from(text).expect("ppp parses v1");
        prop_assert_eq!(ppp_v1_addresses(&theirs.addresses), complete(text.as_bytes()).0.addresses);
    }
}

fn ppp_v2_addresses(addresses: &ppp::v2::Addresses) -> Option<(SocketAddr, SocketAddr)> {
    match addresses {
        ppp::v2::Addresses::IPv4(a) => Some((
            SocketAddr::from((a.source_address, a.source_port)),
            SocketAddr::from((a.destination_address, a.destination_port)),
        )),
        ppp::v2::Addresses::IPv6(a) => Some((
            SocketAddr::from((a.source_address, a.source_port)),
            SocketAddr::from((a.destination_address, a.destination_port)),
        )),
        _ => None,
    }
}

fn ppp_v1_addresses(addresses: &ppp::v1::Addresses) -> Option<(SocketAddr, SocketAddr)> {
    match addresses {
        ppp::v1::Addresses::Tcp4(a) => Some((
            SocketAddr::from((a.source_address, a.source_port)),
            SocketAddr::from((a.destination_address, a.destination_port)),
        )),
        ppp::v1::Addresses::Tcp6(a) => Some((
            SocketAddr::from((a.source_address, a.source_port)),
            SocketAddr::from((a.destination_address, a.destination_port)),
        )),
        _ => None,
    }
}

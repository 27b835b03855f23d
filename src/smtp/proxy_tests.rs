//! Exact cases (every accept path, every error at the very octet that
//! decides it), properties over generated and mangled headers, and the
//! `ppp` crate as a differential oracle.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;

use super::*;

const SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// The value of the first TLV of type `kind`.
fn tlv_value(header: &ProxyHeader, kind: u8) -> Option<&[u8]> {
    header
        .tlvs
        .iter()
        .find(|t| t.kind == kind)
        .map(|t| t.value.as_slice())
}

fn tlv(kind: u8, value: &[u8]) -> Tlv {
    Tlv {
        kind,
        value: value.to_vec(),
    }
}

/// The test-only v2 encoder: version 2, `command`, `family`, the address
/// block as given, then the TLVs; a CRC32C TLV (type 3, 4 octets) gets
/// the right checksum, or a wrong one with `bad_crc`.
fn v2_wire(command: u8, family: u8, block: &[u8], tlvs: &[Tlv], bad_crc: bool) -> Vec<u8> {
    let mut header = SIGNATURE.to_vec();
    header.push(0x20 | command);
    header.push(family);
    header.extend_from_slice(&[0, 0]);
    header.extend_from_slice(block);
    let mut crcs = Vec::new();
    for t in tlvs {
        header.push(t.kind);
        header.extend_from_slice(&u16::try_from(t.value.len()).unwrap().to_be_bytes());
        if t.kind == 0x03 && t.value.len() == 4 {
            crcs.push(header.len());
        }
        header.extend_from_slice(&t.value);
    }
    let len = u16::try_from(header.len() - 16).unwrap();
    header[14..16].copy_from_slice(&len.to_be_bytes());
    for at in crcs {
        header[at..at + 4].fill(0);
        let sum = crc32c::crc32c(&header) ^ u32::from(bad_crc);
        header[at..at + 4].copy_from_slice(&sum.to_be_bytes());
    }
    header
}

/// The family octet and address block of a TCP connection.
fn tcp_block(source: SocketAddr, destination: SocketAddr) -> (u8, Vec<u8>) {
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

/// The test-only encoder for a header value: v1 as haproxy writes it
/// (LOCAL as "UNKNOWN"), v2 with the addresses' family (LOCAL as UNSPEC
/// without a block). CRC32C TLVs get their checksum.
fn encode(header: &ProxyHeader) -> Vec<u8> {
    match (header.version, header.addresses) {
        (ProxyVersion::V1, Some((source, destination))) => v1_wire(source, destination),
        (ProxyVersion::V1, None) => b"PROXY UNKNOWN\r\n".to_vec(),
        (ProxyVersion::V2, Some((source, destination))) => {
            let (family, block) = tcp_block(source, destination);
            v2_wire(1, family, &block, &header.tlvs, false)
        }
        (ProxyVersion::V2, None) => v2_wire(0, 0x00, &[], &header.tlvs, false),
    }
}

fn v1_wire(source: SocketAddr, destination: SocketAddr) -> Vec<u8> {
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
        other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
    }
}

/// The shortest prefix of `input` that `parse` refuses, with the error;
/// every shorter one must be Incomplete and every longer one (and the
/// whole) must give the same error.
fn decided_at(input: &[u8]) -> (usize, ProxyError) {
    let mut decided = None;
    for end in 0..=input.len() {
        match (parse(&input[..end]), &decided) {
            (Ok(Parsed::Incomplete), None) => {}
            (Err(error), None) => decided = Some((end, error)),
            (Err(error), Some((_, first))) if error == *first => {}
            (other, _) => panic!("{other:?} at {end} after {decided:?}"),
        }
    }
    decided.unwrap_or_else(|| panic!("never refused: {input:?}"))
}

#[test]
fn v1_accepts_tcp4_tcp6_and_unknown() {
    let (header, consumed) = complete(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO x\r\n");
    assert_eq!(consumed, 44);
    assert_eq!(header.version, ProxyVersion::V1);
    assert_eq!(header.command, ProxyCommand::Proxy);
    assert_eq!(
        header.addresses,
        Some((addr("192.0.2.1:56324"), addr("198.51.100.2:25")))
    );
    assert_eq!(header.source(), Some(addr("192.0.2.1:56324")));
    assert!(header.tlvs.is_empty());

    for (line, source) in [
        (
            &b"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n"[..],
            "[2001:db8::1]:1",
        ),
        (b"PROXY TCP6 :: ::1 0 25\r\n", "[::]:0"),
        (
            b"PROXY TCP6 ::FFFF:192.0.2.1 ::1 7 25\r\n",
            "[::ffff:192.0.2.1]:7",
        ),
        (
            b"PROXY TCP6 1:2:3:4:5:6:192.0.2.1 ::1 7 25\r\n",
            "[1:2:3:4:5:6:c000:201]:7",
        ),
        (
            b"PROXY TCP6 0001:0:0:0:0:0:0:abcd ::1 7 25\r\n",
            "[1::abcd]:7",
        ),
        (
            b"PROXY TCP6 1:2:3:4:5:6:7:: ::1 7 25\r\n",
            "[1:2:3:4:5:6:7:0]:7",
        ),
        (b"PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n", "0.0.0.0:0"),
    ] {
        let (header, consumed) = complete(line);
        assert_eq!(
            (header.source(), consumed),
            (Some(addr(source)), line.len())
        );
    }

    for unknown in [
        &b"PROXY UNKNOWN\r\n"[..],
        b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n",
        b"PROXY UNKNOWN anything at all, even \0 and \x7f\r\n",
    ] {
        let (header, consumed) = complete(&[unknown, b"QUIT\r\n"].concat());
        assert_eq!(header.command, ProxyCommand::Local);
        assert_eq!(header.addresses, None);
        assert_eq!(consumed, unknown.len());
    }

    // The specification's longest line still fits.
    let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let longest = format!("PROXY UNKNOWN {full} {full} 65535 65535\r\n");
    assert_eq!(longest.len(), V1_MAX);
    assert_eq!(complete(longest.as_bytes()).1, V1_MAX);
    let tcp6 = format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
    assert_eq!(complete(tcp6.as_bytes()).1, V1_MAX - 3);
}

#[test]
fn v1_errors_are_decided_at_the_octet_that_breaks_the_line() {
    use ProxyError::V1Syntax;
    // Each input ends with the deciding octet.
    let cases: &[(&[u8], ProxyError)] = &[
        (b"X", ProxyError::NotProxy),
        (b"PX", ProxyError::NotProxy),
        (b"PROXY_", ProxyError::NotProxy),
        (b"PROXY X", V1Syntax(PROTOCOL)),
        (b"PROXY TCP5", V1Syntax(PROTOCOL)),
        (b"PROXY t", V1Syntax(PROTOCOL)),
        (b"PROXY UD", V1Syntax(PROTOCOL)),
        (b"PROXY UNKNOWNX", V1Syntax(PROTOCOL)),
        (b"PROXY  ", V1Syntax(PROTOCOL)),
        (b"PROXY TCP\r", V1Syntax(PROTOCOL)),
        (b"PROXY TCP4\r", V1Syntax(FIELDS)),
        (b"PROXY TCP4  ", V1Syntax(FIELDS)),
        (b"PROXY TCP4 192.0.2.1  ", V1Syntax(FIELDS)),
        (b"PROXY TCP4 192.0.2.1\r", V1Syntax(FIELDS)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 1\r", V1Syntax(FIELDS)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 1 25 ", V1Syntax(FIELDS)),
        (b"PROXY TCP4 20:", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 192.0.2.01", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 256", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 1.2.3.4.", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 1..", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 .", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 1.2.3 ", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 1.2.3.4 1.2.3.4x", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 1.", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 12345", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 ::1::", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 :::", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 :1", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 1:2:3:4:5:6:7:8:", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 1:2:3:4:5:6::1.", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 ::1.2.3.4:", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 fe80::1%", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 1:2 ", V1Syntax(ADDRESS)),
        (b"PROXY TCP6 ::1 192.", V1Syntax(ADDRESS)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 +", V1Syntax(PORT)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 -", V1Syntax(PORT)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 01", V1Syntax(PORT)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 65536", V1Syntax(PORT)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 1 0x", V1Syntax(PORT)),
        (b"PROXY TCP4 192.0.2.1 198.51.100.2 1 25\n", V1Syntax(CRLF)),
        (
            b"PROXY TCP4 192.0.2.1 198.51.100.2 1 25\r\r",
            V1Syntax(CRLF),
        ),
        (b"PROXY TCP4 192.0.2.1\n", V1Syntax(CRLF)),
        (b"PROXY UNKNOWN\rX", V1Syntax(CRLF)),
        (b"PROXY UNKNOWN x\n", V1Syntax(CRLF)),
        (b"PROXY TCP4 \xff", V1Syntax(ASCII)),
        (b"PROXY UNKNOWN caf\xc3", V1Syntax(ASCII)),
    ];
    for (input, error) in cases {
        let shown = String::from_utf8_lossy(input);
        assert_eq!(decided_at(input), (input.len(), error.clone()), "{shown}");
        // Decided for good: more octets change nothing.
        let more = [input, &b" 1 2\r\nEHLO x\r\n"[..]].concat();
        assert_eq!(parse(&more), Err(error.clone()), "{shown}");
    }
}

#[test]
fn v1_without_crlf_is_too_long_at_107_octets() {
    let long = [&b"PROXY UNKNOWN "[..], &[b'a'; V1_MAX]].concat();
    assert_eq!(decided_at(&long), (V1_MAX, ProxyError::V1TooLong));
    // A valid beginning, too long to end within the bound.
    let full = "0000:0000:0000:0000:0000:0000:255.255.255.255";
    let line = format!("PROXY TCP6 {full} {full} 65535 65535\r\n");
    assert_eq!(decided_at(line.as_bytes()), (V1_MAX, ProxyError::V1TooLong));
}

#[test]
fn v2_accepts_proxy_local_and_tlvs() {
    // PROXY over TCP/IPv4 with TLVs and a CRC32C, SMTP behind it.
    let (family, block) = tcp_block(addr("192.0.2.1:56324"), addr("198.51.100.2:25"));
    let ssl = [
        0x01, 0, 0, 0, 0, 0x21, 0, 7, b'T', b'L', b'S', b'v', b'1', b'.', b'3',
    ];
    let tlvs = [
        tlv(0x05, b"id-1"),
        tlv(0x20, &ssl),
        tlv(0x03, &[0; 4]),
        tlv(0x04, b""),
    ];
    let header = v2_wire(1, family, &block, &tlvs, false);
    let (parsed, consumed) = complete(&[&header[..], b"EHLO x\r\n"].concat());
    assert_eq!(consumed, header.len());
    assert_eq!(parsed.version, ProxyVersion::V2);
    assert_eq!(parsed.command, ProxyCommand::Proxy);
    assert_eq!(
        parsed.addresses,
        Some((addr("192.0.2.1:56324"), addr("198.51.100.2:25")))
    );
    assert_eq!(tlv_value(&parsed, 0x05), Some(&b"id-1"[..]));
    assert_eq!(tlv_value(&parsed, 0x20), Some(&ssl[..]), "SSL kept raw");
    assert_eq!(tlv_value(&parsed, 0x04), Some(&b""[..]));
    assert_eq!(tlv_value(&parsed, 0x01), None);
    assert_eq!(parsed.tlvs.len(), 4);
    assert_eq!(
        tlv_value(&parsed, 0x03),
        Some(&header[header.len() - 7..header.len() - 3])
    );

    // PROXY over TCP/IPv6.
    let (family, block) = tcp_block(addr("[2001:db8::1]:1"), addr("[2001:db8::2]:25"));
    let (parsed, consumed) = complete(&v2_wire(1, family, &block, &[], false));
    assert_eq!(consumed, 16 + 36);
    assert_eq!(
        parsed.addresses,
        Some((addr("[2001:db8::1]:1"), addr("[2001:db8::2]:25")))
    );

    // LOCAL without addresses, and with addresses of any family, which
    // are skipped; TLVs after them are still read.
    let (parsed, consumed) = complete(&v2_wire(0, 0x00, &[], &[], false));
    assert_eq!(
        (parsed.command, parsed.addresses, parsed.source(), consumed),
        (ProxyCommand::Local, None, None, 16)
    );
    let (family, block) = tcp_block(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    let local = v2_wire(0, family, &block, &[tlv(0x04, b"x")], false);
    let (parsed, consumed) = complete(&[&local[..], b"QUIT\r\n"].concat());
    assert_eq!((parsed.addresses, consumed), (None, local.len()));
    assert_eq!(parsed.tlvs, [tlv(0x04, b"x")]);
    for (family, block) in [
        (0x21, vec![0xee; 36]),
        (0x12, vec![0xee; 12]),
        (0x31, vec![0xee; 216]),
        (0x32, vec![0xee; 216]),
        // Shorter than the family needs: nothing is read from it.
        (0x11, vec![0xee; 5]),
        // An unknown family: what follows is read as TLVs.
        (0x41, vec![]),
    ] {
        let (parsed, consumed) = complete(&v2_wire(0, family, &block, &[], false));
        assert_eq!(
            (parsed.command, parsed.addresses),
            (ProxyCommand::Local, None)
        );
        assert_eq!(consumed, 16 + block.len());
    }

    // Exactly MAX_TLVS, and exactly V2_MAX.
    let many = vec![tlv(0x04, b""); MAX_TLVS];
    assert_eq!(
        complete(&v2_wire(0, 0, &[], &many, false)).0.tlvs.len(),
        MAX_TLVS
    );
    let largest = v2_wire(0, 0, &[], &[tlv(0x04, &[0; V2_MAX - 16 - 3])], false);
    assert_eq!(largest.len(), V2_MAX);
    assert_eq!(complete(&largest).1, V2_MAX);
}

#[test]
fn v2_errors_are_decided_at_the_octet_that_breaks_the_header() {
    let (family, block) = tcp_block(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    let proxy = |tlvs: &[Tlv]| v2_wire(1, family, &block, tlvs, false);
    let with = |mut header: Vec<u8>, at: usize, octet: u8| {
        header[at] = octet;
        header
    };
    let cases: Vec<(Vec<u8>, usize, ProxyError)> = vec![
        (b"\r\n\r\n\0\r\nQUIT\r".to_vec(), 12, ProxyError::NotProxy),
        (b"\r\r".to_vec(), 2, ProxyError::NotProxy),
        (with(proxy(&[]), 12, 0x11), 13, ProxyError::BadVersion(1)),
        (with(proxy(&[]), 12, 0x31), 13, ProxyError::BadVersion(3)),
        (with(proxy(&[]), 12, 0x22), 13, ProxyError::BadCommand(2)),
        (with(proxy(&[]), 12, 0x2f), 13, ProxyError::BadCommand(15)),
        (with(proxy(&[]), 13, 0x12), 14, ProxyError::BadFamily(0x12)),
        (with(proxy(&[]), 13, 0x22), 14, ProxyError::BadFamily(0x22)),
        (with(proxy(&[]), 13, 0x31), 14, ProxyError::BadFamily(0x31)),
        (with(proxy(&[]), 13, 0x32), 14, ProxyError::BadFamily(0x32)),
        (with(proxy(&[]), 13, 0x00), 14, ProxyError::BadFamily(0x00)),
        (with(proxy(&[]), 13, 0x10), 14, ProxyError::BadFamily(0x10)),
        (with(proxy(&[]), 13, 0x41), 14, ProxyError::BadFamily(0x41)),
        // Too long: decided by the fixed part, before the rest arrives.
        (
            [SIGNATURE, &[0x21, 0x11, 0x04, 0x01]].concat(),
            16,
            ProxyError::TooLong { len: V2_MAX + 1 },
        ),
        (
            [SIGNATURE, &[0x20, 0x00, 0xff, 0xff]].concat(),
            16,
            ProxyError::TooLong { len: 16 + 65535 },
        ),
        (
            v2_wire(1, 0x21, &block, &[], false),
            16,
            ProxyError::AddressBlockShort,
        ),
        (
            v2_wire(1, 0x11, &block[..11], &[], false),
            16,
            ProxyError::AddressBlockShort,
        ),
        // A TLV whose length runs past the end: at its low length octet,
        // or at the high one when that is already too much.
        (
            with(proxy(&[tlv(0x05, b"abc")]), 30, 4),
            31,
            ProxyError::TlvOverrun,
        ),
        (
            with(proxy(&[tlv(0x05, b"abc")]), 29, 1),
            30,
            ProxyError::TlvOverrun,
        ),
        // One or two octets left after a TLV: at that TLV's length.
        (
            with(proxy(&[tlv(0x05, b"abcdef")]), 30, 4),
            31,
            ProxyError::TlvOverrun,
        ),
        // ... known from the fixed part alone when the TLV area is that short.
        (
            v2_wire(1, family, &[&block[..], &[0x05, 0]].concat(), &[], false),
            16,
            ProxyError::TlvOverrun,
        ),
        // A 17th TLV: decided once the 16th's length shows it is not last.
        (
            proxy(&vec![tlv(0x04, b""); MAX_TLVS + 1]),
            16 + 12 + MAX_TLVS * 3,
            ProxyError::TooManyTlvs,
        ),
        (
            proxy(&[vec![tlv(0x04, b""); MAX_TLVS], vec![tlv(0x04, &[0; 300])]].concat()),
            16 + 12 + MAX_TLVS * 3 - 1,
            ProxyError::TooManyTlvs,
        ),
        // CRC32C: a wrong sum once the header is whole; a wrong length at
        // the length octet that shows it.
        (
            v2_wire(1, family, &block, &[tlv(0x03, &[0; 4])], true),
            16 + 12 + 7,
            ProxyError::Crc32cMismatch,
        ),
        (
            v2_wire(0, 0, &[], &[tlv(0x03, &[0; 4]), tlv(0x04, b"x")], true),
            16 + 7 + 4,
            ProxyError::Crc32cMismatch,
        ),
        (
            proxy(&[tlv(0x03, &[1, 2])]),
            16 + 12 + 3,
            ProxyError::Crc32cMismatch,
        ),
        (
            proxy(&[tlv(0x03, &[0; 260])]),
            16 + 12 + 2,
            ProxyError::Crc32cMismatch,
        ),
    ];
    for (input, at, error) in cases {
        assert_eq!(decided_at(&input), (at, error.clone()), "{input:?}");
        let more = [&input[..], b"EHLO x\r\n"].concat();
        assert_eq!(parse(&more), Err(error), "{input:?}");
    }
    // With the 16th TLV's high length octet the header can still end
    // with it; the low one decides.
    let sixteen = proxy(
        &[
            vec![tlv(0x04, b""); MAX_TLVS - 1],
            vec![tlv(0x04, &[0; 200])],
        ]
        .concat(),
    );
    assert_eq!(complete(&sixteen).0.tlvs.len(), MAX_TLVS);
}

#[test]
fn every_strict_prefix_is_incomplete_and_smtp_after_is_left_alone() {
    let (family, block) = tcp_block(addr("192.0.2.1:1"), addr("192.0.2.2:2"));
    let headers = [
        v1_wire(addr("192.0.2.1:1"), addr("192.0.2.2:2")),
        v1_wire(addr("[2001:db8::1]:1"), addr("[::ffff:192.0.2.2]:2")),
        b"PROXY UNKNOWN\r\n".to_vec(),
        b"PROXY UNKNOWN what ever\r\n".to_vec(),
        v2_wire(
            1,
            family,
            &block,
            &[tlv(0x01, b"smtp"), tlv(0x03, &[0; 4])],
            false,
        ),
        v2_wire(0, 0, &[], &[], false),
        v2_wire(0, 0x31, &[7; 216], &[tlv(0xea, &[1; 40])], false),
    ];
    for header in headers {
        for cut in 0..header.len() {
            assert_eq!(
                parse(&header[..cut]),
                Ok(Parsed::Incomplete),
                "{cut} of {header:?}"
            );
        }
        let whole = complete(&header);
        assert_eq!(whole.1, header.len());
        let smtp = [&header[..], b"EHLO client.example\r\nMAIL FROM:<>\r\n"].concat();
        assert_eq!(complete(&smtp), whole);
    }
}

/// An address pair of one family.
fn any_endpoints() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        any::<([u8; 4], u16, [u8; 4], u16)>()
            .prop_map(|(s, sp, d, dp)| (SocketAddr::from((s, sp)), SocketAddr::from((d, dp)))),
        any::<([u8; 16], u16, [u8; 16], u16)>()
            .prop_map(|(s, sp, d, dp)| (SocketAddr::from((s, sp)), SocketAddr::from((d, dp)))),
    ]
}

/// TLVs, one of them a CRC32C now and then (at most one: each one's sum
/// covers the others).
fn any_tlvs() -> impl Strategy<Value = Vec<Tlv>> {
    let one = (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40));
    proptest::collection::vec(one, 0..=MAX_TLVS).prop_map(|tlvs| {
        let mut crc = false;
        let mut out = Vec::new();
        for (kind, value) in tlvs {
            out.push(match kind {
                0x03 if !crc => tlv(0x03, &[0; 4]),
                0x03 => tlv(0x04, &value),
                _ => tlv(kind, &value),
            });
            crc |= kind == 0x03;
        }
        out
    })
}

/// A valid header value of either version.
fn any_header() -> impl Strategy<Value = ProxyHeader> {
    (any::<bool>(), any::<bool>(), any_endpoints(), any_tlvs()).prop_map(
        |(v2, proxy, endpoints, tlvs)| ProxyHeader {
            version: if v2 {
                ProxyVersion::V2
            } else {
                ProxyVersion::V1
            },
            command: if proxy {
                ProxyCommand::Proxy
            } else {
                ProxyCommand::Local
            },
            addresses: proxy.then_some(endpoints),
            tlvs: if v2 { tlvs } else { Vec::new() },
        },
    )
}

/// The textual forms std reads for one IPv6 address.
fn ipv6_texts(ip: Ipv6Addr) -> Vec<String> {
    let s = ip.segments();
    let full = s.map(|g| format!("{g:04x}")).join(":");
    let short = s.map(|g| format!("{g:X}")).join(":");
    let o = ip.octets();
    let head: Vec<String> = s[..6].iter().map(|g| format!("{g:x}")).collect();
    let dotted = format!("{}:{}.{}.{}.{}", head.join(":"), o[12], o[13], o[14], o[15]);
    vec![ip.to_string(), full, short, dotted]
}

/// Some octets after which `prefix` (on which `parse` said Incomplete)
/// is a whole v1 header, grown from its last word.
fn finish_v1(prefix: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(prefix).expect("ASCII so far");
    let Some(rest) = text.strip_prefix("PROXY ") else {
        return b"PROXY UNKNOWN\r\n"[prefix.len()..].to_vec();
    };
    if rest.ends_with('\r') {
        return b"\n".to_vec();
    }
    let words: Vec<&str> = rest.split(' ').collect();
    let (protocol, fields) = (words[0], &words[1..]);
    let Some((last, _)) = fields.split_last() else {
        let tails = [
            ("TCP4", " 0.0.0.0 0.0.0.0 0 0\r\n"),
            ("TCP6", " :: :: 0 0\r\n"),
            ("UNKNOWN", "\r\n"),
        ];
        let (word, tail) = tails.iter().find(|(w, _)| w.starts_with(protocol)).unwrap();
        return format!("{}{tail}", &word[protocol.len()..]).into_bytes();
    };
    if protocol == "UNKNOWN" {
        return b"\r\n".to_vec();
    }
    let field = fields.len() - 1;
    let mut out = match (field, protocol) {
        (2.., _) if last.is_empty() => "0".to_string(),
        (2.., _) => String::new(),
        (_, "TCP4") => finish_ipv4(last),
        _ => finish_ipv6(last),
    };
    for next in field + 1..4 {
        out += match (next, protocol) {
            (2.., _) => " 0",
            (_, "TCP4") => " 0.0.0.0",
            _ => " ::",
        };
    }
    (out + "\r\n").into_bytes()
}

fn finish_ipv4(part: &str) -> String {
    let zero = if part.is_empty() || part.ends_with('.') {
        "0"
    } else {
        ""
    };
    zero.to_string() + &".0".repeat(3 - part.matches('.').count())
}

fn finish_ipv6(part: &str) -> String {
    let (_, piece) = part.rsplit_once(':').unwrap_or(("", part));
    if piece.contains('.') {
        return finish_ipv4(piece);
    }
    let mut out = String::new();
    let mut grown = part.to_string();
    if part.is_empty() || part == ":" {
        return "::"[part.len()..].to_string();
    }
    if part.ends_with(':') && !part.ends_with("::") {
        out += "0";
        grown += "0";
    }
    if !grown.contains("::") && grown.split(':').count() < 8 {
        out += "::";
    }
    out
}

/// Some octets after which `prefix` (Incomplete) is a whole v2 header;
/// `None` where the input is Incomplete without a valid ending, which the
/// parser allows on purpose: a length past the bound is judged once the
/// fixed part is whole, a CRC32C once the header is.
fn finish_v2(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut h = prefix.to_vec();
    h.extend_from_slice(&SIGNATURE[h.len().min(12)..]);
    if h.len() < 13 {
        h.push(0x21);
    }
    let proxy = h[12] & 0x0f == 1;
    if h.len() < 14 {
        h.push(if proxy { 0x11 } else { 0x00 });
    }
    let block = match (proxy, h[13]) {
        (true, 0x11) => 12,
        (true, _) => 36,
        (false, family) => [0, 12, 36, 216]
            .get(usize::from(family >> 4))
            .copied()
            .unwrap_or(0),
    };
    if h.len() < 15 {
        h.push(0);
    }
    if h.len() < 16 {
        if 16 + usize::from(h[14]) * 256 > V2_MAX {
            return None;
        }
        h.push(if h[14] == 0 && proxy { block as u8 } else { 0 });
    }
    let len = 16 + usize::from(u16::from_be_bytes([h[14], h[15]]));
    let mut at = 16 + block.min(len - 16);
    h.resize(h.len().max(at), 0);
    while at < len {
        if at == h.len() {
            let value = u16::try_from(len - at - 3).unwrap();
            h.push(0x04);
            h.extend_from_slice(&value.to_be_bytes());
        }
        if h[at] == TLV_CRC32C {
            return None;
        }
        if h.len() == at + 1 {
            h.extend_from_slice(&u16::try_from(len - at - 3).unwrap().to_be_bytes());
        }
        if h.len() == at + 2 {
            let left = len - at - 3 - usize::from(h[at + 1]) * 256;
            h.push(u8::try_from(left).unwrap_or(0));
        }
        at += 3 + usize::from(u16::from_be_bytes([h[at + 1], h[at + 2]]));
        h.resize(h.len().max(at), 0);
    }
    Some(h)
}

/// A generated header, then perhaps cut short, an octet changed, or
/// more octets added: mostly almost-valid input.
fn mangled() -> impl Strategy<Value = Vec<u8>> {
    (
        any_header(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        octet(),
        0..4u8,
        proptest::collection::vec(octet(), 0..8),
    )
        .prop_map(|(header, cut, at, octet, how, tail)| {
            let mut wire = encode(&header);
            match how {
                0 => wire.truncate(cut.index(wire.len() + 1)),
                1 => {
                    let at = at.index(wire.len());
                    wire[at] = octet;
                    wire.truncate(cut.index(wire.len() + 1).max(at + 1));
                }
                2 => {
                    let at = at.index(wire.len());
                    wire.insert(at, octet);
                    wire.truncate(cut.index(wire.len() + 1).max(at + 1));
                }
                _ => wire.extend_from_slice(&tail),
            }
            wire
        })
}

/// A v1 line built from words that are, or almost are, what the grammar
/// wants.
fn near_v1() -> impl Strategy<Value = Vec<u8>> {
    let protocols = vec!["TCP4", "TCP6", "UNKNOWN", "TCP", "UNKNOWN ", "X", ""];
    let words = vec![
        " ", " ", " ", "1", "0", "00", "01", "255", "256", "65535", "65536", ".", ".", ":", ":",
        "::", "ffff", "fffff", "1.2.3.4", "::ffff:", "1.2.3", "\r", "\n", "\r\n", "+", "a", "G",
        "%",
    ];
    (
        prop::sample::select(protocols),
        proptest::collection::vec(prop::sample::select(words), 0..14),
    )
        .prop_map(|(protocol, words)| format!("PROXY {protocol} {}", words.concat()).into_bytes())
}

/// A v2 header with its length, or one TLV's length, a few octets off,
/// or 15 to 17 TLVs, the last one long.
fn near_v2() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        any_endpoints(),
        any_tlvs(),
        0..3u8,
        -4..=4i32,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(proxy, endpoints, mut tlvs, how, delta, which)| {
            if how == 2 {
                tlvs = vec![tlv(0x04, b""); MAX_TLVS - 2 + which.index(3)];
                tlvs.push(tlv(0x04, &[0; 300]));
            }
            let (family, block) = tcp_block(endpoints.0, endpoints.1);
            let mut wire = v2_wire(u8::from(proxy), family, &block, &tlvs, false);
            let nudge = |wire: &mut Vec<u8>, at: usize| {
                let len = i32::from(u16::from_be_bytes([wire[at], wire[at + 1]]));
                let len = u16::try_from((len + delta).max(0)).unwrap();
                wire[at..at + 2].copy_from_slice(&len.to_be_bytes());
            };
            match how {
                0 => nudge(&mut wire, 14),
                1 if !tlvs.is_empty() => {
                    let mut at = 16 + block.len();
                    for t in &tlvs[..which.index(tlvs.len())] {
                        at += 3 + t.value.len();
                    }
                    nudge(&mut wire, at + 1);
                }
                _ => {}
            }
            wire
        })
}

/// The octets the grammar cares about, half of the time.
fn octet() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(
            &b"TCP46UNKOW :.0123456789abcdefABCDEF\r\n+\0\x03\x04\x11\x21\x20"[..]
        ),
    ]
}

/// The invariants on any input: bounded, decided for good, Incomplete
/// only where some ending makes a header.
fn check_any(input: &[u8]) -> Result<(), TestCaseError> {
    check(input, true)
}

/// [`check_any`]; `prefixes`: also that every prefix of an accepted
/// header is Incomplete.
fn check(input: &[u8], prefixes: bool) -> Result<(), TestCaseError> {
    let result = parse(input);
    for more in [&b""[..], b"\r\n", b"\0\0\0\0", b" 1 2\r\n"] {
        let longer = [input, more].concat();
        match &result {
            Ok(Parsed::Incomplete) => {}
            decided => prop_assert_eq!(&parse(&longer), decided),
        }
    }
    match result {
        Ok(Parsed::Incomplete) => {
            prop_assert!(input.len() < V2_MAX);
            let ending = if agrees(input, V1_PREFIX) {
                Some(finish_v1(input))
            } else {
                finish_v2(input).map(|whole| whole[input.len()..].to_vec())
            };
            if let Some(ending) = ending {
                let whole = [input, &ending].concat();
                match parse(&whole) {
                    Ok(Parsed::Complete { consumed, .. }) => {
                        prop_assert_eq!(consumed, whole.len())
                    }
                    Err(ProxyError::V1TooLong) => prop_assert!(whole.len() > V1_MAX),
                    other => {
                        prop_assert!(false, "{:?} ended as {:?}: {:?}", input, whole, other)
                    }
                }
            }
        }
        Ok(Parsed::Complete { header, consumed }) => {
            prop_assert!(consumed <= input.len() && consumed <= V2_MAX);
            prop_assert!(header.tlvs.len() <= MAX_TLVS);
            prop_assert_eq!(
                header.addresses.is_some(),
                header.command == ProxyCommand::Proxy
            );
            for cut in (0..consumed).filter(|_| prefixes) {
                prop_assert_eq!(parse(&input[..cut]), Ok(Parsed::Incomplete));
            }
            prop_assert_eq!(
                parse(&input[..consumed]),
                Ok(Parsed::Complete { header, consumed })
            );
        }
        Err(_) => {}
    }
    Ok(())
}

proptest! {
    /// Encoded and parsed back: the same header, all of it consumed,
    /// nothing of what follows.
    #[test]
    fn round_trips(header in any_header(), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let wire = encode(&header);
        let (parsed, consumed) = complete(&[&wire[..], &tail].concat());
        prop_assert_eq!(consumed, wire.len());
        let mut expected = header;
        for (mine, theirs) in expected.tlvs.iter_mut().zip(&parsed.tlvs) {
            if mine.kind == 0x03 {
                mine.value.clone_from(&theirs.value);
            }
        }
        prop_assert_eq!(parsed, expected);
    }

    /// Every textual IPv6 form std reads is read, and every beginning of
    /// it is a beginning.
    #[test]
    fn v1_reads_every_ipv6_form(ip in any::<[u8; 16]>(), port in any::<u16>()) {
        let ip = Ipv6Addr::from(ip);
        for text in ipv6_texts(ip) {
            let line = format!("PROXY TCP6 {text} ::1 {port} 25\r\n");
            for cut in 0..line.len() {
                prop_assert_eq!(parse(&line.as_bytes()[..cut]), Ok(Parsed::Incomplete), "{}", line);
            }
            prop_assert_eq!(complete(line.as_bytes()).0.source(), Some(SocketAddr::from((ip, port))));
        }
    }

    /// A header split anywhere: the first part is Incomplete, the whole
    /// is the same header.
    #[test]
    fn split_anywhere(header in any_header(), cut in any::<prop::sample::Index>()) {
        let wire = encode(&header);
        let cut = cut.index(wire.len());
        prop_assert_eq!(parse(&wire[..cut]), Ok(Parsed::Incomplete));
        prop_assert_eq!(complete(&wire).1, wire.len());
    }

    /// Arbitrary octets: no panic, and the invariants.
    #[test]
    fn arbitrary_octets(input in proptest::collection::vec(any::<u8>(), 0..1200)) {
        check_any(&input)?;
    }

    /// Octets after either beginning, from the grammar's alphabet.
    #[test]
    fn beginnings_then_noise(start in prop::sample::select(vec![
        &b"PROXY "[..], b"PROXY TCP4 ", b"PROXY TCP6 ", b"PROXY TCP6 ::1 ", b"PROXY TCP4 1.2.3.4 5.6.7.8 ",
        b"PROXY UNKNOWN", SIGNATURE, b"\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x20", b"\r\n\r\n\0\r\nQUIT\n\x20\x00\0\x10",
    ]), noise in proptest::collection::vec(octet(), 0..120)) {
        check_any(&[start, &noise].concat())?;
    }

    /// Valid headers, cut, changed or extended.
    #[test]
    fn mangled_headers(input in mangled()) {
        check_any(&input)?;
    }

    /// Almost-valid v1 lines and v2 headers, and every beginning of
    /// them.
    #[test]
    fn near_misses(v1 in near_v1(), v2 in near_v2()) {
        for input in [v1, v2] {
            for end in 0..=input.len() {
                check(&input[..end], false)?;
            }
        }
    }

    /// `ppp` reads the same headers the same way.
    #[test]
    fn agrees_with_ppp_on_valid_headers(header in any_header(), words in proptest::collection::vec("[a-z0-9:.]{1,8}", 0..4)) {
        let wire = encode(&header);
        match header.version {
            ProxyVersion::V1 => {
                let theirs = ppp::v1::Header::try_from(wire.as_slice()).expect("ppp parses v1");
                prop_assert_eq!(ppp_v1_addresses(&theirs.addresses), header.addresses);
                // UNKNOWN with words after it.
                let unknown = format!("PROXY UNKNOWN {}\r\n", words.join(" "));
                let theirs = ppp::v1::Header::try_from(unknown.as_str()).expect("ppp parses UNKNOWN");
                prop_assert_eq!(&theirs.addresses, &ppp::v1::Addresses::Unknown);
                prop_assert_eq!(complete(unknown.as_bytes()).0.addresses, None);
            }
            ProxyVersion::V2 => {
                let theirs = ppp::v2::Header::try_from(wire.as_slice()).expect("ppp parses v2");
                prop_assert_eq!(theirs.len(), wire.len());
                let command = match theirs.command {
                    ppp::v2::Command::Local => ProxyCommand::Local,
                    ppp::v2::Command::Proxy => ProxyCommand::Proxy,
                };
                prop_assert_eq!(command, header.command);
                // (ppp reads all of an UNSPEC block as addresses, so
                // the TLVs of a LOCAL one are ours alone.)
                if header.command == ProxyCommand::Proxy {
                    prop_assert_eq!(ppp_v2_addresses(&theirs.addresses), header.addresses);
                    let tlvs: Vec<Tlv> = theirs.tlvs().map(|t| {
                        let t = t.expect("ppp reads the TLVs");
                        tlv(t.kind, &t.value)
                    }).collect();
                    prop_assert_eq!(tlvs, complete(&wire).0.tlvs);
                }
            }
        }
    }

    /// On mangled input, whatever we accept `ppp` accepts the same way,
    /// and what `ppp` refuses for its version, command or family we
    /// refuse too.
    #[test]
    fn agrees_with_ppp_on_mangled_headers(input in mangled()) {
        let ours = parse(&input);
        if let Ok(Parsed::Complete { header, consumed }) = &ours {
            let whole = &input[..*consumed];
            match header.version {
                ProxyVersion::V1 => {
                    let theirs = ppp::v1::Header::try_from(whole);
                    if header.command == ProxyCommand::Proxy {
                        let theirs = theirs.expect("ppp parses what we accept");
                        prop_assert_eq!(ppp_v1_addresses(&theirs.addresses), header.addresses);
                    }
                }
                ProxyVersion::V2 => {
                    let theirs = ppp::v2::Header::try_from(whole);
                    if header.command == ProxyCommand::Proxy {
                        let theirs = theirs.expect("ppp parses what we accept");
                        prop_assert_eq!(theirs.len(), *consumed);
                        prop_assert_eq!(ppp_v2_addresses(&theirs.addresses), header.addresses);
                        prop_assert!(theirs.tlvs().all(|t| t.is_ok()));
                    }
                }
            }
        }
        use ppp::v2::ParseError as Theirs;
        let proxy = input.get(12).is_some_and(|v| v & 0x0f == 1);
        let refused = match ppp::v2::Header::try_from(input.as_slice()) {
            Err(Theirs::Version(_) | Theirs::Command(_)) => true,
            Err(Theirs::AddressFamily(_) | Theirs::Protocol(_) | Theirs::InvalidAddresses(..)) => proxy,
            _ => false,
        };
        if refused && agrees(&input, SIGNATURE) {
            prop_assert!(ours.is_err(), "{:?}", ours);
        }
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

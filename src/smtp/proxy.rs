//! The PROXY protocol header (haproxy's proxy-protocol.txt, versions 1 and 2)
//! that a trusted load balancer puts before the SMTP conversation to name the
//! real client.
//!
//! Written by hand rather than taken from the `ppp` crate, which serves only as
//! a differential oracle in the tests. This parser sits on the internet-facing
//! edge, before anything else has looked at the octets, so it must be bounded
//! (never more than [`V2_MAX`] octets looked at, never more than [`MAX_TLVS`]
//! TLVs kept, nothing allocated before a header is whole) and it is fuzzed on
//! its own (`fuzz/fuzz_targets/proxy_header.rs`). And the streaming shell
//! (`server/proxy_header.rs`) needs to know exactly whether to read more or to
//! drop the connection: [`Parsed::Incomplete`] only while every octet so far
//! can still begin an acceptable header, an error at the first octet that
//! cannot. `ppp` answers a v1 line cut inside its addresses with an error, not
//! "partial", and takes a `+` before a port.
//!
//! Two things are judged by length, where the specification states them as
//! lengths: a v1 line without CRLF is refused at its 107th octet
//! ([`ProxyError::V1TooLong`]), and a v2 length past [`V2_MAX`] as soon as the
//! 16-octet fixed part holding it is in ([`ProxyError::TooLong`]). The v2
//! CRC32C covers the whole header, so it is checked once the whole header is
//! there; a CRC32C TLV's own length is checked with its type and length.
//!
//! Pure: octets in, a header out; no socket, no clock.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Longest v1 header: 107 octets including the CRLF (the specification's
/// bound: "UNKNOWN" followed by two full-length IPv6 addresses and ports).
/// Past it without a CRLF the peer is not speaking v1.
pub const V1_MAX: usize = 107;

/// Largest v2 header accepted: the 16-octet fixed part and up to 1024 octets of
/// addresses and TLVs. The format allows 64 KiB, which an unauthenticated peer
/// could otherwise make us hold per connection before a single SMTP octet;
/// haproxy's usual TLVs (ALPN, authority, unique id, the SSL details with the
/// client certificate's CN, CRC32C) and the cloud balancers' endpoint ids fit
/// in a few hundred. The shell's read buffer is exactly this large.
pub const V2_MAX: usize = 16 + 1024;

/// Most TLVs kept from one v2 header, so that a header of many empty TLVs
/// costs a bounded number of allocations (more is refused, not truncated).
pub const MAX_TLVS: usize = 16;

/// The 12-octet v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The v2 fixed part: signature, version and command, family and transport,
/// length.
const V2_FIXED: usize = 16;

/// The v1 prefix.
const V1_PREFIX: &[u8; 6] = b"PROXY ";

/// PP2_TYPE_CRC32C, whose value is the checksum of the whole header.
const TLV_CRC32C: u8 = 0x03;

/// The length of a PP2_TYPE_CRC32C value.
const CRC32C_LEN: u8 = 4;

/// Which version of the protocol a header used (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyVersion {
    /// The text form.
    V1,
    /// The binary form.
    V2,
}

/// What the header asks of us: whether it names a client at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyCommand {
    /// The connection is the balancer's own (v2 LOCAL, a health check; or v1
    /// UNKNOWN): use the real peer address.
    Local,
    /// The connection is relayed for the client the header names.
    Proxy,
}

/// One v2 type-length-value record, kept raw (PP2_TYPE_SSL's sub-TLVs too):
/// nothing in ringwall acts on one yet, and the log may show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// PP2_TYPE_*.
    pub kind: u8,
    /// The value octets.
    pub value: Vec<u8>,
}

/// A whole, valid PROXY header: what the shell needs to replace the peer
/// address with the client's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHeader {
    /// v1 or v2.
    pub version: ProxyVersion,
    /// LOCAL or PROXY (v1 UNKNOWN is LOCAL: use the real peer).
    pub command: ProxyCommand,
    /// (source, destination) of the relayed TCP connection; `None` for LOCAL
    /// and UNKNOWN (a v2 PROXY header always has them: other families are
    /// refused).
    pub addresses: Option<(SocketAddr, SocketAddr)>,
    /// v2 TLVs in header order, at most [`MAX_TLVS`]; empty for v1.
    pub tlvs: Vec<Tlv>,
}

impl ProxyHeader {
    /// The real client, when the header names one: what every later check,
    /// limit and log line uses instead of the peer address.
    pub fn source(&self) -> Option<SocketAddr> {
        self.addresses.map(|(source, _)| source)
    }
}

/// The outcome of looking at the octets received so far, for a shell that
/// reads until it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Everything so far can still begin a valid header: read more (the input
    /// is then shorter than [`V2_MAX`]).
    Incomplete,
    /// A whole header, which took the first `consumed` octets.
    Complete {
        /// The header.
        header: ProxyHeader,
        /// Octets it took (at most [`V2_MAX`]); what follows is the SMTP
        /// conversation, to be fed to the session.
        consumed: usize,
    },
}

/// Why the octets are not an acceptable PROXY header; precise, for the log of
/// a dropped connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// Neither "PROXY " nor the v2 signature (decided at the first octet that
    /// differs from both).
    #[error("not a PROXY protocol header")]
    NotProxy,
    /// No CRLF within 107 octets.
    #[error("v1 header longer than 107 octets")]
    V1TooLong,
    /// A malformed v1 line, and how.
    #[error("malformed v1 header: {0}")]
    V1Syntax(&'static str),
    /// A v2 version nibble other than 2.
    #[error("unsupported v2 version {0}")]
    BadVersion(u8),
    /// A v2 command other than LOCAL or PROXY.
    #[error("unknown v2 command {0}")]
    BadCommand(u8),
    /// With PROXY, a family or transport other than TCP over IPv4 or IPv6
    /// (UDP, UNIX, UNSPEC, unknown): we relay TCP and need an IP client.
    #[error("unsupported v2 address family/transport 0x{0:02x}")]
    BadFamily(u8),
    /// The v2 length passes [`V2_MAX`].
    #[error("v2 header of {len} octets is past the {V2_MAX}-octet bound")]
    TooLong {
        /// The header's total length, as declared.
        len: usize,
    },
    /// The v2 address block is shorter than its family needs.
    #[error("v2 address block too short for its family")]
    AddressBlockShort,
    /// A TLV runs past the end of the header, or 1 or 2 octets are left over.
    #[error("v2 TLV runs past the header")]
    TlvOverrun,
    /// More than [`MAX_TLVS`] TLVs.
    #[error("more than {MAX_TLVS} TLVs")]
    TooManyTlvs,
    /// A PP2_TYPE_CRC32C whose checksum does not match, or whose length is
    /// not 4.
    #[error("v2 CRC32C checksum mismatch")]
    Crc32cMismatch,
}

/// True when `input` and `prefix` are equal as far as both go.
fn agrees(input: &[u8], prefix: &[u8]) -> bool {
    input.iter().zip(prefix).all(|(a, b)| a == b)
}

/// Parses a PROXY header at the start of `input` (the octets received so far,
/// possibly followed by SMTP). Incomplete means "read more" and is only
/// returned while every octet so far can still begin a valid header (and the
/// input is shorter than [`V2_MAX`]); anything else is decided as early as
/// possible, and stays decided however many octets follow.
pub fn parse(input: &[u8]) -> Result<Parsed, ProxyError> {
    if input.is_empty() {
        Ok(Parsed::Incomplete)
    } else if agrees(input, V1_PREFIX) {
        parse_v1(input)
    } else if agrees(input, V2_SIGNATURE) {
        parse_v2(input)
    } else {
        Err(ProxyError::NotProxy)
    }
}

/// The v1 messages.
const CRLF: &str = "line does not end in CRLF";
const FIELDS: &str = "expected 5 fields separated by single spaces";
const PROTOCOL: &str = "unknown protocol";
const ADDRESS: &str = "address does not match the protocol";
const PORT: &str = "bad port";
const ASCII: &str = "not ASCII";

/// The v1 protocol word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V1Protocol {
    Tcp4,
    Tcp6,
    Unknown,
}

/// Where a v1 line is, octet by octet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V1Place {
    /// In the protocol word.
    Protocol,
    /// In what follows "UNKNOWN ", ignored up to the CR.
    Ignored,
    /// In field 0 to 3: source, destination, source port, destination port.
    Field(u8),
    /// Right after the CR.
    Cr,
}

/// The v1 line, judged octet by octet: each octet either still fits the
/// grammar or is the one that makes the line invalid.
fn parse_v1(input: &[u8]) -> Result<Parsed, ProxyError> {
    let syntax = ProxyError::V1Syntax;
    let line = input.get(..V1_MAX).unwrap_or(input);
    let mut place = V1Place::Protocol;
    let mut protocol = V1Protocol::Unknown;
    // Where the current word begins.
    let mut start = V1_PREFIX.len();
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let (mut source, mut destination) = (unspecified, unspecified);
    let (mut source_port, mut destination_port) = (0, 0);
    for (at, &octet) in line.iter().enumerate().skip(V1_PREFIX.len()) {
        if !octet.is_ascii() {
            return Err(syntax(ASCII));
        }
        // The word before this octet, and with it.
        let word = line.get(start..at).unwrap_or_default();
        let grown = line.get(start..=at).unwrap_or_default();
        match place {
            V1Place::Cr if octet == b'\n' => {
                let addresses = (protocol != V1Protocol::Unknown).then_some((
                    SocketAddr::new(source, source_port),
                    SocketAddr::new(destination, destination_port),
                ));
                let command = match addresses {
                    Some(_) => ProxyCommand::Proxy,
                    None => ProxyCommand::Local,
                };
                return Ok(Parsed::Complete {
                    header: ProxyHeader {
                        version: ProxyVersion::V1,
                        command,
                        addresses,
                        tlvs: Vec::new(),
                    },
                    consumed: at + 1,
                });
            }
            V1Place::Cr => return Err(syntax(CRLF)),
            _ if octet == b'\n' => return Err(syntax(CRLF)),
            V1Place::Protocol if octet == b' ' || octet == b'\r' => {
                protocol = match word {
                    b"TCP4" => V1Protocol::Tcp4,
                    b"TCP6" => V1Protocol::Tcp6,
                    b"UNKNOWN" => V1Protocol::Unknown,
                    _ => return Err(syntax(PROTOCOL)),
                };
                place = match (protocol, octet) {
                    (V1Protocol::Unknown, b' ') => V1Place::Ignored,
                    (V1Protocol::Unknown, _) => V1Place::Cr,
                    (_, b' ') => V1Place::Field(0),
                    _ => return Err(syntax(FIELDS)),
                };
                start = at + 1;
            }
            V1Place::Protocol => {
                let words: [&[u8]; 3] = [b"TCP4", b"TCP6", b"UNKNOWN"];
                if !words.iter().any(|w| w.starts_with(grown)) {
                    return Err(syntax(PROTOCOL));
                }
            }
            V1Place::Ignored => {
                if octet == b'\r' {
                    place = V1Place::Cr;
                }
            }
            V1Place::Field(field) if octet == b' ' || octet == b'\r' => {
                if word.is_empty() {
                    return Err(syntax(FIELDS));
                }
                match field {
                    0 => source = v1_address(word, protocol)?,
                    1 => destination = v1_address(word, protocol)?,
                    2 => source_port = v1_port(word)?,
                    _ => destination_port = v1_port(word)?,
                }
                place = match (field, octet) {
                    (3, b'\r') => V1Place::Cr,
                    (0..=2, b' ') => V1Place::Field(field + 1),
                    _ => return Err(syntax(FIELDS)),
                };
                start = at + 1;
            }
            V1Place::Field(field) => {
                let fits = match (field, protocol) {
                    (2.., _) => port_prefix(grown).is_some(),
                    (_, V1Protocol::Tcp6) => ipv6_prefix(grown),
                    _ => ipv4_prefix(grown),
                };
                if !fits {
                    return Err(syntax(if field >= 2 { PORT } else { ADDRESS }));
                }
            }
        }
    }
    if input.len() >= V1_MAX {
        Err(ProxyError::V1TooLong)
    } else {
        Ok(Parsed::Incomplete)
    }
}

/// A whole v1 address of the line's protocol, read by std (strict: a dotted
/// quad without leading zeros; RFC 4291 text for IPv6).
fn v1_address(word: &[u8], protocol: V1Protocol) -> Result<IpAddr, ProxyError> {
    let text = std::str::from_utf8(word).map_err(|_| ProxyError::V1Syntax(ASCII))?;
    let address = match protocol {
        V1Protocol::Tcp6 => text.parse::<std::net::Ipv6Addr>().map(IpAddr::V6),
        _ => text.parse::<Ipv4Addr>().map(IpAddr::V4),
    };
    address.map_err(|_| ProxyError::V1Syntax(ADDRESS))
}

/// A whole v1 port: 0 to 65535 in decimal, digits only.
fn v1_port(word: &[u8]) -> Result<u16, ProxyError> {
    port_prefix(word)
        .filter(|_| !word.is_empty())
        .and_then(|port| u16::try_from(port).ok())
        .ok_or(ProxyError::V1Syntax(PORT))
}

/// The value of `word` when it can still grow into a v1 port: digits only, no
/// sign, no leading zero (the specification forbids them), at most 65535.
fn port_prefix(word: &[u8]) -> Option<u32> {
    if word.len() > 5 || (word.len() > 1 && word.first() == Some(&b'0')) {
        return None;
    }
    word.iter().try_fold(0u32, |value, &digit| {
        let value = value * 10 + u32::from(digit.checked_sub(b'0').filter(|d| *d <= 9)?);
        (value <= u32::from(u16::MAX)).then_some(value)
    })
}

/// True when `word` can still grow into an IPv4 address as std reads one: a
/// dotted quad, each part 0 to 255 without a leading zero.
fn ipv4_prefix(word: &[u8]) -> bool {
    let mut dots = 0;
    // The part being read; `None` at the start and right after a dot.
    let mut part: Option<u16> = None;
    for &octet in word {
        match octet {
            b'0'..=b'9' => {
                let digit = u16::from(octet - b'0');
                let value = match part {
                    Some(0) => return false,
                    Some(value) => value * 10 + digit,
                    None => digit,
                };
                if value > 255 {
                    return false;
                }
                part = Some(value);
            }
            b'.' if part.is_some() && dots < 3 => {
                dots += 1;
                part = None;
            }
            _ => return false,
        }
    }
    true
}

/// True for one whole IPv6 group: 1 to 4 hex digits.
fn hex_group(group: &[u8]) -> bool {
    (1..=4).contains(&group.len()) && group.iter().all(u8::is_ascii_hexdigit)
}

/// Splits `part` at its colons into the number of groups before the last
/// piece, and that piece (perhaps empty or partial); `None` when a group
/// before it is not 1 to 4 hex digits.
fn groups(part: &[u8]) -> Option<(usize, &[u8])> {
    let mut pieces = part.split(|&octet| octet == b':');
    let last = pieces.next_back().unwrap_or_default();
    let mut count = 0;
    for group in pieces {
        if !hex_group(group) {
            return None;
        }
        count += 1;
    }
    Some((count, last))
}

/// How many of the 8 groups the last piece of an IPv6 prefix takes at least:
/// 0 when empty, 1 for hex digits, 2 for the beginning of a dotted IPv4 tail;
/// `None` when it can grow into neither.
fn last_piece(piece: &[u8]) -> Option<usize> {
    if piece.is_empty() {
        Some(0)
    } else if piece.contains(&b'.') {
        ipv4_prefix(piece).then_some(2)
    } else {
        hex_group(piece).then_some(1)
    }
}

/// True when `word` can still grow into an IPv6 address as std reads one: 8
/// groups of 1 to 4 hex digits, or fewer around one "::" (which stands for at
/// least one group), the last two optionally a dotted quad.
fn ipv6_prefix(word: &[u8]) -> bool {
    if word == b":" {
        return true;
    }
    match word.windows(2).position(|pair| pair == b"::") {
        None => {
            let Some((before, last)) = groups(word) else {
                return false;
            };
            match last_piece(last) {
                // At the start, or after a colon: a group or "::" may follow.
                Some(0) => before <= 7,
                Some(1) => before < 8,
                // A dotted tail without "::" ends a full address.
                Some(2) => before == 6,
                _ => false,
            }
        }
        Some(at) => {
            let (head, tail) = word.split_at(at);
            let tail = tail.get(2..).unwrap_or_default();
            let head_groups = match groups(head) {
                _ if head.is_empty() => 0,
                Some((before, last)) if hex_group(last) => before + 1,
                _ => return false,
            };
            if tail.first() == Some(&b':') {
                return false;
            }
            let Some((tail_groups, last)) = groups(tail) else {
                return false;
            };
            let last = match last_piece(last) {
                // After a colon in the tail, a group must follow.
                Some(0) if !tail.is_empty() => 1,
                Some(needs) => needs,
                None => return false,
            };
            head_groups + tail_groups + last <= 7
        }
    }
}

/// How a v2 address block is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// PROXY over TCP/IPv4: 2 × 4 octets of address, 2 × 2 of port.
    Tcp4,
    /// PROXY over TCP/IPv6: 2 × 16 octets of address, 2 × 2 of port.
    Tcp6,
    /// LOCAL: this many octets (by the family, where known) are skipped,
    /// whatever they hold, before the TLVs.
    Skip(usize),
}

impl Block {
    /// Octets the block takes.
    fn len(self) -> usize {
        match self {
            Block::Tcp4 => 12,
            Block::Tcp6 => 36,
            Block::Skip(len) => len,
        }
    }
}

/// The v2 header, judged field by field as its octets arrive.
fn parse_v2(input: &[u8]) -> Result<Parsed, ProxyError> {
    let Some(&version_command) = input.get(12) else {
        return Ok(Parsed::Incomplete);
    };
    let version = version_command >> 4;
    if version != 2 {
        return Err(ProxyError::BadVersion(version));
    }
    let command = match version_command & 0x0f {
        0 => ProxyCommand::Local,
        1 => ProxyCommand::Proxy,
        other => return Err(ProxyError::BadCommand(other)),
    };
    let Some(&family) = input.get(13) else {
        return Ok(Parsed::Incomplete);
    };
    let block = match (command, family) {
        (ProxyCommand::Proxy, 0x11) => Block::Tcp4,
        (ProxyCommand::Proxy, 0x21) => Block::Tcp6,
        (ProxyCommand::Proxy, other) => return Err(ProxyError::BadFamily(other)),
        // LOCAL: use the real peer, whatever the family (the specification
        // says to ignore it); its address block is skipped by its size.
        (ProxyCommand::Local, _) => Block::Skip(match family >> 4 {
            1 => 12,
            2 => 36,
            3 => 216,
            _ => 0,
        }),
    };
    let (Some(&high), Some(&low)) = (input.get(14), input.get(15)) else {
        return Ok(Parsed::Incomplete);
    };
    let len = V2_FIXED + usize::from(u16::from_be_bytes([high, low]));
    if len > V2_MAX {
        return Err(ProxyError::TooLong { len });
    }
    let block_len = len - V2_FIXED;
    if command == ProxyCommand::Proxy && block_len < block.len() {
        return Err(ProxyError::AddressBlockShort);
    }
    let tlvs_at = V2_FIXED + block.len().min(block_len);
    check_tlvs(input.get(..len).unwrap_or(input), tlvs_at, len)?;
    let Some(header) = input.get(..len) else {
        return Ok(Parsed::Incomplete);
    };
    let addresses = match block {
        Block::Tcp4 => Some(addresses::<4>(header.get(V2_FIXED..).unwrap_or_default())),
        Block::Tcp6 => Some(addresses::<16>(header.get(V2_FIXED..).unwrap_or_default())),
        Block::Skip(_) => None,
    };
    let addresses = match addresses {
        Some(None) => return Err(ProxyError::AddressBlockShort),
        Some(Some(pair)) => Some(pair),
        None => None,
    };
    Ok(Parsed::Complete {
        header: ProxyHeader {
            version: ProxyVersion::V2,
            command,
            addresses,
            tlvs: read_tlvs(header, tlvs_at)?,
        },
        consumed: len,
    })
}

/// Source and destination from an address block of `N`-octet addresses.
fn addresses<const N: usize>(block: &[u8]) -> Option<(SocketAddr, SocketAddr)>
where
    IpAddr: From<[u8; N]>,
{
    let (source, rest) = block.split_first_chunk::<N>()?;
    let (destination, rest) = rest.split_first_chunk::<N>()?;
    let (source_port, rest) = rest.split_first_chunk::<2>()?;
    let (destination_port, _) = rest.split_first_chunk::<2>()?;
    Some((
        SocketAddr::new(IpAddr::from(*source), u16::from_be_bytes(*source_port)),
        SocketAddr::new(
            IpAddr::from(*destination),
            u16::from_be_bytes(*destination_port),
        ),
    ))
}

/// Walks the TLVs from `at` to `len` as far as `received` (at most `len`
/// octets) goes, and fails at the first octet after which no TLVs can fill the
/// header exactly: a TLV that must run past the end, 1 or 2 octets that must
/// be left over, a 17th TLV that must follow, a CRC32C TLV whose length is not
/// 4. Each TLV is judged on its own type and length octets only, so the error
/// found for some octets is the error for any that follow them.
fn check_tlvs(received: &[u8], mut at: usize, len: usize) -> Result<(), ProxyError> {
    let mut count = 0;
    while at < len {
        if len - at < 3 {
            return Err(ProxyError::TlvOverrun);
        }
        if count == MAX_TLVS {
            return Err(ProxyError::TooManyTlvs);
        }
        count += 1;
        let kind = received.get(at).copied();
        let Some(&high) = received.get(at + 1) else {
            return Ok(());
        };
        if kind == Some(TLV_CRC32C) && high != 0 {
            return Err(ProxyError::Crc32cMismatch);
        }
        let low = received.get(at + 2).copied();
        // Where the TLV ends: known, or within 256 octets when only the high
        // octet of its length is.
        let shortest = at + 3 + usize::from(u16::from_be_bytes([high, low.unwrap_or(0)]));
        let longest = shortest + low.map_or(255, |_| 0);
        if shortest > len {
            return Err(ProxyError::TlvOverrun);
        }
        if count == MAX_TLVS && longest < len {
            return Err(ProxyError::TooManyTlvs);
        }
        let Some(low) = low else {
            return Ok(());
        };
        if kind == Some(TLV_CRC32C) && low != CRC32C_LEN {
            return Err(ProxyError::Crc32cMismatch);
        }
        at = shortest;
    }
    Ok(())
}

/// The TLVs of a whole header whose structure [`check_tlvs`] accepted, each
/// CRC32C verified.
fn read_tlvs(header: &[u8], mut at: usize) -> Result<Vec<Tlv>, ProxyError> {
    let mut tlvs = Vec::new();
    while let Some(&[kind, high, low]) = header.get(at..at + 3) {
        let value_at = at + 3;
        let end = value_at + usize::from(u16::from_be_bytes([high, low]));
        let value = header.get(value_at..end).ok_or(ProxyError::TlvOverrun)?;
        if kind == TLV_CRC32C && !crc32c_matches(header, value_at) {
            return Err(ProxyError::Crc32cMismatch);
        }
        tlvs.push(Tlv {
            kind,
            value: value.to_vec(),
        });
        at = end;
    }
    Ok(tlvs)
}

/// True when the 4 octets at `value_at` are the CRC32C (big-endian) of the
/// whole header with those 4 octets zeroed, as the specification defines it.
fn crc32c_matches(header: &[u8], value_at: usize) -> bool {
    let end = value_at + usize::from(CRC32C_LEN);
    let (Some(before), Some(sent), Some(after)) = (
        header.get(..value_at),
        header.get(value_at..end),
        header.get(end..),
    ) else {
        return false;
    };
    let sum = crc32c::crc32c_append(crc32c::crc32c(before), &[0; CRC32C_LEN as usize]);
    sent == crc32c::crc32c_append(sum, after).to_be_bytes()
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;

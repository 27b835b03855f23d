//! The PROXY protocol header (haproxy's proxy-protocol.txt, versions 1 and 2)
//! that a trusted load balancer puts before the SMTP conversation to name the
//! real client.
//!
//! Written here rather than taken from the `ppp` crate (which serves as a
//! differential oracle in the tests): this parser sits on the internet-facing
//! edge, so it must be bounded (never more than [`V2_MAX`] octets held, never
//! more than [`MAX_TLVS`] TLVs kept), must tell a streaming shell exactly
//! whether to read more ([`Parsed::Incomplete`]) or give up (an error decided
//! at the first octet that cannot lead to a valid header), and is fuzzed on
//! its own. Pure: octets in, a header out; no socket, no clock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Longest v1 header: 107 octets including the CRLF (the specification's bound).
pub const V1_MAX: usize = 107;

/// Largest v2 header accepted: the 16-octet fixed part and up to 1024 octets of
/// addresses and TLVs. haproxy's usual TLVs (ALPN, authority, unique id, SSL
/// details, CRC) fit in a few hundred; the format allows 64 KiB, which an
/// unauthenticated peer would otherwise make us hold per connection.
pub const V2_MAX: usize = 16 + 1024;

/// Most TLVs kept from one v2 header.
pub const MAX_TLVS: usize = 16;

/// The 12-octet v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The v1 prefix.
const V1_PREFIX: &[u8; 6] = b"PROXY ";

/// PP2_TYPE_CRC32C.
const TLV_CRC32C: u8 = 0x03;

/// Which version of the protocol a header used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyVersion {
    /// The text form.
    V1,
    /// The binary form.
    V2,
}

/// What the header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyCommand {
    /// The connection is the balancer's own (v2 LOCAL, a health check; or v1
    /// UNKNOWN): use the real peer address.
    Local,
    /// The connection is relayed for the client the header names.
    Proxy,
}

/// One v2 type-length-value record, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// PP2_TYPE_*.
    pub kind: u8,
    /// The value octets.
    pub value: Vec<u8>,
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHeader {
    /// v1 or v2.
    pub version: ProxyVersion,
    /// LOCAL or PROXY.
    pub command: ProxyCommand,
    /// (source, destination) for a relayed TCP connection; `None` for LOCAL,
    /// UNKNOWN and address families without IP addresses.
    pub addresses: Option<(SocketAddr, SocketAddr)>,
    /// v2 TLVs, at most [`MAX_TLVS`].
    pub tlvs: Vec<Tlv>,
}

impl ProxyHeader {
    /// The real client, when the header names one.
    pub fn source(&self) -> Option<SocketAddr> {
        self.addresses.map(|(source, _)| source)
    }

    /// The first TLV of type `kind`.
    pub fn tlv(&self, kind: u8) -> Option<&[u8]> {
        self.tlvs
            .iter()
            .find(|t| t.kind == kind)
            .map(|t| t.value.as_slice())
    }
}

/// The outcome of looking at the octets received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Everything so far is a valid beginning: read more.
    Incomplete,
    /// A whole header, which took the first `consumed` octets.
    Complete {
        /// The header.
        header: ProxyHeader,
        /// Octets it took; what follows is the SMTP conversation.
        consumed: usize,
    },
}

/// Why the octets are not an acceptable PROXY header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// Neither "PROXY " nor the v2 signature.
    #[error("not a PROXY protocol header")]
    NotProxy,
    /// No CRLF within 107 octets.
    #[error("v1 header longer than 107 octets")]
    V1TooLong,
    /// A malformed v1 line.
    #[error("malformed v1 header: {0}")]
    V1Syntax(&'static str),
    /// A v2 version nibble other than 2.
    #[error("unsupported v2 version {0}")]
    BadVersion(u8),
    /// A v2 command other than LOCAL or PROXY.
    #[error("unknown v2 command {0}")]
    BadCommand(u8),
    /// A family or transport we do not relay (UDP, UNIX, unknown), with PROXY.
    #[error("unsupported v2 address family/transport 0x{0:02x}")]
    BadFamily(u8),
    /// The v2 length passes [`V2_MAX`].
    #[error("v2 header of {len} octets is past the {V2_MAX}-octet bound")]
    TooLong {
        /// The header's total length.
        len: usize,
    },
    /// The v2 address block is shorter than its family needs.
    #[error("v2 address block too short for its family")]
    AddressBlockShort,
    /// A TLV runs past the end of the header.
    #[error("v2 TLV runs past the header")]
    TlvOverrun,
    /// More than [`MAX_TLVS`] TLVs.
    #[error("more than {MAX_TLVS} TLVs")]
    TooManyTlvs,
    /// The PP2_TYPE_CRC32C checksum does not match.
    #[error("v2 CRC32C checksum mismatch")]
    Crc32cMismatch,
}

/// True when `input` begins like a PROXY header (for refusing one from a peer
/// that is not trusted to send it).
pub fn looks_like_proxy(input: &[u8]) -> bool {
    let starts = |prefix: &[u8]| {
        let n = input.len().min(prefix.len());
        n > 0 && input[..n] == prefix[..n]
    };
    starts(V1_PREFIX) || starts(V2_SIGNATURE)
}

/// Parses a PROXY header at the start of `input`.
pub fn parse(input: &[u8]) -> Result<Parsed, ProxyError> {
    let prefix_of = |whole: &[u8]| {
        let n = input.len().min(whole.len());
        input[..n] == whole[..n]
    };
    if input.is_empty() {
        return Ok(Parsed::Incomplete);
    }
    if prefix_of(V1_PREFIX) {
        return parse_v1(input);
    }
    if prefix_of(V2_SIGNATURE) {
        return parse_v2(input);
    }
    Err(ProxyError::NotProxy)
}

fn parse_v1(input: &[u8]) -> Result<Parsed, ProxyError> {
    let window = &input[..input.len().min(V1_MAX)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        if input.len() >= V1_MAX {
            return Err(ProxyError::V1TooLong);
        }
        return Ok(Parsed::Incomplete);
    };
    if lf == 0 || window[lf - 1] != b'\r' {
        return Err(ProxyError::V1Syntax("line does not end in CRLF"));
    }
    let line = &window[V1_PREFIX.len()..lf - 1];
    let line = std::str::from_utf8(line).map_err(|_| ProxyError::V1Syntax("not ASCII"))?;
    let consumed = lf + 1;
    if let Some(rest) = line.strip_prefix("UNKNOWN") {
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return Err(ProxyError::V1Syntax("unknown protocol"));
        }
        return Ok(Parsed::Complete {
            header: ProxyHeader {
                version: ProxyVersion::V1,
                command: ProxyCommand::Local,
                addresses: None,
                tlvs: Vec::new(),
            },
            consumed,
        });
    }
    let mut fields = line.split(' ');
    let (Some(protocol), Some(source), Some(destination), Some(sport), Some(dport), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(ProxyError::V1Syntax(
            "expected 5 fields separated by single spaces",
        ));
    };
    let (source, destination): (IpAddr, IpAddr) = match protocol {
        "TCP4" => (
            v1_ip::<Ipv4Addr>(source)?.into(),
            v1_ip::<Ipv4Addr>(destination)?.into(),
        ),
        "TCP6" => (
            v1_ip::<Ipv6Addr>(source)?.into(),
            v1_ip::<Ipv6Addr>(destination)?.into(),
        ),
        _ => return Err(ProxyError::V1Syntax("unknown protocol")),
    };
    Ok(Parsed::Complete {
        header: ProxyHeader {
            version: ProxyVersion::V1,
            command: ProxyCommand::Proxy,
            addresses: Some((
                SocketAddr::new(source, v1_port(sport)?),
                SocketAddr::new(destination, v1_port(dport)?),
            )),
            tlvs: Vec::new(),
        },
        consumed,
    })
}

fn v1_ip<T: std::str::FromStr>(text: &str) -> Result<T, ProxyError> {
    text.parse()
        .map_err(|_| ProxyError::V1Syntax("address does not match the protocol"))
}

/// A decimal port: digits only, no sign, no leading zero (the specification
/// forbids them), at most 65535.
fn v1_port(text: &str) -> Result<u16, ProxyError> {
    let valid = !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !valid {
        return Err(ProxyError::V1Syntax("bad port"));
    }
    text.parse().map_err(|_| ProxyError::V1Syntax("bad port"))
}

fn parse_v2(input: &[u8]) -> Result<Parsed, ProxyError> {
    // Decide on each fixed octet as soon as it is there.
    if let Some(&ver_cmd) = input.get(12) {
        let version = ver_cmd >> 4;
        if version != 2 {
            return Err(ProxyError::BadVersion(version));
        }
        if ver_cmd & 0x0f > 1 {
            return Err(ProxyError::BadCommand(ver_cmd & 0x0f));
        }
    }
    if input.len() < 16 {
        return Ok(Parsed::Incomplete);
    }
    let command = if input[12] & 0x0f == 0 {
        ProxyCommand::Local
    } else {
        ProxyCommand::Proxy
    };
    let family = input[13];
    let len = 16 + usize::from(u16::from_be_bytes([input[14], input[15]]));
    if len > V2_MAX {
        return Err(ProxyError::TooLong { len });
    }
    let needed = match (command, family) {
        // LOCAL: the address block, whatever it holds, is skipped.
        (ProxyCommand::Local, _) => None,
        (ProxyCommand::Proxy, 0x11) => Some(12),
        (ProxyCommand::Proxy, 0x21) => Some(36),
        (ProxyCommand::Proxy, other) => return Err(ProxyError::BadFamily(other)),
    };
    if let Some(needed) = needed
        && len - 16 < needed
    {
        return Err(ProxyError::AddressBlockShort);
    }
    if input.len() < len {
        return Ok(Parsed::Incomplete);
    }
    let block = &input[16..len];
    let (addresses, tlv_start) = match (command, needed) {
        (ProxyCommand::Proxy, Some(12)) => {
            let ip =
                |at: usize| Ipv4Addr::new(block[at], block[at + 1], block[at + 2], block[at + 3]);
            let port = |at: usize| u16::from_be_bytes([block[at], block[at + 1]]);
            (
                Some((
                    SocketAddr::new(ip(0).into(), port(8)),
                    SocketAddr::new(ip(4).into(), port(10)),
                )),
                12,
            )
        }
        (ProxyCommand::Proxy, Some(36)) => {
            let ip = |at: usize| {
                let octets: [u8; 16] = block[at..at + 16].try_into().expect("16 octets");
                Ipv6Addr::from(octets)
            };
            let port = |at: usize| u16::from_be_bytes([block[at], block[at + 1]]);
            (
                Some((
                    SocketAddr::new(ip(0).into(), port(32)),
                    SocketAddr::new(ip(16).into(), port(34)),
                )),
                36,
            )
        }
        // LOCAL: the address block is skipped, whatever it holds.
        _ => {
            let address_block = match family {
                0x11 | 0x12 => 12,
                0x21 | 0x22 => 36,
                0x31 | 0x32 => 216,
                _ => 0,
            };
            (None, address_block.min(block.len()))
        }
    };
    let tlvs = parse_tlvs(&block[tlv_start..])?;
    if let Some(tlv) = tlvs.iter().find(|t| t.kind == TLV_CRC32C) {
        check_crc32c(&input[..len], tlv, 16 + tlv_start)?;
    }
    Ok(Parsed::Complete {
        header: ProxyHeader {
            version: ProxyVersion::V2,
            command,
            addresses,
            tlvs,
        },
        consumed: len,
    })
}

fn parse_tlvs(mut rest: &[u8]) -> Result<Vec<Tlv>, ProxyError> {
    let mut tlvs = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 3 {
            return Err(ProxyError::TlvOverrun);
        }
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]]));
        let Some(value) = rest.get(3..3 + len) else {
            return Err(ProxyError::TlvOverrun);
        };
        if tlvs.len() == MAX_TLVS {
            return Err(ProxyError::TooManyTlvs);
        }
        tlvs.push(Tlv {
            kind: rest[0],
            value: value.to_vec(),
        });
        rest = &rest[3 + len..];
    }
    Ok(tlvs)
}

/// The CRC32C TLV covers the whole header with its own value zeroed.
fn check_crc32c(header: &[u8], tlv: &Tlv, tlvs_at: usize) -> Result<(), ProxyError> {
    let Ok(expected) = <[u8; 4]>::try_from(tlv.value.as_slice()) else {
        return Err(ProxyError::Crc32cMismatch);
    };
    // Find the CRC TLV's value offset by walking the TLVs again.
    let mut at = tlvs_at;
    while at + 3 <= header.len() {
        let len = usize::from(u16::from_be_bytes([header[at + 1], header[at + 2]]));
        if header[at] == TLV_CRC32C {
            let mut zeroed = header.to_vec();
            zeroed[at + 3..at + 3 + len].fill(0);
            return if crc32c::crc32c(&zeroed).to_be_bytes() == expected {
                Ok(())
            } else {
                Err(ProxyError::Crc32cMismatch)
            };
        }
        at += 3 + len;
    }
    Err(ProxyError::Crc32cMismatch)
}

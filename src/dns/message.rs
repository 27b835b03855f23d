//! DNS messages without sockets or clocks: the query we send, and whether a
//! datagram is its answer and what that answer says.
//!
//! The shell stamps a fresh ID on a [`Question`]'s bytes for each attempt and
//! hands every datagram it receives to [`Question::read`]. Everything that
//! decides what an answer means (is it ours, which records count, how long
//! it may be cached) lives here, so the tests drive it with messages built by
//! hickory-proto, the same library that parses them.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use thiserror::Error;

/// The UDP payload size we announce with EDNS(0): the size the DNS
/// community settled on to avoid IP fragmentation (DNS flag day 2020). An
/// answer that does not fit comes back truncated and is asked for again over
/// TCP; it is also the size of the buffer a UDP answer is read into.
pub(super) const EDNS_PAYLOAD: u16 = 1232;

/// Octets of TXT text kept per record: more than any DNSBL reason or DKIM
/// key needs, little enough that a hostile answer cannot make us hold much.
const MAX_TXT: usize = 4096;

/// CNAME links followed within one answer before it is refused as a loop.
const MAX_CNAME_HOPS: usize = 8;

/// Negative-caching TTL of an NXDOMAIN or NODATA answer without an SOA to
/// take it from (RFC 2308 would not cache it at all; a minute keeps a burst
/// of connections from one client from asking again and again).
const NO_SOA_NEGATIVE_TTL: u32 = 60;

/// Length of the fixed DNS header.
const HEADER_LEN: usize = 12;

/// The QR bit in the third header octet: set in responses.
const QR_BIT: u8 = 0x80;

/// The record types ringwall asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// IPv4 addresses: DNSBL codes, forward-confirmed reverse DNS.
    A,
    /// IPv6 addresses: forward-confirmed reverse DNS of IPv6 clients.
    Aaaa,
    /// Text: the reason a DNSBL gives for a listing.
    Txt,
    /// Mail exchangers: whether a sender domain can receive mail at all.
    Mx,
    /// Host names: the client's name for XFORWARD and HELO checks.
    Ptr,
}

impl RecordKind {
    /// The wire type.
    fn record_type(self) -> RecordType {
        match self {
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
            RecordKind::Txt => RecordType::TXT,
            RecordKind::Mx => RecordType::MX,
            RecordKind::Ptr => RecordType::PTR,
        }
    }

    /// `data` as one of our records, if it is of this kind.
    fn data(self, data: &RData) -> Option<RecordData> {
        match (self, data) {
            (RecordKind::A, RData::A(a)) => Some(RecordData::A(a.0)),
            (RecordKind::Aaaa, RData::AAAA(aaaa)) => Some(RecordData::Aaaa(aaaa.0)),
            (RecordKind::Txt, RData::TXT(txt)) => Some(RecordData::Txt(text(txt))),
            (RecordKind::Mx, RData::MX(mx)) => Some(RecordData::Mx {
                preference: mx.preference,
                exchange: host(&mx.exchange),
            }),
            (RecordKind::Ptr, RData::PTR(ptr)) => Some(RecordData::Ptr(host(&ptr.0))),
            _ => None,
        }
    }
}

/// One record of an answer, in the form callers use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A TXT record's character-strings joined without separator (as SPF
    /// and DKIM read them), as lossy UTF-8, at most 4096 octets read.
    Txt(String),
    /// A mail exchanger.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The host, lowercase, without the final dot; empty for a null MX
        /// (RFC 7505: the domain accepts no mail).
        exchange: String,
    },
    /// A host name, lowercase, without the final dot.
    Ptr(String),
}

/// What a server's answer means to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Records of the type asked for, found at the end of the CNAME chain
    /// that starts at the name asked for.
    Records {
        /// Never empty.
        records: Vec<RecordData>,
        /// How long the answer may be cached: the smallest TTL of the
        /// records and of the CNAMEs that led to them.
        ttl: u32,
    },
    /// The name does not exist (for a DNSBL: not listed).
    NxDomain {
        /// How long that may be cached (RFC 2308).
        negative_ttl: u32,
    },
    /// The name exists but has no records of this type.
    NoData {
        /// How long that may be cached (RFC 2308).
        negative_ttl: u32,
    },
    /// The server could not get an answer (SERVFAIL).
    ServFail,
    /// The server will not answer us (REFUSED).
    Refused,
}

/// A server's message that is the answer to our query.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Response {
    /// Its meaning.
    Answer(Answer),
    /// It did not fit (TC): ask again over TCP.
    Truncated,
}

/// Why a name cannot be asked about.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{name}` is not a DNS name: {reason}")]
pub struct NameError {
    /// The name as given.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Why a datagram is not the answer to our query. Over UDP anyone can send
/// one, so the shell ignores it and keeps waiting for the real answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Stray {
    /// Not a DNS message we can parse.
    #[error("not a DNS message")]
    Unreadable,
    /// A query, not a response.
    #[error("not a response")]
    NotAResponse,
    /// The ID of another query (or a forger's guess).
    #[error("the ID of another query")]
    WrongId,
    /// Not exactly our question echoed back.
    #[error("the answer to another question")]
    WrongQuestion,
}

/// Why a response to our query gives no [`Answer`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResponseError {
    /// It is not the answer to our query.
    #[error("not the answer to our query: {0}")]
    Stray(#[from] Stray),
    /// A response code other than NOERROR, NXDOMAIN, SERVFAIL and REFUSED
    /// (FORMERR, NOTIMP...): the server says our query itself is wrong.
    #[error("the DNS server answered {}", <ResponseCode as From<u16>>::from(*.0))]
    Rcode(u16),
    /// The CNAME chain loops or is too long to follow.
    #[error("CNAME chain longer than {MAX_CNAME_HOPS} links")]
    CnameChain,
}

/// What a lookup asks: one name and one record type, checked and encoded
/// once, so that each attempt only stamps its own ID on the same bytes.
#[derive(Debug)]
pub(super) struct Question {
    /// The name, absolute.
    name: Name,
    /// The type asked for (class IN).
    kind: RecordKind,
    /// The whole query with ID 0: RD set, one question, EDNS(0).
    wire: Vec<u8>,
}

impl Question {
    /// A question about `name`, with or without its final dot: the name is
    /// always absolute, as there is no search list. A UTF-8 name becomes
    /// punycode (IDNA); one that IDNA refuses (an underscore inside a label)
    /// is taken as plain ASCII.
    pub(super) fn new(name: &str, kind: RecordKind) -> Result<Self, NameError> {
        let invalid = |reason: String| NameError {
            name: name.to_owned(),
            reason,
        };
        let mut absolute =
            Name::from_str_relaxed(name).map_err(|error| invalid(error.to_string()))?;
        absolute.set_fqdn(true);
        let mut message = Message::new(0, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(absolute.clone(), kind.record_type()));
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        message.set_edns(edns);
        let wire = message
            .to_vec()
            .map_err(|error| invalid(error.to_string()))?;
        Ok(Self {
            name: absolute,
            kind,
            wire,
        })
    }

    /// The query carrying `id`, ready to send (over TCP, behind its length).
    pub(super) fn query(&self, id: u16) -> Vec<u8> {
        let mut wire = self.wire.clone();
        wire[..2].copy_from_slice(&id.to_be_bytes());
        wire
    }

    /// Reads `packet` as the answer to the query sent with `id`.
    ///
    /// It is ours only if it is a response with that ID echoing exactly our
    /// question (the name in any case, as 0x20 randomisation allows); the ID
    /// and QR bit are checked on the raw header first, so a flood of forged
    /// datagrams is turned away before it is parsed.
    pub(super) fn read(&self, id: u16, packet: &[u8]) -> Result<Response, ResponseError> {
        if packet.len() < HEADER_LEN {
            return Err(Stray::Unreadable.into());
        }
        if packet[2] & QR_BIT == 0 {
            return Err(Stray::NotAResponse.into());
        }
        if u16::from_be_bytes([packet[0], packet[1]]) != id {
            return Err(Stray::WrongId.into());
        }
        let message = Message::from_vec(packet).map_err(|_| Stray::Unreadable)?;
        if !self.is_echoed(&message.queries) {
            return Err(Stray::WrongQuestion.into());
        }
        if message.metadata.truncation {
            return Ok(Response::Truncated);
        }
        let answer = match message.metadata.response_code {
            ResponseCode::NoError => match self.records(&message.answers)? {
                Some((records, ttl)) => Answer::Records { records, ttl },
                None => Answer::NoData {
                    negative_ttl: negative_ttl(&message.authorities),
                },
            },
            ResponseCode::NXDomain => Answer::NxDomain {
                negative_ttl: negative_ttl(&message.authorities),
            },
            ResponseCode::ServFail => Answer::ServFail,
            ResponseCode::Refused => Answer::Refused,
            other => return Err(ResponseError::Rcode(other.into())),
        };
        Ok(Response::Answer(answer))
    }

    /// Whether `queries` is our question, alone.
    fn is_echoed(&self, queries: &[Query]) -> bool {
        match queries {
            [query] => {
                // Name equality ignores case.
                query.name() == &self.name
                    && query.query_type() == self.kind.record_type()
                    && query.query_class() == DNSClass::IN
            }
            _ => false,
        }
    }

    /// The records of our type at the end of the CNAME chain that starts at
    /// our name, with the smallest TTL along the way (the answer holds only
    /// while every link does); `None` when the chain ends without any.
    fn records(&self, answers: &[Record]) -> Result<Option<(Vec<RecordData>, u32)>, ResponseError> {
        let mut owner = &self.name;
        let mut ttl = u32::MAX;
        for _ in 0..=MAX_CNAME_HOPS {
            let at_owner = || {
                answers
                    .iter()
                    .filter(move |record| record.name == *owner && record.dns_class == DNSClass::IN)
            };
            let mut records = Vec::new();
            for record in at_owner() {
                if let Some(data) = self.kind.data(&record.data) {
                    records.push(data);
                    ttl = ttl.min(ttl_of(record.ttl));
                }
            }
            if !records.is_empty() {
                return Ok(Some((records, ttl)));
            }
            let alias = at_owner().find_map(|record| match &record.data {
                RData::CNAME(target) => Some((&target.0, record.ttl)),
                _ => None,
            });
            let Some((target, alias_ttl)) = alias else {
                return Ok(None);
            };
            owner = target;
            ttl = ttl.min(ttl_of(alias_ttl));
        }
        Err(ResponseError::CnameChain)
    }
}

/// How long a negative answer may be cached: the smaller of the SOA's own
/// TTL and its minimum field (RFC 2308 §5), or [`NO_SOA_NEGATIVE_TTL`].
fn negative_ttl(authorities: &[Record]) -> u32 {
    authorities
        .iter()
        .filter_map(|record| match &record.data {
            RData::SOA(soa) => Some(ttl_of(record.ttl).min(ttl_of(soa.minimum))),
            _ => None,
        })
        .min()
        .unwrap_or(NO_SOA_NEGATIVE_TTL)
}

/// A TTL as RFC 2181 §8 reads it: one with the top bit set means zero.
fn ttl_of(raw: u32) -> u32 {
    if raw > i32::MAX as u32 { 0 } else { raw }
}

/// A TXT record's text: its character-strings joined, at most [`MAX_TXT`]
/// octets, as lossy UTF-8 (a cut character becomes U+FFFD).
fn text(txt: &TXT) -> String {
    let mut octets = Vec::new();
    for part in &txt.txt_data {
        let room = MAX_TXT - octets.len();
        octets.extend_from_slice(&part[..part.len().min(room)]);
    }
    String::from_utf8_lossy(&octets).into_owned()
}

/// A host name as callers compare it: lowercase, without the final dot.
fn host(name: &Name) -> String {
    let mut ascii = name.to_lowercase().to_ascii();
    if ascii.ends_with('.') {
        ascii.pop();
    }
    ascii
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;

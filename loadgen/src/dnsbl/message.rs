//! DNS messages in and out, through hickory-proto: reading a query and
//! writing each kind of answer the emulator gives.
//!
//! Every answer is built here from the request alone, so the rest of the
//! emulator deals in verdicts and never in wire format, and the tests parse
//! each answer back with the same library a resolver would use.

use std::net::Ipv4Addr;

use hickory_proto::ProtoError;
use hickory_proto::op::{Edns, Message, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record};

/// The address in every forged answer (`--spoof-id`): inside 127.0.0.0/8
/// like real codes, but used by no list, so a test that sees it knows a
/// resolver took the forgery.
pub const SPOOFED_CODE: Ipv4Addr = Ipv4Addr::new(127, 66, 66, 66);

/// The UDP payload size we say we accept when the query uses EDNS: the
/// size the DNS community settled on to avoid fragmentation.
const EDNS_PAYLOAD: u16 = 1232;

/// SOA timers (refresh, retry, expire) for negative answers; only the
/// minimum, set to the TTL, matters to a resolver.
const SOA_TIMERS: (i32, i32, i32) = (3600, 600, 86_400);

/// A query that cannot be answered normally.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unanswerable {
    /// Not a query at all (too short, or a response): say nothing.
    Ignore,
    /// A query we understand enough to refuse: send these bytes.
    Refuse(Vec<u8>),
}

/// Reads a packet that should be a standard query with one question.
///
/// Anything else is [`Unanswerable`]: FORMERR for a query that does not
/// parse or asks several questions, NOTIMP for other opcodes (UPDATE,
/// NOTIFY), silence for responses and runts, as a real server does.
pub(crate) fn read_query(packet: &[u8]) -> Result<Message, Unanswerable> {
    const HEADER: usize = 12;
    const RESPONSE_BIT: u8 = 0x80;
    if packet.len() < HEADER || packet[2] & RESPONSE_BIT != 0 {
        return Err(Unanswerable::Ignore);
    }
    let Ok(request) = Message::from_vec(packet) else {
        let id = u16::from_be_bytes([packet[0], packet[1]]);
        let refusal = Message::error_msg(id, OpCode::Query, ResponseCode::FormErr);
        return Err(refusal
            .to_vec()
            .map_or(Unanswerable::Ignore, Unanswerable::Refuse));
    };
    let rcode = if request.metadata.op_code != OpCode::Query {
        ResponseCode::NotImp
    } else if request.queries.len() != 1 {
        ResponseCode::FormErr
    } else {
        return Ok(request);
    };
    let refusal = Answer::new(&request, rcode, false).finish();
    Err(refusal.map_or(Unanswerable::Ignore, Unanswerable::Refuse))
}

/// An answer being built for one request.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The response so far.
    message: Message,
}

impl Answer {
    /// A response to `request` with `rcode`, echoing its question, its ID
    /// and its RD and CD bits, with EDNS if the request had it (RFC 6891
    /// asks for that); `authoritative` for answers from a zone we serve.
    pub(crate) fn new(request: &Message, rcode: ResponseCode, authoritative: bool) -> Self {
        let mut message = Message::response(request.metadata.id, request.metadata.op_code);
        message.metadata = Metadata::response_from_request(&request.metadata);
        message.metadata.authoritative = authoritative;
        message.metadata.response_code = rcode;
        message.add_queries(request.queries.iter().cloned());
        if request.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(EDNS_PAYLOAD);
            message.set_edns(edns);
        }
        Self { message }
    }

    /// Adds one A record per code for the question's name.
    pub(crate) fn addresses(mut self, codes: &[Ipv4Addr], ttl: u32) -> Self {
        let name = self.question();
        for &code in codes {
            let record = Record::from_rdata(name.clone(), ttl, RData::A(A(code)));
            self.message.add_answer(record);
        }
        self
    }

    /// Adds a TXT record with `text` for the question's name.
    pub(crate) fn text(mut self, text: &str, ttl: u32) -> Self {
        let txt = TXT::new(vec![text.to_owned()]);
        let record = Record::from_rdata(self.question(), ttl, RData::TXT(txt));
        self.message.add_answer(record);
        self
    }

    /// Adds the zone's SOA to the authority section, whose minimum a
    /// resolver uses as the TTL of this negative answer (RFC 2308).
    pub(crate) fn soa(mut self, zone: &str, ttl: u32) -> Result<Self, ProtoError> {
        let apex = Name::from_ascii(format!("{zone}."))?;
        let host = Name::from_ascii(format!("ns.{zone}."))?;
        let mailbox = Name::from_ascii(format!("hostmaster.{zone}."))?;
        let (refresh, retry, expire) = SOA_TIMERS;
        let soa = SOA::new(host, mailbox, 1, refresh, retry, expire, ttl);
        self.message
            .add_authority(Record::from_rdata(apex, ttl, RData::SOA(soa)));
        Ok(self)
    }

    /// Sets TC: the answer did not fit, ask again over TCP.
    pub(crate) fn truncated(mut self) -> Self {
        self.message.metadata.truncation = true;
        self
    }

    /// Changes the ID to one the resolver did not use: a forged answer.
    pub(crate) fn forged(mut self) -> Self {
        self.message.metadata.id = self.message.metadata.id.wrapping_add(1);
        self
    }

    /// The wire bytes.
    pub(crate) fn finish(self) -> Result<Vec<u8>, ProtoError> {
        self.message.to_vec()
    }

    /// The name asked about, as the resolver spelled it (0x20 case
    /// randomisation must come back intact).
    fn question(&self) -> Name {
        self.message
            .queries
            .first()
            .map_or_else(Name::root, |query| query.name().clone())
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{MessageType, Query};
    use hickory_proto::rr::RecordType;

    use super::*;

    fn query(name: &str, kind: RecordType) -> Message {
        let mut message = Message::query();
        message.metadata.id = 4242;
        message.metadata.recursion_desired = true;
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        message
    }

    fn bytes(message: &Message) -> Vec<u8> {
        message.to_vec().unwrap()
    }

    fn parse(bytes: Vec<u8>) -> Message {
        Message::from_vec(&bytes).unwrap()
    }

    #[test]
    fn listed_answer_parses_back() {
        let request = query("2.0.0.127.ZEN.test.", RecordType::A);
        let codes = [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 4)];
        let answer = parse(
            Answer::new(&request, ResponseCode::NoError, true)
                .addresses(&codes, 300)
                .finish()
                .unwrap(),
        );
        assert_eq!(answer.metadata.id, 4242);
        assert_eq!(answer.metadata.message_type, MessageType::Response);
        assert!(answer.metadata.authoritative && answer.metadata.recursion_desired);
        assert_eq!(answer.queries, request.queries);
        let got: Vec<(String, u32, RData)> = answer
            .answers
            .iter()
            .map(|r| (r.name.to_ascii(), r.ttl, r.data.clone()))
            .collect();
        assert_eq!(
            got,
            codes
                .iter()
                .map(|&c| ("2.0.0.127.ZEN.test.".to_owned(), 300, RData::A(A(c))))
                .collect::<Vec<_>>()
        );
        assert!(answer.edns.is_none());
    }

    #[test]
    fn nxdomain_carries_the_soa_and_edns_is_echoed() {
        let mut request = query("3.0.0.127.zen.test.", RecordType::A);
        request.set_edns(Edns::new());
        let answer = parse(
            Answer::new(&request, ResponseCode::NXDomain, true)
                .soa("zen.test", 60)
                .unwrap()
                .finish()
                .unwrap(),
        );
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        assert!(answer.answers.is_empty());
        let RData::SOA(soa) = &answer.authorities[0].data else {
            panic!("{:?}", answer.authorities);
        };
        assert_eq!(answer.authorities[0].name.to_ascii(), "zen.test.");
        assert_eq!(
            (soa.minimum, soa.mname.to_ascii()),
            (60, "ns.zen.test.".into())
        );
        assert_eq!(answer.edns.unwrap().max_payload(), EDNS_PAYLOAD);
    }

    #[test]
    fn txt_truncated_and_forged() {
        let request = query("example.com.dbl.test.", RecordType::TXT);
        let answer = parse(
            Answer::new(&request, ResponseCode::NoError, true)
                .text("see https://dbl.test/q", 5)
                .finish()
                .unwrap(),
        );
        assert_eq!(
            answer.answers[0].data,
            RData::TXT(TXT::new(vec!["see https://dbl.test/q".into()]))
        );
        let cut = parse(
            Answer::new(&request, ResponseCode::NoError, true)
                .truncated()
                .finish()
                .unwrap(),
        );
        assert!(cut.metadata.truncation && cut.answers.is_empty());
        let forged = parse(
            Answer::new(&request, ResponseCode::NoError, true)
                .forged()
                .finish()
                .unwrap(),
        );
        assert_eq!(forged.metadata.id, 4243);
    }

    #[test]
    fn what_is_not_a_plain_query_is_refused_or_ignored() {
        let good = query("a.zen.test.", RecordType::A);
        assert_eq!(read_query(&bytes(&good)).unwrap(), good);

        assert_eq!(read_query(b"short"), Err(Unanswerable::Ignore));
        let mut response = good.clone();
        response.metadata.message_type = MessageType::Response;
        assert_eq!(read_query(&bytes(&response)), Err(Unanswerable::Ignore));

        let refused = |packet: &[u8]| match read_query(packet) {
            Err(Unanswerable::Refuse(bytes)) => parse(bytes),
            other => panic!("{other:?}"),
        };
        let mut two = good.clone();
        two.add_query(Query::query(
            Name::from_ascii("b.zen.test.").unwrap(),
            RecordType::A,
        ));
        assert_eq!(
            refused(&bytes(&two)).metadata.response_code,
            ResponseCode::FormErr
        );

        let mut notify = good.clone();
        notify.metadata.op_code = OpCode::Notify;
        assert_eq!(
            refused(&bytes(&notify)).metadata.response_code,
            ResponseCode::NotImp
        );

        // A header that promises a question that is not there.
        let mut broken = bytes(&good);
        broken.truncate(14);
        let answer = refused(&broken);
        assert_eq!(answer.metadata.response_code, ResponseCode::FormErr);
        assert_eq!(answer.metadata.id, 4242);
    }
}

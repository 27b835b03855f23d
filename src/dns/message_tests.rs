//! Tests of the pure message layer: queries built and parsed back, answers
//! built by hand with hickory-proto the way a recursive resolver sends them.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::*;

/// The ID of every query here.
const ID: u16 = 0x5eed;

/// The name asked about unless a test says otherwise.
const LISTED: &str = "2.0.0.127.zen.test.";

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// A response with ID [`ID`] echoing the question `asked`/`kind`, as a
/// recursive resolver sends it, then changed by `edit`.
fn response(asked: &str, kind: RecordType, edit: impl FnOnce(&mut Message)) -> Vec<u8> {
    let mut message = Message::response(ID, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.recursion_available = true;
    message.add_query(Query::query(name(asked), kind));
    edit(&mut message);
    message.to_vec().unwrap()
}

fn record(owner: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name(owner), ttl, data)
}

/// The zone's SOA with its own TTL and its minimum field.
fn soa(ttl: u32, minimum: u32) -> Record {
    let soa = SOA::new(
        name("ns.zen.test."),
        name("hostmaster.zen.test."),
        1,
        3600,
        600,
        86_400,
        minimum,
    );
    record("zen.test.", ttl, RData::SOA(soa))
}

/// Reads `packet` as the answer to `kind` about [`LISTED`] sent with [`ID`].
fn read(kind: RecordKind, packet: &[u8]) -> Result<Response, ResponseError> {
    Question::new(LISTED, kind).unwrap().read(ID, packet)
}

/// Like [`read`], for a packet that must be a final answer.
fn answer(kind: RecordKind, packet: &[u8]) -> Answer {
    match read(kind, packet) {
        Ok(Response::Answer(answer)) => answer,
        other => panic!("{other:?}"),
    }
}

#[test]
fn query_asks_one_question_with_recursion_and_edns() {
    let kinds = [
        (RecordKind::A, RecordType::A),
        (RecordKind::Aaaa, RecordType::AAAA),
        (RecordKind::Txt, RecordType::TXT),
        (RecordKind::Mx, RecordType::MX),
        (RecordKind::Ptr, RecordType::PTR),
    ];
    for (kind, wire_type) in kinds {
        let question = Question::new("2.0.0.127.Zen.Test", kind).unwrap();
        let query = Message::from_vec(&question.query(0xbeef)).unwrap();
        assert_eq!(query.metadata.id, 0xbeef);
        assert_eq!(query.metadata.message_type, MessageType::Query);
        assert_eq!(query.metadata.op_code, OpCode::Query);
        assert!(query.metadata.recursion_desired);
        assert_eq!(query.queries.len(), 1);
        let asked = &query.queries[0];
        assert!(asked.name().is_fqdn());
        assert_eq!(asked.name(), &name(LISTED));
        assert_eq!(
            (asked.query_type(), asked.query_class()),
            (wire_type, DNSClass::IN)
        );
        assert_eq!(query.edns.unwrap().max_payload(), EDNS_PAYLOAD);
        // Another attempt changes the ID and nothing else.
        assert_eq!(question.query(1)[2..], question.query(0xbeef)[2..]);
        assert_eq!(question.query(1)[..2], [0, 1]);
    }
}

#[test]
fn names_are_checked_and_idna_encoded() {
    let asked = |text: &str| {
        let question = Question::new(text, RecordKind::Mx).unwrap();
        Message::from_vec(&question.query(ID)).unwrap().queries[0]
            .name()
            .to_ascii()
    };
    assert_eq!(asked("bücher.example"), "xn--bcher-kva.example.");
    assert_eq!(asked("_dmarc.example.com."), "_dmarc.example.com.");
    assert_eq!(asked("odd_label.example.com"), "odd_label.example.com.");

    for bad in [
        "a..b".to_owned(),
        format!("{}.test", "x".repeat(64)),
        format!("{}test", "abcdefghi.".repeat(26)),
    ] {
        let error = Question::new(&bad, RecordKind::A).unwrap_err();
        assert_eq!(error.name, bad);
        assert!(error.to_string().contains("is not a DNS name"), "{error}");
    }
}

#[test]
fn listed_addresses_come_with_the_smallest_ttl() {
    let two = Ipv4Addr::new(127, 0, 0, 2);
    let four = Ipv4Addr::new(127, 0, 0, 4);
    let packet = response(LISTED, RecordType::A, |m| {
        m.add_answer(record(LISTED, 300, RData::A(A(two))));
        m.add_answer(record(LISTED, 120, RData::A(A(four))));
        // Neither of these is an answer to our question.
        m.add_answer(record(LISTED, 5, RData::TXT(TXT::new(vec!["x".into()]))));
        m.add_answer(record("3.0.0.127.zen.test.", 5, RData::A(A(two))));
    });
    assert_eq!(
        answer(RecordKind::A, &packet),
        Answer::Records {
            records: vec![RecordData::A(two), RecordData::A(four)],
            ttl: 120,
        }
    );
}

#[test]
fn each_kind_reads_its_own_records() {
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let packet = response(LISTED, RecordType::AAAA, |m| {
        m.add_answer(record(LISTED, 60, RData::AAAA(AAAA(v6))));
    });
    assert_eq!(
        answer(RecordKind::Aaaa, &packet),
        Answer::Records {
            records: vec![RecordData::Aaaa(v6)],
            ttl: 60,
        }
    );

    let packet = response(LISTED, RecordType::TXT, |m| {
        let spf = TXT::new(vec!["v=spf1 ".into(), "-all".into()]);
        m.add_answer(record(LISTED, 60, RData::TXT(spf)));
    });
    assert_eq!(
        answer(RecordKind::Txt, &packet),
        Answer::Records {
            records: vec![RecordData::Txt("v=spf1 -all".into())],
            ttl: 60,
        }
    );

    let packet = response(LISTED, RecordType::MX, |m| {
        let mx = MX::new(10, name("MX1.Example.COM."));
        m.add_answer(record(LISTED, 60, RData::MX(mx)));
        m.add_answer(record(LISTED, 60, RData::MX(MX::new(0, Name::root()))));
    });
    assert_eq!(
        answer(RecordKind::Mx, &packet),
        Answer::Records {
            records: vec![
                RecordData::Mx {
                    preference: 10,
                    exchange: "mx1.example.com".into(),
                },
                RecordData::Mx {
                    preference: 0,
                    exchange: String::new(),
                },
            ],
            ttl: 60,
        }
    );

    let packet = response(LISTED, RecordType::PTR, |m| {
        let ptr = PTR(name("Host.Example.NET."));
        m.add_answer(record(LISTED, 60, RData::PTR(ptr)));
    });
    assert_eq!(
        answer(RecordKind::Ptr, &packet),
        Answer::Records {
            records: vec![RecordData::Ptr("host.example.net".into())],
            ttl: 60,
        }
    );
}

#[test]
fn txt_is_bounded_and_read_as_lossy_utf8() {
    let chunk = [b'a'; 255];
    let packet = response(LISTED, RecordType::TXT, |m| {
        let long = TXT::from_bytes(vec![&chunk[..]; 20]);
        m.add_answer(record(LISTED, 60, RData::TXT(long)));
        let latin1 = TXT::from_bytes(vec![&b"caf\xe9"[..]]);
        m.add_answer(record(LISTED, 60, RData::TXT(latin1)));
    });
    let Answer::Records { records, .. } = answer(RecordKind::Txt, &packet) else {
        panic!("no records");
    };
    assert_eq!(records[0], RecordData::Txt("a".repeat(MAX_TXT)));
    assert_eq!(records[1], RecordData::Txt("caf\u{fffd}".into()));
}

#[test]
fn forged_and_stray_datagrams_are_told_apart() {
    let listed = |m: &mut Message| {
        m.add_answer(record(LISTED, 60, RData::A(A(Ipv4Addr::new(127, 0, 0, 2)))));
    };
    let stray = |packet: &[u8]| match read(RecordKind::A, packet) {
        Err(ResponseError::Stray(why)) => why,
        other => panic!("{other:?}"),
    };

    let mut forged = response(LISTED, RecordType::A, listed);
    forged[..2].copy_from_slice(&(ID + 1).to_be_bytes());
    assert_eq!(stray(&forged), Stray::WrongId);

    let mut query = response(LISTED, RecordType::A, listed);
    query[2] &= !QR_BIT;
    assert_eq!(stray(&query), Stray::NotAResponse);

    assert_eq!(stray(b"hello"), Stray::Unreadable);
    let mut cut = response(LISTED, RecordType::A, listed);
    cut.truncate(cut.len() - 3);
    assert_eq!(stray(&cut), Stray::Unreadable);

    let other_name = response("3.0.0.127.zen.test.", RecordType::A, listed);
    assert_eq!(stray(&other_name), Stray::WrongQuestion);
    let other_type = response(LISTED, RecordType::TXT, listed);
    assert_eq!(stray(&other_type), Stray::WrongQuestion);
    let other_class = response(LISTED, RecordType::A, |m| {
        m.queries[0].set_query_class(DNSClass::CH);
    });
    assert_eq!(stray(&other_class), Stray::WrongQuestion);
    let two_questions = response(LISTED, RecordType::A, |m| {
        m.add_query(Query::query(name(LISTED), RecordType::A));
    });
    assert_eq!(stray(&two_questions), Stray::WrongQuestion);
    let no_question = response(LISTED, RecordType::A, |m| m.queries.clear());
    assert_eq!(stray(&no_question), Stray::WrongQuestion);

    // 0x20: the name may come back in another case.
    let shouted = response("2.0.0.127.ZEN.Test.", RecordType::A, listed);
    assert!(matches!(
        read(RecordKind::A, &shouted),
        Ok(Response::Answer(Answer::Records { .. }))
    ));
}

#[test]
fn cname_chains_are_followed_within_the_answer() {
    let www = "www.example.test.";
    let address = Ipv4Addr::new(192, 0, 2, 1);
    let packet = response(www, RecordType::A, |m| {
        // In any order; records of other names are ignored.
        m.add_answer(record("b.cdn.test.", 300, RData::A(A(address))));
        m.add_answer(record("other.test.", 1, RData::A(A(address))));
        m.add_answer(record(
            "a.cdn.test.",
            600,
            RData::CNAME(CNAME(name("b.cdn.test."))),
        ));
        m.add_answer(record(www, 30, RData::CNAME(CNAME(name("A.cdn.test.")))));
    });
    let question = Question::new(www, RecordKind::A).unwrap();
    assert_eq!(
        question.read(ID, &packet),
        Ok(Response::Answer(Answer::Records {
            records: vec![RecordData::A(address)],
            ttl: 30,
        }))
    );

    // An alias to a name with no record of our type is NODATA.
    let dangling = response(LISTED, RecordType::A, |m| {
        m.add_answer(record(LISTED, 60, RData::CNAME(CNAME(name("gone.test.")))));
        m.add_authority(soa(600, 45));
    });
    assert_eq!(
        answer(RecordKind::A, &dangling),
        Answer::NoData { negative_ttl: 45 }
    );

    let looped = response(LISTED, RecordType::A, |m| {
        m.add_answer(record(LISTED, 60, RData::CNAME(CNAME(name("loop.test.")))));
        m.add_answer(record("loop.test.", 60, RData::CNAME(CNAME(name(LISTED)))));
    });
    assert_eq!(read(RecordKind::A, &looped), Err(ResponseError::CnameChain));
}

#[test]
fn negative_answers_take_their_ttl_from_the_soa() {
    let nxdomain = |authority: Option<Record>| {
        response(LISTED, RecordType::A, |m| {
            m.metadata.response_code = ResponseCode::NXDomain;
            m.add_authorities(authority);
        })
    };
    assert_eq!(
        answer(RecordKind::A, &nxdomain(Some(soa(900, 60)))),
        Answer::NxDomain { negative_ttl: 60 }
    );
    assert_eq!(
        answer(RecordKind::A, &nxdomain(Some(soa(30, 3600)))),
        Answer::NxDomain { negative_ttl: 30 }
    );
    assert_eq!(
        answer(RecordKind::A, &nxdomain(None)),
        Answer::NxDomain {
            negative_ttl: NO_SOA_NEGATIVE_TTL
        }
    );

    let nodata = response(LISTED, RecordType::TXT, |m| {
        m.add_authority(soa(300, 120));
    });
    assert_eq!(
        answer(RecordKind::Txt, &nodata),
        Answer::NoData { negative_ttl: 120 }
    );
}

#[test]
fn ttls_with_the_top_bit_set_mean_zero() {
    let packet = response(LISTED, RecordType::A, |m| {
        let code = RData::A(A(Ipv4Addr::new(127, 0, 0, 2)));
        m.add_answer(record(LISTED, 0x8000_0000, code));
    });
    let Answer::Records { ttl, .. } = answer(RecordKind::A, &packet) else {
        panic!("no records");
    };
    assert_eq!(ttl, 0);
}

#[test]
fn truncated_answers_go_to_tcp_whatever_their_code() {
    for code in [ResponseCode::NoError, ResponseCode::NXDomain] {
        let packet = response(LISTED, RecordType::TXT, |m| {
            m.metadata.truncation = true;
            m.metadata.response_code = code;
        });
        assert_eq!(read(RecordKind::Txt, &packet), Ok(Response::Truncated));
    }
}

#[test]
fn failures_and_other_response_codes() {
    let with_code = |code| {
        response(LISTED, RecordType::A, |m| {
            m.metadata.response_code = code;
        })
    };
    assert_eq!(
        answer(RecordKind::A, &with_code(ResponseCode::ServFail)),
        Answer::ServFail
    );
    assert_eq!(
        answer(RecordKind::A, &with_code(ResponseCode::Refused)),
        Answer::Refused
    );
    let formerr = read(RecordKind::A, &with_code(ResponseCode::FormErr)).unwrap_err();
    assert_eq!(formerr, ResponseError::Rcode(1));
    assert_eq!(
        formerr.to_string(),
        format!("the DNS server answered {}", ResponseCode::FormErr)
    );
    assert_eq!(
        read(RecordKind::A, &with_code(ResponseCode::NotImp)),
        Err(ResponseError::Rcode(4))
    );
}

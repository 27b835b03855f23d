//! The emulator without sockets or clocks: a query packet in, the packets to
//! send back and how to count it out.
//!
//! The IO shell hands every received query to [`Responder::respond`] and
//! sends what comes back (after `--latency`); every policy (zones, loss,
//! SERVFAIL, truncation, forged IDs) is decided here, so the tests drive it
//! with byte strings.

use hickory_proto::ProtoError;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use super::config::DnsblConfig;
use super::counts::Class;
use super::hash::{stable_hash, unit};
use super::message::{self, Answer, SPOOFED_CODE, Unanswerable};
use super::zones::{Verdict, Zones};

/// How a query arrived: truncation and forged answers only make sense over
/// UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// A datagram.
    Udp,
    /// A length-prefixed message on a TCP connection.
    Tcp,
}

/// What to do about one query.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The zone the query fell in, for the counts.
    pub(crate) zone: Option<usize>,
    /// How to count it.
    pub(crate) class: Class,
    /// A forged answer to send at once, before the real one (`--spoof-id`).
    pub(crate) forged: Option<Vec<u8>>,
    /// The answer to send after the latency; none when dropped.
    pub(crate) answer: Option<Vec<u8>>,
}

impl Reply {
    /// A query left unanswered, counted as `class`.
    fn silent(zone: Option<usize>, class: Class) -> Self {
        Self {
            zone,
            class,
            forged: None,
            answer: None,
        }
    }

    /// A query answered with `answer` (if it could be encoded) and counted
    /// as `class`.
    fn new(zone: Option<usize>, class: Class, answer: Result<Vec<u8>, ProtoError>) -> Self {
        // An answer that does not encode is not sent, and counted as an
        // error so the run does not look clean.
        let (class, answer) = match answer {
            Ok(bytes) => (class, Some(bytes)),
            Err(_) => (Class::Error, None),
        };
        Self {
            zone,
            class,
            forged: None,
            answer,
        }
    }
}

/// Answers queries the way the config says.
#[derive(Debug)]
pub(crate) struct Responder {
    /// The zones and their listings.
    zones: Zones,
    /// TTL of answers and of negative answers.
    ttl: u32,
    /// Share of queries dropped.
    loss: f64,
    /// Share of queries answered SERVFAIL.
    servfail: f64,
    /// Truncate every UDP answer.
    truncate: bool,
    /// Send a forged answer before every UDP answer.
    spoof_id: bool,
    /// Seed of the loss and SERVFAIL draws.
    seed: u64,
    /// Queries seen so far: the draw for each query depends on the seed
    /// and its arrival number only.
    seen: u64,
}

impl Responder {
    /// A responder for `zones` with the rest of `config`.
    pub(crate) fn new(config: &DnsblConfig, zones: Zones) -> Self {
        Self {
            zones,
            ttl: config.ttl,
            loss: config.loss,
            servfail: config.servfail,
            truncate: config.truncate,
            spoof_id: config.spoof_id,
            seed: config.seed,
            seen: 0,
        }
    }

    /// Decides the answer to one received packet.
    pub(crate) fn respond(&mut self, packet: &[u8], transport: Transport) -> Reply {
        let number = self.seen;
        self.seen += 1;
        let request = match message::read_query(packet) {
            Ok(request) => request,
            Err(Unanswerable::Ignore) => return Reply::silent(None, Class::Error),
            Err(Unanswerable::Refuse(bytes)) => return Reply::new(None, Class::Error, Ok(bytes)),
        };
        let query = &request.queries[0];
        let name = query.name().to_lowercase().to_ascii();
        let Some((index, key)) = self.zones.find(name.trim_end_matches('.')) else {
            let refusal = Answer::new(&request, ResponseCode::Refused, false).finish();
            return Reply::new(None, Class::Error, refusal);
        };
        let zone = Some(index);
        if self.draw(b"loss", number) < self.loss {
            return Reply::silent(zone, Class::Dropped);
        }
        let mut reply = if self.draw(b"servfail", number) < self.servfail {
            let failure = Answer::new(&request, ResponseCode::ServFail, false).finish();
            Reply::new(zone, Class::Error, failure)
        } else if transport == Transport::Udp && self.truncate {
            let cut = Answer::new(&request, ResponseCode::NoError, true)
                .truncated()
                .finish();
            Reply::new(zone, Class::Truncated, cut)
        } else {
            self.answer(&request, query.query_type(), index, key)
        };
        if transport == Transport::Udp && self.spoof_id {
            reply.forged = Answer::new(&request, ResponseCode::NoError, true)
                .addresses(&[SPOOFED_CODE], self.ttl)
                .forged()
                .finish()
                .ok();
        }
        reply
    }

    /// The real answer for `key` in zone `zone`: A records or the TXT for a
    /// listed name (error codes included), NXDOMAIN with the zone's SOA for
    /// the rest.
    fn answer(&self, request: &Message, kind: RecordType, zone: usize, key: &str) -> Reply {
        let ttl = self.ttl;
        let found = Answer::new(request, ResponseCode::NoError, true);
        let (class, answer) = match (self.zones.verdict(zone, key), kind) {
            (Verdict::Listed(codes), RecordType::A) => (Class::Listed, found.addresses(codes, ttl)),
            (Verdict::Error(code), RecordType::A) => (Class::Error, found.addresses(&[code], ttl)),
            (Verdict::Listed(_), RecordType::TXT) => {
                (Class::Listed, found.text(self.zones.txt(zone), ttl))
            }
            (Verdict::Error(_), RecordType::TXT) => {
                (Class::Error, found.text(self.zones.txt(zone), ttl))
            }
            _ => {
                let missing = Answer::new(request, ResponseCode::NXDomain, true)
                    .soa(self.zones.name(zone), ttl);
                return Reply::new(
                    Some(zone),
                    Class::NxDomain,
                    missing.and_then(Answer::finish),
                );
            }
        };
        Reply::new(Some(zone), class, answer.finish())
    }

    /// The draw in `[0, 1)` for query `number` and purpose `what`: fixed by
    /// the seed, independent between purposes.
    fn draw(&self, what: &[u8], number: u64) -> f64 {
        unit(stable_hash(&[
            what,
            &self.seed.to_le_bytes(),
            &number.to_le_bytes(),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::op::Query;
    use hickory_proto::rr::{Name, RData};

    use super::*;

    fn responder(config: DnsblConfig) -> Responder {
        let zones = Zones::new(&config).unwrap();
        Responder::new(&config, zones)
    }

    fn zen(config: DnsblConfig) -> Responder {
        responder(DnsblConfig {
            listings: vec!["zen.test=2.0.0.127=127.0.0.2".parse().unwrap()],
            zones: vec!["dbl.test".parse().unwrap()],
            ..config
        })
    }

    fn packet(name: &str, kind: RecordType) -> Vec<u8> {
        let mut message = Message::query();
        message.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
        message.to_vec().unwrap()
    }

    fn parse(bytes: &Option<Vec<u8>>) -> Message {
        Message::from_vec(bytes.as_ref().expect("an answer")).unwrap()
    }

    #[test]
    fn answers_by_verdict_and_type() {
        let mut responder = zen(DnsblConfig::default());
        let mut ask = |name: &str, kind| responder.respond(&packet(name, kind), Transport::Udp);

        let listed = ask("2.0.0.127.zen.test.", RecordType::A);
        assert_eq!((listed.zone, listed.class), (Some(1), Class::Listed));
        assert_eq!(
            parse(&listed.answer).answers[0].data,
            RData::A(Ipv4Addr::new(127, 0, 0, 2).into())
        );

        let txt = ask("2.0.0.127.Zen.Test.", RecordType::TXT);
        assert_eq!(txt.class, Class::Listed);
        assert_eq!(parse(&txt.answer).answers.len(), 1);

        for (name, kind) in [
            ("3.0.0.127.zen.test.", RecordType::A),
            ("3.0.0.127.zen.test.", RecordType::TXT),
            ("2.0.0.127.zen.test.", RecordType::AAAA),
        ] {
            let missing = ask(name, kind);
            assert_eq!(missing.class, Class::NxDomain, "{name} {kind}");
            let answer = parse(&missing.answer);
            assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
            assert_eq!(answer.authorities.len(), 1);
        }

        let outside = ask("example.org.", RecordType::A);
        assert_eq!((outside.zone, outside.class), (None, Class::Error));
        let answer = parse(&outside.answer);
        assert_eq!(answer.metadata.response_code, ResponseCode::Refused);
        assert!(!answer.metadata.authoritative);

        assert_eq!(
            responder.respond(b"junk", Transport::Udp),
            Reply::silent(None, Class::Error)
        );
    }

    #[test]
    fn error_codes_are_counted_as_errors() {
        let mut responder = responder(DnsblConfig {
            error_codes: vec!["zen.test=127.255.255.254".parse().unwrap()],
            ..DnsblConfig::default()
        });
        let reply = responder.respond(&packet("9.9.9.9.zen.test.", RecordType::A), Transport::Udp);
        assert_eq!(reply.class, Class::Error);
        assert_eq!(
            parse(&reply.answer).answers[0].data,
            RData::A(Ipv4Addr::new(127, 255, 255, 254).into())
        );
    }

    #[test]
    fn loss_and_servfail_follow_the_seed() {
        let config = DnsblConfig {
            loss: 0.3,
            servfail: 0.3,
            seed: 9,
            ..DnsblConfig::default()
        };
        let run = || {
            let mut responder = zen(config.clone());
            (0..1000)
                .map(|_| {
                    let query = packet("1.0.0.127.zen.test.", RecordType::A);
                    responder.respond(&query, Transport::Udp).class
                })
                .collect::<Vec<_>>()
        };
        let classes = run();
        assert_eq!(classes, run());
        let share = |class| classes.iter().filter(|&&c| c == class).count();
        assert!(
            (250..350).contains(&share(Class::Dropped)),
            "{}",
            share(Class::Dropped)
        );
        // SERVFAIL is drawn among the queries that were not dropped.
        assert!(
            (160..260).contains(&share(Class::Error)),
            "{}",
            share(Class::Error)
        );

        let other_seed = {
            let mut responder = zen(DnsblConfig {
                seed: 10,
                ..config.clone()
            });
            (0..1000)
                .map(|_| {
                    let query = packet("1.0.0.127.zen.test.", RecordType::A);
                    responder.respond(&query, Transport::Udp).class
                })
                .collect::<Vec<_>>()
        };
        assert_ne!(classes, other_seed);
    }

    #[test]
    fn truncation_sends_udp_to_tcp() {
        let mut responder = zen(DnsblConfig {
            truncate: true,
            ..DnsblConfig::default()
        });
        let query = packet("2.0.0.127.zen.test.", RecordType::A);
        let udp = responder.respond(&query, Transport::Udp);
        assert_eq!(udp.class, Class::Truncated);
        let cut = parse(&udp.answer);
        assert!(cut.metadata.truncation && cut.answers.is_empty());
        let tcp = responder.respond(&query, Transport::Tcp);
        assert_eq!(tcp.class, Class::Listed);
        assert!(!parse(&tcp.answer).metadata.truncation);
    }

    #[test]
    fn forged_answers_go_over_udp_only_with_another_id() {
        let mut responder = zen(DnsblConfig {
            spoof_id: true,
            ..DnsblConfig::default()
        });
        let query = packet("3.0.0.127.zen.test.", RecordType::A);
        let udp = responder.respond(&query, Transport::Udp);
        let (forged, real) = (parse(&udp.forged), parse(&udp.answer));
        assert_ne!(forged.metadata.id, real.metadata.id);
        assert_eq!(forged.answers[0].data, RData::A(SPOOFED_CODE.into()));
        assert_eq!(real.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(responder.respond(&query, Transport::Tcp).forged, None);
    }
}

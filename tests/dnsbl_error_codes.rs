//! Error answers are never listings, end to end: one test per documented
//! error code. Each list answers every query with its code (as Spamhaus does
//! to a public resolver); a client it would otherwise refuse is accepted, and
//! an allowlist's error takes nothing off a blocklist's listing. One more
//! test reads what `ringwall run` logs about such a list.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::binary::Proxy;
use common::triage::screened_rcpt;
use common::{BYE, Client, GREETING, RECIPIENT_OK, SENDER_OK, loopback_sink};
use ringwall::config::ZoneConfig;
use ringwall::rbl::Preset;
use ringwall_loadgen::dnsbl::{self, DnsblConfig};

const REFUSED: &str =
    "550 5.7.1 Service unavailable; client [127.0.0.66] blocked using a DNS blocklist\r\n";

/// RCPT's reply for a client at 127.0.0.66 with `zones` configured, each
/// `(zone, preset, weight)` answered by the emulator per `codes`: a zone
/// named with a code answers every query with it, one named with `None`
/// lists 127.0.0.66 as 127.0.0.2.
fn rcpt_reply(zones: &[(&str, Option<Preset>, f64, Option<&str>)], dnswl: bool) -> String {
    let dns = dnsbl::start(DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: zones
            .iter()
            .map(|(zone, ..)| zone.parse().unwrap())
            .collect(),
        listings: zones
            .iter()
            .filter(|(.., code)| code.is_none())
            .map(|(zone, ..)| format!("{zone}=66.0.0.127=127.0.0.2").parse().unwrap())
            .collect(),
        error_codes: zones
            .iter()
            .filter_map(|(zone, .., code)| {
                code.map(|code| format!("{zone}={code}").parse().unwrap())
            })
            .collect(),
        ..DnsblConfig::default()
    })
    .expect("the emulator starts");
    let mut dnsbl = Vec::new();
    let mut allow = Vec::new();
    for (i, (zone, preset, weight, _)) in zones.iter().enumerate() {
        let entry = ZoneConfig {
            zone: (*zone).into(),
            preset: *preset,
            weight: Some(*weight),
            ..ZoneConfig::default()
        };
        if dnswl && i > 0 {
            allow.push(entry);
        } else {
            dnsbl.push(ZoneConfig {
                display_name: Some("a DNS blocklist".into()),
                ..entry
            });
        }
    }
    let client = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 66));
    let reply = screened_rcpt(dns.local_addr(), dnsbl, allow, client);
    for (zone, ..) in zones {
        assert_eq!(dns.counts().zone(zone).queries, 1, "{zone} was asked once");
    }
    reply
}

fn zen_answers(code: &str) -> String {
    rcpt_reply(
        &[("zen.test", Some(Preset::SpamhausZen), 3.0, Some(code))],
        false,
    )
}

#[test]
fn spamhaus_typing_error_127_255_255_252() {
    assert_eq!(zen_answers("127.255.255.252"), RECIPIENT_OK);
}

#[test]
fn spamhaus_public_resolver_127_255_255_254() {
    assert_eq!(zen_answers("127.255.255.254"), RECIPIENT_OK);
}

#[test]
fn spamhaus_excessive_queries_127_255_255_255() {
    assert_eq!(zen_answers("127.255.255.255"), RECIPIENT_OK);
}

/// RFC 5782 §2.1: 127.0.0.1 is never a listing, whatever the list.
#[test]
fn rfc5782_127_0_0_1_from_any_list() {
    let reply = rcpt_reply(&[("plain.test", None, 3.0, Some("127.0.0.1"))], false);
    assert_eq!(reply, RECIPIENT_OK);
}

/// A listing is still a listing beside an error answer of another list.
#[test]
fn a_listing_beside_an_error_still_counts() {
    let reply = rcpt_reply(
        &[
            ("bl.test", None, 3.0, None),
            (
                "zen.test",
                Some(Preset::SpamhausZen),
                3.0,
                Some("127.255.255.254"),
            ),
        ],
        false,
    );
    assert_eq!(reply, REFUSED);
}

/// DNSWL's error code 127.0.0.255 takes nothing off: were it read as a
/// listing (-5), the client the blocklist names (+3) would pass.
#[test]
fn dnswl_error_127_0_0_255() {
    let reply = rcpt_reply(
        &[
            ("bl.test", None, 3.0, None),
            ("wl.test", Some(Preset::Dnswl), -5.0, Some("127.0.0.255")),
        ],
        true,
    );
    assert_eq!(reply, REFUSED);
}

/// What an operator sees of a list refusing us: `ringwall run` logs its
/// error answers once (within the minute), naming the zone's rule and never
/// the zone, and counts every one; the clients they came for pass.
#[test]
fn error_answers_are_logged_once_as_an_unhealthy_zone() {
    let dns = dnsbl::start(DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        error_codes: vec!["zen.test=127.255.255.254".parse().unwrap()],
        ..DnsblConfig::default()
    })
    .expect("the emulator starts");
    let sink = loopback_sink(Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let lists = format!(
        "[dns]\nresolvers = [\"{}\"]\n[rbl]\nskip_loopback = false\n\
         [[dnsbl]]\nzone = \"zen.test\"\npreset = \"spamhaus-zen\"\nweight = 3\n",
        dns.local_addr()
    );
    let proxy = Proxy::start(dir.path(), sink.local_addr(), &lists);
    for last in [66, 67] {
        let mut client = Client::connect_from(IpAddr::from([127, 0, 0, last]), proxy.addr());
        assert_eq!(client.reply(), GREETING);
        client.command("EHLO client.example");
        assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
        assert_eq!(client.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
        assert_eq!(client.command("QUIT"), BYE);
    }
    let log = proxy.stop();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("DNS list answers with an error code"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].ends_with(
            "the zone is unhealthy (is the resolver a local recursive one?) \
             zone=\"RBL_ZEN\" code=127.255.255.254 errors=1"
        ),
        "{log}"
    );
    assert!(!log.contains("zen.test"), "{log}");
    // Every answer was an error, and every one was counted: the two clients'
    // and the start-up check's connection from 127.0.0.1.
    let answered = dns.counts().zone("zen.test").queries;
    assert!(answered >= 2, "{}", dns.counts());
    let counted = format!(" zone_errors=[{answered}]");
    assert!(
        log.lines()
            .any(|line| line.contains("triage at stop") && line.ends_with(&counted)),
        "{log}"
    );
}

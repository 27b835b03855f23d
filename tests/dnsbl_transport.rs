//! What the way an answer travels does to triage, end to end: an answer
//! truncated over UDP is asked again over TCP, a forged answer with the
//! wrong query ID is ignored for the real one, and a list that answers
//! SERVFAIL counts as not answering (fail-open: the client passes).

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use common::RECIPIENT_OK;
use common::triage::screened_rcpt;
use ringwall::config::ZoneConfig;
use ringwall::rbl::Preset;
use ringwall_loadgen::dnsbl::{self, DnsblConfig};

const LISTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 66));

const REFUSED: &str =
    "550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN\r\n";

/// RCPT's reply for 127.0.0.66, listed as 127.0.0.2 in a ZEN look-alike
/// served by an emulator changed by `change`.
fn rcpt_reply(change: impl FnOnce(&mut DnsblConfig)) -> String {
    let mut config = DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec!["zen.test".parse().unwrap()],
        listings: vec!["zen.test=66.0.0.127=127.0.0.2".parse().unwrap()],
        ..DnsblConfig::default()
    };
    change(&mut config);
    let dns = dnsbl::start(config).expect("the emulator starts");
    let zen = ZoneConfig {
        zone: "zen.test".into(),
        preset: Some(Preset::SpamhausZen),
        weight: Some(3.0),
        ..ZoneConfig::default()
    };
    screened_rcpt(dns.local_addr(), vec![zen], Vec::new(), LISTED)
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    assert_eq!(rcpt_reply(|c| c.truncate = true), REFUSED);
}

/// The forged answer comes first and names 127.66.66.66, which ZEN does not
/// list: taking it would let the client through.
#[test]
fn a_forged_answer_with_the_wrong_id_is_ignored() {
    assert_eq!(rcpt_reply(|c| c.spoof_id = true), REFUSED);
}

#[test]
fn servfail_counts_as_no_answer() {
    assert_eq!(rcpt_reply(|c| c.servfail = 1.0), RECIPIENT_OK);
}

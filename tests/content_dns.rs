//! DNS in the content verdict, end to end. A message's link domains are
//! asked about in the `[[dnsbl]]` zones keyed by domain (URIBL, SURBL, DBL)
//! through the RBL cache, against the project's DNSBL emulator on loopback,
//! and the listings join the message's verdict; a fail-closed list that
//! does not answer defers the message. The client's reverse DNS, against
//! dnsmasq, gives the RDNS_* and HELO_PTR_MISMATCH rules.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::dnsmasq::Dnsmasq;
use common::{BYE, Client, GREETING, Setup, Stack, message, queue_id, split_verdict};
use ringwall::config::{Config, HumanDuration, ZoneConfig};
use ringwall::rbl::Preset;
use ringwall_loadgen::dnsbl::{self, DnsblConfig, RunningDnsbl};

/// The emulator's zone, asked as a URIBL look-alike.
const ZONE: &str = "uribl.test";

/// The emulator, listing `spam-shop.example` as URIBL black (127.0.0.2).
fn emulator(change: impl FnOnce(&mut DnsblConfig)) -> RunningDnsbl {
    let mut config = DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec![ZONE.parse().unwrap()],
        listings: vec![
            format!("{ZONE}=spam-shop.example=127.0.0.2")
                .parse()
                .unwrap(),
        ],
        ..DnsblConfig::default()
    };
    change(&mut config);
    dnsbl::start(config).expect("the emulator starts")
}

/// ringwall asking `dns` about link domains in [`ZONE`], a listing worth 6
/// (over the tag threshold of 5).
fn link_lists(config: &mut Config, dns: SocketAddr) {
    config.dns.resolvers = vec![dns];
    config.dns.timeout = HumanDuration(Duration::from_millis(400));
    config.content.link_lookup_budget = HumanDuration(Duration::from_secs(2));
    config.dnsbl = vec![ZoneConfig {
        zone: ZONE.into(),
        weight: Some(6.0),
        preset: Some(Preset::Uribl),
        ..ZoneConfig::default()
    }];
}

/// A dated message whose body links `urls`.
fn linking(id: &str, urls: &[&str]) -> Vec<u8> {
    let body: String = urls.iter().map(|url| format!("See {url}\r\n")).collect();
    let plain = String::from_utf8(message(id, &body)).unwrap();
    format!("Date: Fri, 27 Nov 2026 04:00:00 +0000\r\n{plain}").into_bytes()
}

/// The end-of-data reply for `sent`.
fn send(stack: &Stack, sent: &[u8]) -> String {
    let mut client = stack.session();
    client.envelope("a@sender.example", &["u@example.net"]);
    let reply = client.data(sent);
    assert_eq!(client.command("QUIT"), BYE);
    reply
}

#[test]
fn a_listed_link_domain_tags_the_message_and_clean_links_do_not() {
    let dns = emulator(|_| {});
    let stack = Setup::new()
        .config(|c| link_lists(c, dns.local_addr()))
        .start();
    let listed = linking(
        "listed",
        &[
            "https://clean.example/a",
            "https://www.spam-shop.example/buy?x=1",
            "http://deep.sub.spam-shop.example/again",
        ],
    );
    queue_id(&send(&stack, &listed));
    let clean = linking("clean", &["https://clean.example/a"]);
    queue_id(&send(&stack, &clean));
    let dumps = stack.dumps();
    let (_, verdict, _) = split_verdict(&dumps[0].eml);
    assert_eq!(
        verdict,
        "X-Spam-Flag: YES\nX-Spam-Score: 6.0\nX-Spam-Status: Yes, score=6.0 required=5.0 action=tag tests=URIBL_BLACK=6.0\n"
    );
    let (_, verdict, _) = split_verdict(&dumps[1].eml);
    assert_eq!(
        verdict,
        "X-Spam-Score: 0.0\nX-Spam-Status: No, score=0.0 required=5.0 action=accept tests=none\n"
    );
    // Both messages linked clean.example, the first spam-shop.example
    // twice under two host names: one query per registrable domain.
    assert_eq!(dns.counts().zone(ZONE).queries, 2, "{}", dns.counts());
}

#[test]
fn a_silent_fail_closed_list_defers_the_message_and_a_fail_open_one_passes_it() {
    let dns = emulator(|c| c.loss = 1.0);
    let addr = dns.local_addr();
    let silent = |fail_open: bool| {
        Setup::new()
            .config(move |c| {
                link_lists(c, addr);
                c.dns.timeout = HumanDuration(Duration::from_millis(100));
                c.content.link_lookup_budget = HumanDuration(Duration::from_millis(300));
                c.dnsbl[0].fail_open = fail_open;
            })
            .start()
    };
    let sent = linking("silent", &["https://www.spam-shop.example/"]);
    queue_id(&send(&silent(true), &sent));
    assert_eq!(
        send(&silent(false), &sent),
        "451 4.7.1 Message deferred by the content filter; try again later\r\n"
    );
}

/// The `X-Spam-Status` rules of a message from `client` saying `helo`,
/// through a proxy whose resolver is `dns`.
fn rules_from(stack: &Stack, client: Ipv4Addr, helo: &str) -> String {
    let mut session = Client::connect_from(IpAddr::V4(client), stack.addr());
    assert_eq!(session.reply(), GREETING);
    session.command(&format!("EHLO {helo}"));
    session.envelope("a@sender.example", &["u@example.net"]);
    queue_id(&session.data(&linking(helo, &[])));
    assert_eq!(session.command("QUIT"), BYE);
    let dumps = stack.dumps();
    let (_, verdict, _) = split_verdict(&dumps.last().expect("relayed").eml);
    let tests = verdict
        .split("tests=")
        .nth(1)
        .expect("tests= in X-Spam-Status");
    tests.trim_end().to_string()
}

#[test]
fn reverse_dns_of_the_client_against_its_helo() {
    let named = Ipv4Addr::new(127, 0, 0, 77);
    let pointing_nowhere = Ipv4Addr::new(127, 0, 0, 78);
    let nameless = Ipv4Addr::new(127, 0, 0, 79);
    let dns = Dnsmasq::start_zones(
        &["0.0.127.in-addr.arpa", "example.test"],
        &[("mail.example.test", named)],
        &[(pointing_nowhere, "liar.example.test")],
    );
    let stack = Setup::new()
        .config(|c| {
            c.dns.resolvers = vec![dns.addr()];
            c.rbl.skip_loopback = false;
        })
        .start();
    assert_eq!(rules_from(&stack, named, "mail.example.test"), "none");
    assert_eq!(
        rules_from(&stack, named, "smtp.other.example"),
        "HELO_PTR_MISMATCH=0.5"
    );
    assert_eq!(
        rules_from(&stack, pointing_nowhere, "liar.example.test"),
        "RDNS_UNCONFIRMED=0.5"
    );
    assert_eq!(
        rules_from(&stack, nameless, "mail.example.test"),
        "RDNS_NONE=1.0"
    );
}

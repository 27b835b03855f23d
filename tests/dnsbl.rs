//! Connection triage end to end: ringwall with DNS lists, against the
//! project's own DNSBL emulator on loopback (`ringwall-loadgen dnsbl`) and,
//! once, against dnsmasq, a DNS server that is not ours; clients connect from
//! chosen 127.0.0.0/8 addresses (loopback triage is switched on for that).

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use common::dnsmasq::Dnsmasq;
use common::{Client, GREETING, RECIPIENT_OK, SENDER_OK, Setup, message, queue_id};
use ringwall::config::{Config, HumanDuration, RblAction, ZoneConfig};
use ringwall_loadgen::dnsbl::{self, DnsblConfig, RunningDnsbl};

/// The emulator's zone; ringwall asks it as a Spamhaus ZEN look-alike.
const ZONE: &str = "zen.test";

fn client_ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// The emulator, listing `listed` (client address octet → code) in [`ZONE`].
fn emulator(listed: &[(u8, &str)], change: impl FnOnce(&mut DnsblConfig)) -> RunningDnsbl {
    let mut config = DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec![ZONE.parse().unwrap()],
        listings: listed
            .iter()
            .map(|(last, code)| format!("{ZONE}={last}.0.0.127={code}").parse().unwrap())
            .collect(),
        ..DnsblConfig::default()
    };
    change(&mut config);
    dnsbl::start(config).expect("the emulator starts")
}

/// ringwall asking `dns` for [`ZONE`] with the ZEN preset, weight 3 against
/// the default threshold of 3.
fn triage(config: &mut Config, dns: SocketAddr) {
    config.dns.resolvers = vec![dns];
    config.rbl.skip_loopback = false;
    config.rbl.budget = HumanDuration(Duration::from_secs(2));
    config.dns.timeout = HumanDuration(Duration::from_millis(500));
    config.dnsbl = vec![ZoneConfig {
        zone: ZONE.into(),
        weight: Some(3.0),
        preset: Some(ringwall::rbl::Preset::SpamhausZen),
        ..ZoneConfig::default()
    }];
}

/// MAIL then one RCPT from `ip`; the RCPT's reply.
fn rcpt_from(stack: &common::Stack, ip: IpAddr, to: &str) -> (Client, String) {
    let mut client = Client::connect_from(ip, stack.addr());
    assert_eq!(client.reply(), GREETING);
    client.command("EHLO client.example");
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    let reply = client.command(&format!("RCPT TO:<{to}>"));
    (client, reply)
}

#[test]
fn a_listed_client_is_refused_at_rcpt_and_a_clean_one_delivers() {
    let dns = emulator(&[(66, "127.0.0.2")], |_| {});
    let stack = Setup::new().config(|c| triage(c, dns.local_addr())).start();
    let (_, refused) = rcpt_from(&stack, client_ip(66), "u@example.net");
    assert_eq!(
        refused,
        "550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN\r\n"
    );
    // Postmaster and abuse stay reachable, so the listed sender can ask.
    let (mut client, postmaster) = rcpt_from(&stack, client_ip(66), "postmaster@example.net");
    assert_eq!(postmaster, RECIPIENT_OK);
    assert_eq!(client.command("RCPT TO:<abuse@example.net>"), RECIPIENT_OK);
    let (mut clean, accepted) = rcpt_from(&stack, client_ip(55), "u@example.net");
    assert_eq!(accepted, RECIPIENT_OK);
    assert_eq!(clean.command("DATA"), common::START_DATA);
    queue_id(&clean.data(&message("clean", "hello\r\n")));
    let counts = dns.counts();
    // One query per client address: the second connection from .66 was
    // answered from the cache.
    assert_eq!(counts.zone(ZONE).queries, 2, "{counts}");
}

#[test]
fn drop_refuses_the_banner_then_only_quit_is_answered() {
    let dns = emulator(&[(66, "127.0.0.4")], |_| {});
    let stack = Setup::new()
        .config(|c| {
            triage(c, dns.local_addr());
            c.rbl.action = RblAction::Drop;
        })
        .start();
    let mut client = Client::connect_from(client_ip(66), stack.addr());
    assert_eq!(
        client.reply(),
        "554 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN\r\n"
    );
    assert_eq!(
        client.command("EHLO client.example"),
        "503 5.5.1 Service refused; send QUIT\r\n"
    );
    assert_eq!(client.command("QUIT"), "221 2.0.0 Bye\r\n");
    let mut clean = Client::connect_from(client_ip(55), stack.addr());
    assert_eq!(clean.reply(), GREETING);
}

/// Spamhaus's "you are querying through a public resolver" code is an error,
/// never a listing: the client passes (ZEN is fail-open by default).
#[test]
fn an_error_code_is_not_a_listing() {
    let dns = emulator(&[], |c| {
        c.error_codes = vec![format!("{ZONE}=127.255.255.254").parse().unwrap()];
    });
    let stack = Setup::new().config(|c| triage(c, dns.local_addr())).start();
    let (_, reply) = rcpt_from(&stack, client_ip(66), "u@example.net");
    assert_eq!(reply, RECIPIENT_OK);
    assert_eq!(dns.counts().zone(ZONE).queries, 1);
}

/// A list that does not answer within the budget counts as not answering:
/// fail-open passes the client, fail-closed defers it with a 4xx.
#[test]
fn a_silent_list_passes_fail_open_and_defers_fail_closed() {
    let dns = emulator(&[(66, "127.0.0.2")], |c| c.loss = 1.0);
    let stack = Setup::new()
        .config(|c| {
            triage(c, dns.local_addr());
            c.rbl.budget = HumanDuration(Duration::from_millis(300));
            c.dns.timeout = HumanDuration(Duration::from_millis(150));
        })
        .start();
    let (_, reply) = rcpt_from(&stack, client_ip(66), "u@example.net");
    assert_eq!(reply, RECIPIENT_OK);
    let closed = Setup::new()
        .config(|c| {
            triage(c, dns.local_addr());
            c.rbl.budget = HumanDuration(Duration::from_millis(300));
            c.dns.timeout = HumanDuration(Duration::from_millis(150));
            c.dnsbl[0].fail_open = false;
        })
        .start();
    let (_, reply) = rcpt_from(&closed, client_ip(66), "u@example.net");
    assert_eq!(
        reply,
        "450 4.7.1 Service temporarily unavailable; client [127.0.0.66] could not be checked, try again later\r\n"
    );
}

/// `[rbl] deny` refuses without asking DNS; `allow` passes a listed client.
#[test]
fn static_lists_decide_before_dns() {
    let dns = emulator(&[(66, "127.0.0.2"), (67, "127.0.0.2")], |_| {});
    let stack = Setup::new()
        .config(|c| {
            triage(c, dns.local_addr());
            c.rbl.allow = vec!["127.0.0.66/32".parse().unwrap()];
            c.rbl.deny = vec!["127.0.0.77/32".parse().unwrap()];
        })
        .start();
    let (_, allowed) = rcpt_from(&stack, client_ip(66), "u@example.net");
    assert_eq!(allowed, RECIPIENT_OK);
    let (_, denied) = rcpt_from(&stack, client_ip(77), "u@example.net");
    assert_eq!(
        denied,
        "550 5.7.1 Service unavailable; client [127.0.0.77] blocked using local policy\r\n"
    );
    assert_eq!(dns.counts().zone(ZONE).queries, 0);
}

/// Single flight across shards: 200 connections from one address arrive
/// while the list takes 500 ms to answer, spread over both shards by
/// SO_REUSEPORT. The shard that owns the address asks once; every other
/// lookup, local or from the other shard over the mesh, waits for that
/// answer. One query at the list, 200 identical refusals.
#[test]
fn two_hundred_connections_from_one_address_cost_one_query() {
    let dns = emulator(&[(66, "127.0.0.2")], |c| {
        c.latency = Duration::from_millis(500);
    });
    let stack = Setup::new()
        .config(|c| {
            triage(c, dns.local_addr());
            c.server.shards = 2;
            c.server.max_connections_per_ip = 300;
            c.rbl.budget = HumanDuration(Duration::from_secs(5));
            c.dns.timeout = HumanDuration(Duration::from_secs(2));
        })
        .start();
    let mut clients: Vec<Client> = (0..200)
        .map(|_| {
            let mut client = Client::connect_from(client_ip(66), stack.addr());
            assert_eq!(client.reply(), GREETING);
            client
        })
        .collect();
    for client in &mut clients {
        client.send(
            "EHLO client.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<u@example.net>\r\n",
        );
    }
    let expected =
        "550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN\r\n";
    for client in &mut clients {
        client.reply();
        assert_eq!(client.reply(), SENDER_OK);
        assert_eq!(client.reply(), expected);
    }
    assert_eq!(dns.counts().zone(ZONE).queries, 1, "{}", dns.counts());
}

/// The same verdicts from an independent DNS server: dnsmasq answers the zone
/// (an A record for 127.0.0.66, NXDOMAIN for every other address), so triage
/// is not only ever checked against the emulator written beside it.
#[test]
fn through_dnsmasq_a_listed_client_is_refused_and_a_clean_one_delivers() {
    let listed = format!("66.0.0.127.{ZONE}");
    let dns = Dnsmasq::start(ZONE, &[(&listed, Ipv4Addr::new(127, 0, 0, 2))]);
    let stack = Setup::new().config(|c| triage(c, dns.addr())).start();
    let (_, refused) = rcpt_from(&stack, client_ip(66), "u@example.net");
    assert_eq!(
        refused,
        "550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN\r\n"
    );
    let (mut clean, accepted) = rcpt_from(&stack, client_ip(55), "u@example.net");
    assert_eq!(accepted, RECIPIENT_OK);
    assert_eq!(clean.command("DATA"), common::START_DATA);
    queue_id(&clean.data(&message("dnsmasq", "hello\r\n")));
}

/// An IPv6 client is looked up by the 32 nibbles of its address, reversed
/// (RFC 5782 §2.4): ringwall listening on ::1, the client at ::1 listed in
/// the zone is refused with its address as it connected.
#[test]
fn an_ipv6_client_is_looked_up_by_its_nibbles() {
    let reversed = format!("1{}", ".0".repeat(31));
    let dns = dnsbl::start(DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec![ZONE.parse().unwrap()],
        listings: vec![format!("{ZONE}={reversed}=127.0.0.2").parse().unwrap()],
        ..DnsblConfig::default()
    })
    .expect("the emulator starts");
    let stack = Setup::new()
        .config(|c| {
            triage(c, dns.local_addr());
            c.server.listen = vec![SocketAddr::from((Ipv6Addr::LOCALHOST, 0))];
        })
        .start();
    let (_, refused) = rcpt_from(&stack, IpAddr::V6(Ipv6Addr::LOCALHOST), "u@example.net");
    assert_eq!(
        refused,
        "550 5.7.1 Service unavailable; client [::1] blocked using Spamhaus ZEN\r\n"
    );
    assert_eq!(dns.counts().zone(ZONE).queries, 1, "{}", dns.counts());
}

/// An answer outside 127.0.0.0/8 is an error, never a listing (RFC 5782
/// §2.1 keeps list answers there; anything else is a resolver or a zone gone
/// wrong, such as a wildcard to a parking page). dnsmasq answers the client's
/// name with 192.0.2.2: the client is accepted while the zone fails open and
/// deferred when it fails closed, as any list error is.
#[test]
fn an_answer_outside_127_is_an_error_not_a_listing() {
    let listed = format!("66.0.0.127.{ZONE}");
    let dns = Dnsmasq::start(ZONE, &[(&listed, Ipv4Addr::new(192, 0, 2, 2))]);
    let open = Setup::new().config(|c| triage(c, dns.addr())).start();
    let (_, accepted) = rcpt_from(&open, client_ip(66), "u@example.net");
    assert_eq!(accepted, RECIPIENT_OK);
    let closed = Setup::new()
        .config(|c| {
            triage(c, dns.addr());
            c.dnsbl[0].fail_open = false;
        })
        .start();
    let (_, deferred) = rcpt_from(&closed, client_ip(66), "u@example.net");
    assert_eq!(
        deferred,
        "450 4.7.1 Service temporarily unavailable; client [127.0.0.66] could not be checked, try again later\r\n"
    );
}

/// Behind a trusted load balancer the lookups are for the client its PROXY
/// header names, never for the balancer: the balancer (127.0.0.3, which the
/// zone lists too) speaks for a listed client (127.0.0.66) and a clean one
/// (127.0.0.55), and the verdicts and the queries follow the clients.
#[test]
fn lookups_are_for_the_client_a_trusted_proxy_header_names() {
    let dns = emulator(&[(66, "127.0.0.2"), (3, "127.0.0.2")], |_| {});
    let stack = Setup::new()
        .config(|c| {
            triage(c, dns.local_addr());
            c.server.proxy_protocol_from = vec!["127.0.0.3/32".parse().unwrap()];
        })
        .start();
    let through_balancer = |client: u8| {
        let mut session = Client::connect_from(client_ip(3), stack.addr());
        session.send(format!("PROXY TCP4 127.0.0.{client} 127.0.0.1 4000 25\r\n"));
        assert_eq!(session.reply(), GREETING);
        session.command("EHLO client.example");
        assert_eq!(session.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
        session.command("RCPT TO:<u@example.net>")
    };
    assert_eq!(
        through_balancer(66),
        "550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN\r\n"
    );
    assert_eq!(through_balancer(55), RECIPIENT_OK);
    let counts = dns.counts();
    assert_eq!(counts.zone(ZONE).queries, 2, "{counts}");
    assert_eq!(
        counts.zone(ZONE).listed,
        1,
        "only 127.0.0.66 was listed: {counts}"
    );
}

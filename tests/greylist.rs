//! Greylisting end to end: the first attempt of an unknown triplet gets
//! 451 4.7.1, a retry after the delay passes (through whichever shard takes
//! it), a network that retried enough skips it, and a client an allowlist
//! names is spared.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::thread::sleep;
use std::time::Duration;

use common::{Client, GREETING, RECIPIENT_OK, SENDER_OK, Setup};
use ringwall::config::{Config, HumanDuration, ZoneConfig};
use ringwall::rbl::Preset;
use ringwall_loadgen::dnsbl::{self, DnsblConfig};

const DELAY: Duration = Duration::from_millis(600);
const GREYLISTED: &str = "451 4.7.1 Greylisted, please try again later\r\n";

fn greylisting(config: &mut Config) {
    config.greylist.enabled = true;
    config.greylist.delay = HumanDuration(DELAY);
    config.greylist.auto_whitelist_after = 2;
    config.server.shards = 2;
}

fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A new connection from `ip`: the reply to `RCPT TO:<to>` after `MAIL FROM:<sender>`.
fn attempt(stack: &common::Stack, ip: IpAddr, sender: &str, to: &str) -> String {
    let mut client = Client::connect_from(ip, stack.addr());
    assert_eq!(client.reply(), GREETING);
    client.command("EHLO client.example");
    assert_eq!(client.command(&format!("MAIL FROM:<{sender}>")), SENDER_OK);
    let reply = client.command(&format!("RCPT TO:<{to}>"));
    assert_eq!(client.command("QUIT"), "221 2.0.0 Bye\r\n");
    reply
}

#[test]
fn a_retry_after_the_delay_passes_and_enough_of_them_whitelist_the_network() {
    let stack = Setup::new().config(greylisting).start();
    for sender in ["a@sender.example", "b@sender.example"] {
        assert_eq!(
            attempt(&stack, from(66), sender, "u@example.net"),
            GREYLISTED
        );
        assert_eq!(
            attempt(&stack, from(66), sender, "u@example.net"),
            GREYLISTED,
            "too early"
        );
        sleep(DELAY);
        // Another address of the same /24 retries: big senders do.
        assert_eq!(
            attempt(&stack, from(67), sender, "u@example.net"),
            RECIPIENT_OK
        );
    }
    // Two passed retries: the network now skips greylisting.
    assert_eq!(
        attempt(&stack, from(68), "new@other.example", "v@example.net"),
        RECIPIENT_OK
    );
    // Postmaster and abuse are never greylisted.
    let mut client = Client::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1)), stack.addr());
    assert_eq!(client.reply(), GREETING);
    client.command("EHLO client.example");
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(
        client.command("RCPT TO:<postmaster@example.net>"),
        RECIPIENT_OK
    );
    assert_eq!(client.command("RCPT TO:<u@example.net>"), GREYLISTED);
}

/// A client a DNS allowlist names is not greylisted; one it does not name is.
#[test]
fn a_client_on_a_dns_allowlist_is_spared() {
    let dns = dnsbl::start(DnsblConfig {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        zones: vec!["wl.test".parse().unwrap()],
        listings: vec!["wl.test=77.0.0.127=127.0.10.2".parse().unwrap()],
        ..DnsblConfig::default()
    })
    .expect("the emulator starts");
    let stack = Setup::new()
        .config(|c| {
            greylisting(c);
            c.dns.resolvers = vec![dns.local_addr()];
            c.rbl.skip_loopback = false;
            c.rbl.budget = HumanDuration(Duration::from_secs(2));
            c.dnswl = vec![ZoneConfig {
                zone: "wl.test".into(),
                preset: Some(Preset::Dnswl),
                ..ZoneConfig::default()
            }];
        })
        .start();
    assert_eq!(
        attempt(&stack, from(77), "a@sender.example", "u@example.net"),
        RECIPIENT_OK
    );
    assert_eq!(
        attempt(&stack, from(78), "a@sender.example", "u@example.net"),
        GREYLISTED
    );
}

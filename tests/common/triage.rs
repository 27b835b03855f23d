//! One screened delivery attempt: ringwall asking a DNS list server about a
//! chosen loopback client, which then tries a recipient.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ringwall::config::{HumanDuration, ZoneConfig};

use super::{Client, GREETING, SENDER_OK, Setup};

/// The reply to `RCPT TO:<u@example.net>` from `client` (after EHLO and MAIL)
/// with ringwall asking `dns` about `dnsbl` and `dnswl`, loopback screened.
pub fn screened_rcpt(
    dns: SocketAddr,
    dnsbl: Vec<ZoneConfig>,
    dnswl: Vec<ZoneConfig>,
    client: IpAddr,
) -> String {
    let stack = Setup::new()
        .config(|c| {
            c.dns.resolvers = vec![dns];
            c.dns.timeout = HumanDuration(Duration::from_millis(500));
            c.rbl.skip_loopback = false;
            c.rbl.budget = HumanDuration(Duration::from_secs(2));
            c.dnsbl = dnsbl;
            c.dnswl = dnswl;
        })
        .start();
    let mut session = Client::connect_from(client, stack.addr());
    assert_eq!(session.reply(), GREETING);
    session.command("EHLO client.example");
    assert_eq!(session.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    session.command("RCPT TO:<u@example.net>")
}

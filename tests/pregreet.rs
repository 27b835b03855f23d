//! Pregreet detection: with `[rbl] pregreet_wait`, the banner is held that
//! long, and a client that talks before it (a bot that does not wait for the
//! server, as no real MTA does) is refused as a listed client is.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{Client, GREETING, RECIPIENT_OK, SENDER_OK, Setup};
use ringwall::config::{Config, HumanDuration, RblAction};

const WAIT: Duration = Duration::from_millis(300);

fn pregreet(config: &mut Config) {
    config.rbl.pregreet_wait = HumanDuration(WAIT);
    config.rbl.skip_loopback = false;
}

fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

#[test]
fn a_client_that_talks_first_is_refused_and_a_patient_one_is_not() {
    let stack = Setup::new().config(pregreet).start();
    let mut bot = Client::connect_from(from(66), stack.addr());
    bot.send("EHLO bot.example\r\nMAIL FROM:<a@sender.example>\r\nRCPT TO:<u@example.net>\r\n");
    assert_eq!(bot.reply(), GREETING);
    bot.reply();
    assert_eq!(bot.reply(), SENDER_OK);
    assert_eq!(
        bot.reply(),
        "550 5.7.1 Service unavailable; client [127.0.0.66] blocked using pregreet detection\r\n"
    );
    let started = Instant::now();
    let mut patient = Client::connect_from(from(55), stack.addr());
    assert_eq!(patient.reply(), GREETING);
    assert!(started.elapsed() >= WAIT, "the banner is held for everyone");
    patient.command("EHLO client.example");
    assert_eq!(patient.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(patient.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
}

#[test]
fn with_drop_a_client_that_talks_first_gets_554_for_a_banner() {
    let stack = Setup::new()
        .config(|c| {
            pregreet(c);
            c.rbl.action = RblAction::Drop;
        })
        .start();
    let mut bot = Client::connect_from(from(66), stack.addr());
    bot.send("EHLO bot.example\r\n");
    assert_eq!(
        bot.reply(),
        "554 5.7.1 Service unavailable; client [127.0.0.66] blocked using pregreet detection\r\n"
    );
    assert_eq!(bot.reply(), "503 5.5.1 Service refused; send QUIT\r\n");
}

#[test]
fn loopback_and_allowed_clients_are_not_held() {
    let stack = Setup::new()
        .config(|c| {
            c.rbl.pregreet_wait = HumanDuration(Duration::from_secs(5));
            c.rbl.allow = vec!["127.0.0.77/32".parse().unwrap()];
        })
        .start();
    for ip in [from(1), from(77)] {
        let started = Instant::now();
        let mut client = Client::connect_from(ip, stack.addr());
        client.send("EHLO early.example\r\n");
        assert_eq!(client.reply(), GREETING);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(client.reply().starts_with("250-"));
    }
}

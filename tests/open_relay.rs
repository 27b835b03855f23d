//! Never an open relay: the sixteen MAIL/RCPT forms nmap's smtp-open-relay
//! script probes, sent the way it sends them (EHLO once, then RSET, MAIL and
//! RCPT per form), are all refused at RCPT, first in front of the sink and then
//! in front of a real Postfix that would relay every one of them on its own.

mod common;

use common::postfix::Postfix;
use common::{BYE, Client, DOMAIN, Setup, Stack};

/// The domain nmap asks to relay to (its default), never one we serve.
const TARGET: &str = "nmap.scanme.org";

/// What the proxy answers at RCPT to an outside domain, an address literal
/// or a source route to either.
const DENIED: &str = "550 5.7.1 Relay access denied\r\n";
/// What it answers to `%` or `!` routing in an otherwise accepted recipient.
const ROUTING: &str = "550 5.7.1 Relay access denied: routing characters in local part\r\n";
/// What it answers to a path that is not a mailbox at all.
const SYNTAX: &str = "501 5.1.3 Bad recipient address syntax\r\n";

/// nmap's forms for a server called `srvname` at `ip`, each with the reply
/// ringwall gives at RCPT.
fn nmap_forms(srvname: &str, ip: &str) -> Vec<(String, String, &'static str)> {
    let from_ip = format!("MAIL FROM:<antispam@[{ip}]>");
    vec![
        (
            "MAIL FROM:<>".into(),
            format!("RCPT TO:<relaytest@{TARGET}>"),
            DENIED,
        ),
        (
            format!("MAIL FROM:<antispam@{TARGET}>"),
            format!("RCPT TO:<relaytest@{TARGET}>"),
            DENIED,
        ),
        (
            format!("MAIL FROM:<antispam@{srvname}>"),
            format!("RCPT TO:<relaytest@{TARGET}>"),
            DENIED,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<relaytest@{TARGET}>"),
            DENIED,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<relaytest%{TARGET}@[{ip}]>"),
            DENIED,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<relaytest%{TARGET}@{srvname}>"),
            ROUTING,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<\"relaytest@{TARGET}\">"),
            SYNTAX,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<\"relaytest%{TARGET}\">"),
            SYNTAX,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<relaytest@{TARGET}@[{ip}]>"),
            SYNTAX,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<\"relaytest@{TARGET}\"@[{ip}]>"),
            DENIED,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<relaytest@{TARGET}@{srvname}>"),
            SYNTAX,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<@[{ip}]:relaytest@{TARGET}>"),
            SYNTAX,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<@{srvname}:relaytest@{TARGET}>"),
            DENIED,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<{TARGET}!relaytest>"),
            SYNTAX,
        ),
        (
            from_ip.clone(),
            format!("RCPT TO:<{TARGET}!relaytest@[{ip}]>"),
            DENIED,
        ),
        (
            from_ip,
            format!("RCPT TO:<{TARGET}!relaytest@{srvname}>"),
            ROUTING,
        ),
    ]
}

/// Greets like nmap (EHLO with its domain) and returns the server name nmap
/// reads from the EHLO reply: the first run of letters, digits and dots after
/// the code.
fn nmap_greeting(client: &mut Client) -> String {
    let banner = client.reply();
    assert!(banner.starts_with("220 "), "{banner:?}");
    let ehlo = client.command(&format!("EHLO {TARGET}"));
    assert!(ehlo.starts_with("250"), "{ehlo:?}");
    ehlo[4..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect()
}

/// One form as nmap sends it; returns the MAIL reply and, when MAIL was
/// taken, the RCPT reply.
fn probe(client: &mut Client, mail: &str, rcpt: &str) -> (String, Option<String>) {
    let rset = client.command("RSET");
    assert!(rset.starts_with("250 "), "{rset:?}");
    let mail_reply = client.command(mail);
    if !mail_reply.starts_with("250") {
        return (mail_reply, None);
    }
    let rcpt_reply = client.command(rcpt);
    (mail_reply, Some(rcpt_reply))
}

/// Runs every nmap form through `stack` and asserts each is refused at RCPT
/// with its expected reply (MAIL itself is taken: the refusal is the relay guard's).
fn assert_all_forms_refused(stack: &Stack) {
    let mut client = stack.connect();
    let srvname = nmap_greeting(&mut client);
    assert_eq!(srvname, DOMAIN);
    let ip = stack.addr().ip().to_string();
    for (mail, rcpt, refusal) in nmap_forms(&srvname, &ip) {
        let (mail_reply, rcpt_reply) = probe(&mut client, &mail, &rcpt);
        assert_eq!(mail_reply, "250 2.1.0 Sender ok\r\n", "{mail}");
        assert_eq!(rcpt_reply.as_deref(), Some(refusal), "{mail} -> {rcpt}");
    }
    assert_eq!(client.command("DATA"), "554 5.5.1 No valid recipients\r\n");
    assert_eq!(client.command("QUIT"), BYE);
    client.expect_closed();
}

/// In front of the sink, with our hostname being the very domain we serve
/// (so nmap's `@srvname` forms name an accepted domain), every form is refused
/// and the upstream never receives a message.
#[test]
fn nmap_relay_forms_are_refused() {
    let stack = Setup::new()
        .config(|c| {
            c.server.hostname = DOMAIN.into();
            // Sixteen refusals would be tarpitted (tests/limits.rs covers that).
            c.limits.tarpit_after = 0;
        })
        .start();
    assert_all_forms_refused(&stack);
    assert_eq!(stack.finish().accepted, 0);
}

/// A real Postfix with Debian's defaults, trusting loopback (permit_mynetworks),
/// behind ringwall. First the test proves it has teeth: straight to Postfix, a
/// relay form is accepted. Then ringwall is shown to pass legitimate recipients
/// through to it, to refuse every nmap form itself, and Postfix's queue stays empty.
#[test]
fn postfix_behind_ringwall_relays_none_of_the_nmap_forms() {
    let postfix = Postfix::start(DOMAIN);

    let mut direct = Client::connect(postfix.addr());
    let postfix_name = nmap_greeting(&mut direct);
    let (mail, rcpt, _) = nmap_forms(&postfix_name, "127.0.0.1").swap_remove(0);
    let (_, relayed) = probe(&mut direct, &mail, &rcpt);
    assert_eq!(
        relayed.as_deref(),
        Some("250 2.1.5 Ok\r\n"),
        "Postfix should relay for loopback, or this test proves nothing\n{}",
        postfix.log()
    );
    assert_eq!(direct.command("RSET"), "250 2.0.0 Ok\r\n");
    assert_eq!(direct.command("QUIT"), "221 2.0.0 Bye\r\n");

    let stack = Setup::new()
        .config(|c| {
            c.server.hostname = DOMAIN.into();
            // Sixteen refusals would be tarpitted (tests/limits.rs covers that).
            c.limits.tarpit_after = 0;
        })
        .upstream_at(postfix.addr())
        .start();
    let mut local = stack.connect();
    nmap_greeting(&mut local);
    let (_, accepted) = probe(
        &mut local,
        "MAIL FROM:<antispam@[127.0.0.1]>",
        "RCPT TO:<root@example.net>",
    );
    assert_eq!(
        accepted.as_deref(),
        Some("250 2.1.5 Recipient ok\r\n"),
        "ringwall should reach Postfix for a local recipient\n{}",
        postfix.log()
    );
    assert_eq!(local.command("QUIT"), BYE);

    assert_all_forms_refused(&stack);
    drop(stack);
    assert_eq!(
        postfix.queue(),
        "Mail queue is empty\n",
        "{}",
        postfix.log()
    );
}

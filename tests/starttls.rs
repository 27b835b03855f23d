//! STARTTLS end to end: real clients (our rustls client, swaks, Python's
//! smtplib) against a certificate from a CA made at test time, the
//! CVE-2011-0411 injection class, resumption, TLS 1.2, and reload.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::tls::{READY, TestPki, client_config, peer_certificate};
use common::{
    CLIENT_HELO, GREETING, RECIPIENT_OK, SENDER_OK, Setup, Stack, message, peer, queue_id,
    run_peer, split_received,
};
use rustls::HandshakeKind;

fn tls_stack(pki: &TestPki) -> Stack {
    Setup::new().tls(pki).start()
}

fn tls_session(stack: &Stack, config: Arc<rustls::ClientConfig>) -> common::Client {
    common::tls::tls_session(stack.addr(), config)
}

/// The EHLO reply inside TLS: the same extensions, STARTTLS no longer offered.
fn ehlo_inside_tls(stack: &Stack) -> String {
    let mut plain = stack.session();
    let reply = plain.command(&format!("EHLO {CLIENT_HELO}"));
    reply.replace("250-DSN\r\n250 STARTTLS\r\n", "250 DSN\r\n")
}

#[test]
fn message_over_starttls_records_protocol_and_cipher() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let mut client = tls_session(&stack, pki.client_config());
    assert_eq!(
        client.command(&format!("EHLO {CLIENT_HELO}")),
        ehlo_inside_tls(&stack)
    );
    let reply = client.deliver(&["u@example.net"], &message("tls", "over TLS\r\n"));
    let id = queue_id(&reply);
    let version = client.tls().protocol_version();
    assert_eq!(version, Some(rustls::ProtocolVersion::TLSv1_3));
    let suite = client
        .tls()
        .negotiated_cipher_suite()
        .expect("a cipher suite")
        .suite();
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    let (received, rest) = split_received(&dumps[0].eml);
    assert_eq!(rest, message("tls", "over TLS\r\n").as_slice());
    assert!(
        received.contains(&format!(
            "\r\n\t(using TLSv1.3 with cipher {suite:?})\r\n\tby mx.example.net (ringwall) with ESMTPS id {id}"
        )),
        "{received}"
    );
}

/// CVE-2011-0411: `STARTTLS\r\nRSET\r\n` in one packet. Only the 220 comes in
/// the clear; the RSET is never answered, there is no second 220 after the
/// handshake, and the first reply inside TLS answers our new EHLO.
#[test]
fn plaintext_pipelined_after_starttls_is_discarded() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let mut client = stack.session();
    client.send(b"STARTTLS\r\nRSET\r\n");
    assert_eq!(client.reply(), READY);
    // start_tls asserts nothing else arrived in plaintext.
    client.start_tls(pki.client_config());
    assert_eq!(
        client.command(&format!("EHLO {CLIENT_HELO}")),
        ehlo_inside_tls(&stack),
        "the first reply inside TLS answers our EHLO"
    );
    assert_eq!(client.command("QUIT"), common::BYE);
}

/// The injected command is a MAIL: had it been read, a MAIL sent inside TLS
/// after EHLO would get 503 (nested MAIL). It gets 250, and the upstream never
/// hears of the injected sender.
#[test]
fn injected_mail_after_starttls_never_opens_a_transaction() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let mut client = stack.session();
    client.send(b"STARTTLS\r\nMAIL FROM:<a@inj>\r\n");
    assert_eq!(client.reply(), READY);
    client.start_tls(pki.client_config());
    client.command(&format!("EHLO {CLIENT_HELO}"));
    assert_eq!(client.command("MAIL FROM:<b@sender.example>"), SENDER_OK);
    assert_eq!(client.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    assert_eq!(client.command("DATA"), common::START_DATA);
    queue_id(&client.data(&message("inj", "clean\r\n")));
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    assert!(!dumps[0].env.contains("inj"), "{}", dumps[0].env);
    assert!(dumps[0].env.contains("MAIL FROM:<b@sender.example>"));
}

#[test]
fn starttls_is_offered_once_and_needs_ehlo_again() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let mut client = tls_session(&stack, pki.client_config());
    assert_eq!(
        client.command("MAIL FROM:<a@sender.example>"),
        "503 5.5.1 Send HELO/EHLO first\r\n"
    );
    client.command(&format!("EHLO {CLIENT_HELO}"));
    assert_eq!(
        client.command("STARTTLS"),
        "503 5.5.1 TLS already active\r\n"
    );
}

#[test]
fn tls_1_2_works_and_sessions_resume() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        // One client configuration keeps its resumption store across connections.
        let config = client_config(&pki.ca(), Some(version));
        let mut first = tls_session(&stack, Arc::clone(&config));
        assert_eq!(first.tls().handshake_kind(), Some(HandshakeKind::Full));
        assert_eq!(first.tls().protocol_version(), Some(version.version));
        // TLS 1.3 tickets arrive after the handshake: read a reply to take them.
        first.command(&format!("EHLO {CLIENT_HELO}"));
        drop(first);
        let mut second = tls_session(&stack, config);
        assert_eq!(
            second.tls().handshake_kind(),
            Some(HandshakeKind::Resumed),
            "{:?}",
            version.version
        );
        second.command(&format!("EHLO {CLIENT_HELO}"));
        queue_id(&second.deliver(&["u@example.net"], &message("resumed", "again\r\n")));
    }
}

/// A failed handshake (the client speaks plaintext after the 220) closes the
/// connection with at most a TLS alert record, never an SMTP reply.
#[test]
fn a_failed_handshake_closes_without_an_smtp_reply() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let mut client = stack.session();
    assert_eq!(client.command("STARTTLS"), READY);
    client.send(b"EHLO not-tls.example\r\n");
    let rest = client.read_to_close();
    assert!(
        rest.is_empty() || rest[0] == 0x15,
        "only a TLS alert may follow: {rest:?}"
    );
    // The proxy is fine for the next client.
    let mut next = stack.connect();
    assert_eq!(next.reply(), GREETING);
}

/// Reload (SIGHUP's work): new handshakes present the new certificate while a
/// session already in TLS carries on and delivers.
#[test]
fn reload_swaps_the_certificate_without_dropping_sessions() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let mut old = tls_session(&stack, pki.client_config());
    old.command(&format!("EHLO {CLIENT_HELO}"));
    assert!(peer_certificate(&old).contains("first leaf"));
    pki.issue("second leaf");
    stack.reload_tls();
    let fresh = tls_session(&stack, pki.client_config());
    assert!(peer_certificate(&fresh).contains("second leaf"));
    queue_id(&old.deliver(&["u@example.net"], &message("old", "still here\r\n")));
}

/// swaks with --tls verifies our certificate against the test CA.
#[test]
fn swaks_delivers_over_starttls() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let ca = pki.ca();
    let output = run_peer(
        Command::new(peer("swaks"))
            .args(["--server", &stack.addr().to_string()])
            .args(["--helo", CLIENT_HELO, "--from", "a@sender.example"])
            .args(["--to", "u@example.net", "--timeout", "10"])
            .args(["--tls", "--tls-verify", "--tls-ca-path"])
            .arg(&ca)
            .args(["--header", "Message-Id: <swaks-tls@sender.example>"]),
        Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("=== TLS started with cipher"), "{stdout}");
    assert!(stdout.contains("<~  250 2.0.0 Ok: queued as"), "{stdout}");
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    assert!(common::contains(&dumps[0].eml, b"with ESMTPS id"));
}

/// Python's smtplib.starttls() with certificate and host name checks on.
#[test]
fn smtplib_delivers_over_starttls() {
    let pki = TestPki::new();
    let stack = tls_stack(&pki);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/smtplib_starttls.py"
    );
    let output = run_peer(
        Command::new(peer("python3"))
            .arg(script)
            .arg(stack.addr().ip().to_string())
            .arg(stack.addr().port().to_string())
            .arg(pki.ca()),
        Duration::from_secs(30),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("ehlo 250 ") && lines[0].contains("starttls"),
        "{stdout}"
    );
    assert_eq!(lines[1], "starttls 220 2.0.0 Ready to start TLS");
    assert!(lines[2].starts_with("tls TLSv1.3 "), "{stdout}");
    assert!(
        !lines[3].contains("starttls"),
        "not offered again: {stdout}"
    );
    assert_eq!(lines[4], "sent");
    assert_eq!(stack.dumps().len(), 1);
}

//! The upstream side against a real Postfix: STARTTLS towards it (required,
//! verified against a test CA; a wrong CA fails closed) and XCLIENT (the
//! upstream's own access rules see the real client, for every client session
//! on a pooled connection; a refusal fails the transaction).

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::postfix::Postfix;
use common::tls::TestPki;
use common::{Client, DOMAIN, GREETING, SENDER_OK, Setup, message, queue_id};
use ringwall::config::UpstreamTlsMode;

/// Postfix relays example.net towards the discard port, so accepted mail stays
/// in its queue rather than in a mailbox on this machine.
const RELAY_ONLY: &str = "mydestination = localhost\nrelay_domains = example.net\n";

fn from(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A session from `ip` that sends one message to u@example.net; returns the
/// RCPT reply and, when it was accepted, the end-of-data reply.
fn try_deliver(stack: &common::Stack, ip: IpAddr, id: &str) -> (String, Option<String>) {
    let mut client = Client::connect_from(ip, stack.addr());
    assert_eq!(client.reply(), GREETING);
    client.command("EHLO client.example");
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    let rcpt = client.command("RCPT TO:<u@example.net>");
    if !rcpt.starts_with("250") {
        // QUIT rather than hang up: once its 221 is in, the upstream connection
        // is back in the pool for the next call.
        assert_eq!(client.command("QUIT"), "221 2.0.0 Bye\r\n");
        return (rcpt, None);
    }
    assert_eq!(client.command("DATA"), common::START_DATA);
    let end = client.data(&message(id, "to postfix\r\n"));
    client.command("QUIT");
    (rcpt, Some(end))
}

#[test]
fn starttls_to_the_upstream_is_verified_against_the_configured_ca() {
    let pki = TestPki::new();
    let postfix = Postfix::start_with(
        DOMAIN,
        &format!(
            "{RELAY_ONLY}smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n\
             smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n",
            pki.certificate().display(),
            pki.private_key().display()
        ),
    );
    let stack = Setup::new()
        .upstream_at(postfix.addr())
        .config(|c| {
            c.upstream.tls = UpstreamTlsMode::Required;
            c.upstream.tls_ca = Some(pki.ca());
        })
        .start();
    let (rcpt, end) = try_deliver(&stack, from(1), "upstream-tls");
    assert!(rcpt.starts_with("250 "), "{rcpt}\n{}", postfix.log());
    queue_id(&end.expect("accepted"));
    let log = postfix.log();
    assert!(
        log.contains("TLS connection established from"),
        "Postfix saw no TLS:\n{log}"
    );

    // Another CA: the certificate does not verify, and "required" fails closed.
    let stranger = TestPki::new();
    let strict = Setup::new()
        .upstream_at(postfix.addr())
        .config(|c| {
            c.upstream.tls = UpstreamTlsMode::Required;
            c.upstream.tls_ca = Some(stranger.ca());
        })
        .start();
    let (rcpt, _) = try_deliver(&strict, from(1), "unverified");
    assert_eq!(
        rcpt,
        "451 4.4.1 Mail server temporarily unreachable; try again later\r\n"
    );
}

/// Postfix offers STARTTLS but speaks only TLS 1.0, which rustls refuses: every
/// handshake fails. Opportunistic mode delivers over a new plain connection;
/// required mode fails closed.
#[test]
fn opportunistic_tls_falls_back_when_the_handshake_fails_and_required_does_not() {
    let pki = TestPki::new();
    let postfix = Postfix::start_with(
        DOMAIN,
        &format!(
            "{RELAY_ONLY}smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n\
             smtpd_tls_security_level = may\n\
             smtpd_tls_protocols = !SSLv2, !SSLv3, !TLSv1.1, !TLSv1.2, !TLSv1.3\n",
            pki.certificate().display(),
            pki.private_key().display()
        ),
    );
    let relaxed = Setup::new()
        .upstream_at(postfix.addr())
        .config(|c| c.upstream.tls = UpstreamTlsMode::Opportunistic)
        .start();
    let (rcpt, end) = try_deliver(&relaxed, from(1), "fallback");
    assert!(rcpt.starts_with("250 "), "{rcpt}\n{}", postfix.log());
    queue_id(&end.expect("accepted"));
    assert!(
        postfix.log().contains("starttls=0/1"),
        "the handshake should have failed first:\n{}",
        postfix.log()
    );
    let strict = Setup::new()
        .upstream_at(postfix.addr())
        .config(|c| c.upstream.tls = UpstreamTlsMode::Required)
        .start();
    let (rcpt, _) = try_deliver(&strict, from(1), "no-fallback");
    assert_eq!(
        rcpt,
        "451 4.4.1 Mail server temporarily unreachable; try again later\r\n"
    );
}

/// XCLIENT makes Postfix apply its own client rules to the real client: .66
/// is refused by Postfix itself, .55 accepted, each time on the same pooled
/// upstream connection (XCLIENT goes again for every client session).
#[test]
fn xclient_gives_the_upstream_the_real_client_for_every_session() {
    let postfix = Postfix::start_with(
        DOMAIN,
        &format!(
            "{RELAY_ONLY}smtpd_authorized_xclient_hosts = 127.0.0.1\n\
             smtpd_client_restrictions = check_client_access inline:{{ 127.0.0.66=REJECT }}\n"
        ),
    );
    let stack = Setup::new()
        .upstream_at(postfix.addr())
        .config(|c| {
            c.upstream.xclient = true;
            c.upstream.max_connections = 1;
        })
        .start();
    for (round, (ip, accepted)) in [(55, true), (66, false), (55, true)]
        .into_iter()
        .enumerate()
    {
        let (rcpt, end) = try_deliver(&stack, from(ip), &format!("xclient-{round}"));
        if accepted {
            assert!(
                rcpt.starts_with("250 "),
                "round {round}: {rcpt}\n{}",
                postfix.log()
            );
            queue_id(&end.expect("accepted"));
        } else {
            assert!(
                rcpt.starts_with("554 5.7.1 "),
                "round {round}: Postfix should refuse 127.0.0.66 itself: {rcpt}\n{}",
                postfix.log()
            );
        }
    }
    let log = postfix.log();
    assert!(log.contains("client=unknown[127.0.0.55]"), "{log}");
    assert!(log.contains("[127.0.0.66]: 554 5.7.1"), "{log}");
}

/// An upstream that does not authorise us for XCLIENT does not offer it: the
/// transaction fails closed rather than reach it under ringwall's address.
#[test]
fn xclient_refused_fails_closed() {
    let postfix = Postfix::start_with(DOMAIN, RELAY_ONLY);
    let stack = Setup::new()
        .upstream_at(postfix.addr())
        .config(|c| c.upstream.xclient = true)
        .start();
    let (rcpt, _) = try_deliver(&stack, from(55), "no-xclient");
    assert_eq!(
        rcpt,
        "451 4.7.0 Mail server refused the client identity; try again later\r\n"
    );
    assert_eq!(postfix.queue(), "Mail queue is empty\n");
}

/// An upstream that answers STARTTLS with `220` and, in the same packet, a
/// forged `250` (response injection by someone on the path). Read as the reply
/// to our EHLO inside TLS, it would shift every later reply by one and the
/// message would never be sent; dropped, the transaction runs true.
#[test]
fn upstream_bytes_after_its_starttls_220_are_discarded() {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::mpsc;

    let pki = TestPki::new();
    let server_config = {
        use rustls::pki_types::pem::PemObject;
        let chain = rustls::pki_types::CertificateDer::pem_file_iter(pki.certificate())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(pki.private_key()).unwrap();
        std::sync::Arc::new(
            rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
        )
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen_rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        // Every connection (the shard's start-up probe, then the transaction).
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { return };
            let seen = seen_tx.clone();
            let config = std::sync::Arc::clone(&server_config);
            std::thread::spawn(move || {
                let mut plain = BufReader::new(tcp.try_clone().unwrap());
                let mut line = String::new();
                tcp.write_all(b"220 fake ESMTP\r\n").unwrap();
                plain.read_line(&mut line).unwrap();
                tcp.write_all(b"250-fake\r\n250 STARTTLS\r\n").unwrap();
                line.clear();
                if plain.read_line(&mut line).unwrap() == 0 || !line.starts_with("STARTTLS") {
                    return;
                }
                tcp.write_all(b"220 go ahead\r\n250 injected\r\n").unwrap();
                let conn = rustls::ServerConnection::new(config).unwrap();
                let tls = rustls::StreamOwned::new(conn, tcp);
                let mut tls = BufReader::new(tls);
                let mut transcript = String::new();
                loop {
                    let mut line = String::new();
                    if tls.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    transcript.push_str(&line);
                    let reply: &[u8] = match line.trim_end().split(' ').next().unwrap() {
                        "EHLO" => b"250-fake\r\n250 8BITMIME\r\n",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
                        "DATA" => {
                            tls.get_mut().write_all(b"354 go\r\n").unwrap();
                            loop {
                                let mut body = String::new();
                                tls.read_line(&mut body).unwrap();
                                transcript.push_str(&body);
                                if body == ".\r\n" {
                                    break;
                                }
                            }
                            b"250 2.0.0 queued as FAKE\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"500 what\r\n",
                    };
                    tls.get_mut().write_all(reply).unwrap();
                    tls.get_mut().flush().unwrap();
                }
                let _ = seen.send(transcript);
            });
        }
    });
    let stack = Setup::new()
        .upstream_at(addr)
        .config(|c| {
            c.upstream.tls = UpstreamTlsMode::Required;
            c.upstream.tls_ca = Some(pki.ca());
        })
        .start();
    let (rcpt, end) = try_deliver(&stack, from(1), "injected");
    assert!(rcpt.starts_with("250 "), "{rcpt}");
    queue_id(&end.expect("accepted"));
    drop(stack);
    // Each upstream connection reports its transcript when it closes, which
    // the proxy's shutdown brings about in its own time.
    let mut transcripts = Vec::new();
    let delivered = loop {
        match seen_rx.recv_timeout(common::READ_TIMEOUT) {
            Ok(t) if t.contains("MAIL FROM:") => break t,
            Ok(t) => transcripts.push(t),
            Err(e) => panic!("no transaction reached the upstream ({e}): {transcripts:?}"),
        }
    };
    assert!(
        delivered.contains("Message-ID: <injected@sender.example>\r\n"),
        "{delivered}"
    );
}

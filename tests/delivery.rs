//! Forwarding through the proxy to a real upstream (the loadgen sink): what the
//! upstream receives, byte for byte, and what the client hears when the upstream
//! accepts, refuses, hangs up, is slow or is not there.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime};

use common::{
    BYE, Client, DOMAIN, EHLO_REPLY, GREETING, OK, RECIPIENT_OK, SENDER_OK, START_DATA, Setup,
    Stack, assert_received, message, queue_id, split_received, split_verdict,
};
use ringwall_loadgen::sink::Counts;

/// A message reaches the upstream exactly as the client sent it, behind one
/// `Received:` header naming the client, our host, the queue id the client was
/// given and the recipient; the sink counts it once.
#[test]
fn message_arrives_byte_for_byte_after_our_received_header() {
    let stack = Setup::new().start();
    let mut client = stack.session();
    let sent = message(
        "exact",
        "Line one\r\n\r\n  indented\ttab\r\n8bit: caf\u{e9}\r\ntrailing space \r\n",
    );
    let before = SystemTime::now();
    let reply = client.deliver(&["u@example.net"], &sent);
    let after = SystemTime::now();
    let id = queue_id(&reply);
    assert_eq!(client.command("QUIT"), BYE);

    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    let (received, verdict, rest) = split_verdict(&dumps[0].eml);
    assert_received(
        &received,
        common::CLIENT_HELO,
        &id,
        "u@example.net",
        before,
        after,
    );
    assert!(
        verdict.starts_with("X-Spam-Score: ") && verdict.contains("\nX-Spam-Status: No, score="),
        "{verdict}"
    );
    assert_eq!(rest, sent.as_slice());
    let counts = stack.finish();
    assert_eq!(counts.accepted, 1);
    assert_eq!(
        counts.bytes,
        (dumps[0].eml.len() - rest.len() + sent.len()) as u64
    );
}

/// XFORWARD tells the upstream who the client is (address, port, protocol and
/// HELO name), each value xtext-encoded: a HELO holding `+` and `=` arrives as
/// `+2B` and `+3D`, so it can neither forge an attribute nor end the line.
#[test]
fn xforward_names_the_client_with_xtext_encoded_values() {
    let stack = Setup::new().start();
    let mut client = stack.connect();
    assert_eq!(client.reply(), GREETING);
    assert_eq!(client.command("EHLO [x-tag:a+b=1]"), EHLO_REPLY);
    let port = client.local_addr().port();
    let reply = client.deliver(&["u@example.net"], &message("xforward", "hi\r\n"));
    queue_id(&reply);

    let dumps = stack.dumps();
    assert_eq!(
        dumps[0].env,
        format!(
            "EHLO mx.example.net\r\n\
             XFORWARD NAME=[UNAVAILABLE] ADDR=127.0.0.1 PORT={port} PROTO=ESMTP \
             HELO=[x-tag:a+2Bb+3D1] SOURCE=REMOTE\r\n\
             MAIL FROM:<a@sender.example>\r\nRCPT TO:<u@example.net>\r\n"
        )
    );
    let (received, _) = split_received(&dumps[0].eml);
    assert!(
        received.starts_with("Received: from [x-tag:a+b=1] ([127.0.0.1])\r\n"),
        "{received:?}"
    );
}

/// Sends lines starting with dots, dot-stuffed, through `stack`, and asserts
/// the upstream stored the original lines.
fn assert_dots_round_trip(stack: &Stack) {
    let mut client = stack.session();
    client.envelope("a@sender.example", &["u@example.net"]);
    let original = b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n...three\r\nmiddle . dot\r\n.\r\n";
    let stuffed =
        b"Subject: dots\r\n\r\n..\r\n...\r\n..leading\r\n....three\r\nmiddle . dot\r\n..\r\n";
    client.send(stuffed);
    client.send(b".\r\n");
    queue_id(&client.reply());
    let dumps = stack.dumps();
    assert_eq!(split_received(&dumps[0].eml).1, original);
}

/// Lines starting with dots survive the round trip to an upstream that takes
/// DATA: the client stuffs them, we un-stuff, re-stuff for the upstream, and
/// the upstream stores the original.
#[test]
fn dot_stuffing_round_trips_over_data() {
    assert_dots_round_trip(&Setup::new().without_chunking().start());
}

/// The same lines survive the round trip to an upstream that takes BDAT
/// (un-stuffed once, sent counted, never re-stuffed).
#[test]
fn dot_stuffing_round_trips_over_bdat() {
    assert_dots_round_trip(&Setup::new().start());
}

/// A pipelining client gets every reply in order: a whole envelope in one write,
/// then a message, the next envelope and QUIT pipelined behind the end-of-data
/// dot. Both messages arrive, each with its own envelope.
#[test]
fn pipelined_transactions_are_answered_in_order() {
    let stack = Setup::new().start();
    let mut client = stack.connect();
    client.send(
        "EHLO client.example\r\nMAIL FROM:<a@sender.example>\r\n\
         RCPT TO:<u@example.net>\r\nRCPT TO:<v@example.net>\r\nDATA\r\n",
    );
    for expected in [
        GREETING,
        EHLO_REPLY,
        SENDER_OK,
        RECIPIENT_OK,
        RECIPIENT_OK,
        START_DATA,
    ] {
        assert_eq!(client.reply(), expected);
    }
    let mut batch = message("first", "one\r\n");
    batch.extend_from_slice(
        b".\r\nMAIL FROM:<b@sender.example>\r\nRCPT TO:<w@example.net>\r\nDATA\r\n",
    );
    client.send(&batch);
    let first = queue_id(&client.reply());
    for expected in [SENDER_OK, RECIPIENT_OK, START_DATA] {
        assert_eq!(client.reply(), expected);
    }
    let mut batch = message("second", "two\r\n");
    batch.extend_from_slice(b".\r\nQUIT\r\n");
    client.send(&batch);
    let second = queue_id(&client.reply());
    assert_ne!(first, second);
    assert_eq!(client.reply(), BYE);
    client.expect_closed();

    let record = stack.record();
    assert_eq!(
        record,
        format!(
            "<first@sender.example>\ta@sender.example\tu@example.net,v@example.net\t{}\n\
             <second@sender.example>\tb@sender.example\tw@example.net\t{}\n",
            stack.dumps()[0].eml.len(),
            stack.dumps()[1].eml.len()
        )
    );
}

/// The client hears 250 for its message only after the upstream said 250
/// (invariant 1): with the upstream taking 1.5 s to answer end-of-data, the
/// client's reply takes at least that long, and by then the upstream holds it.
#[test]
fn end_of_data_waits_for_the_upstreams_250() {
    let delay = Duration::from_millis(1500);
    let stack = Setup::new().sink(|s| s.delay = delay).start();
    let mut client = stack.session();
    client.envelope("a@sender.example", &["u@example.net"]);
    client.send(message("slow", "patience\r\n"));
    let sent = Instant::now();
    client.send(b".\r\n");
    let reply = client.reply();
    assert!(
        sent.elapsed() >= delay,
        "replied after {:?}",
        sent.elapsed()
    );
    queue_id(&reply);
    assert_eq!(stack.dumps().len(), 1);
}

/// Sends one message through a stack whose upstream misbehaves at end-of-data;
/// returns the end-of-data reply and the sink's counts, after checking the
/// session itself goes on.
fn deliver_against(setup: Setup) -> (String, Counts) {
    let stack = setup.start();
    let mut client = stack.session();
    let reply = client.deliver(&["u@example.net"], &message("failing", "hi\r\n"));
    assert_eq!(client.command("NOOP"), OK);
    assert_eq!(client.command("QUIT"), BYE);
    assert!(stack.dumps().is_empty());
    (reply, stack.finish())
}

/// An upstream 4xx at end-of-data reaches the client as a 4xx with the
/// upstream's codes and our own wording: the client keeps the message and retries.
#[test]
fn upstream_tempfail_at_end_of_data_is_451() {
    let (reply, counts) = deliver_against(Setup::new().sink(|s| s.fail = "1:4xx".parse().unwrap()));
    assert_eq!(
        reply,
        "451 4.3.0 Message temporarily rejected by the mail server\r\n"
    );
    assert_eq!((counts.tempfailed, counts.accepted), (1, 0));
}

/// An upstream 5xx at end-of-data reaches the client as that 5xx.
#[test]
fn upstream_reject_at_end_of_data_is_554() {
    let (reply, counts) = deliver_against(Setup::new().sink(|s| s.fail = "1:5xx".parse().unwrap()));
    assert_eq!(reply, "554 5.6.0 Message rejected by the mail server\r\n");
    assert_eq!((counts.rejected, counts.accepted), (1, 0));
}

/// An upstream that hangs up instead of answering end-of-data leaves the
/// message's fate unknown, so the client gets a 4xx and keeps it.
#[test]
fn upstream_closing_during_data_is_451_4_4_2() {
    let (reply, counts) =
        deliver_against(Setup::new().sink(|s| s.fail = "1:close".parse().unwrap()));
    assert_eq!(
        reply,
        "451 4.4.2 Connection to the mail server lost; try again later\r\n"
    );
    assert_eq!((counts.closed, counts.accepted), (1, 0));
}

/// An upstream slower than `[upstream] data_timeout` to answer end-of-data
/// gets the same 451 4.4.2, once the bound passed and not before.
#[test]
fn upstream_slower_than_data_timeout_is_451_4_4_2() {
    let stack = Setup::new()
        .config(|c| c.upstream.data_timeout = common::seconds(1))
        .sink(|s| s.delay = Duration::from_secs(4))
        .start();
    let mut client = stack.session();
    client.envelope("a@sender.example", &["u@example.net"]);
    client.send(message("too-slow", "hi\r\n"));
    let sent = Instant::now();
    client.send(b".\r\n");
    assert_eq!(
        client.reply(),
        "451 4.4.2 Connection to the mail server lost; try again later\r\n"
    );
    let waited = sent.elapsed();
    assert!(
        (Duration::from_secs(1)..Duration::from_secs(4)).contains(&waited),
        "{waited:?}"
    );
    assert_eq!(client.command("QUIT"), BYE);
}

/// With no upstream reachable, MAIL is still answered locally, but RCPT (where
/// the upstream transaction opens) gets 451 4.4.1 and nothing is accepted.
#[test]
fn upstream_down_is_451_4_4_1_at_rcpt() {
    let stack = Setup::new().upstream_down().start();
    let mut client = stack.connect();
    assert_eq!(client.reply(), GREETING);
    // Before the upstream was ever reached only 8BITMIME is offered beside our own.
    assert_eq!(
        client.command("EHLO client.example"),
        "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n\
         250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"
    );
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(
        client.command("RCPT TO:<u@example.net>"),
        "451 4.4.1 Mail server temporarily unreachable; try again later\r\n"
    );
    assert_eq!(client.command("DATA"), "554 5.5.1 No valid recipients\r\n");
    assert_eq!(client.command("QUIT"), BYE);
}

/// `[upstream] max_connections` bounds what slow clients hold on the upstream:
/// with one connection per shard, busy with an open transaction, a second
/// client's RCPT gets 451 4.4.5; once the first finishes, the second gets through.
#[test]
fn upstream_connections_per_shard_are_bounded() {
    let stack = Setup::new()
        .config(|c| c.upstream.max_connections = 1)
        .start();
    let mut first = stack.session();
    assert_eq!(first.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(first.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    let mut second = stack.session();
    assert_eq!(second.command("MAIL FROM:<b@sender.example>"), SENDER_OK);
    assert_eq!(
        second.command("RCPT TO:<u@example.net>"),
        "451 4.4.5 Mail server busy; try again later\r\n"
    );
    assert_eq!(first.command("DATA"), START_DATA);
    queue_id(&first.data(&message("first", "x\r\n")));
    assert_eq!(second.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    assert_eq!(second.command("DATA"), START_DATA);
    queue_id(&second.data(&message("second", "y\r\n")));
    assert_eq!(stack.finish().accepted, 2);
}

/// With `[upstream] fail_closed`, an unreachable upstream is told at connect:
/// 421 4.4.1 instead of a greeting, and the connection closes.
#[test]
fn upstream_down_with_fail_closed_is_421_at_connect() {
    let stack = Setup::new()
        .upstream_down()
        .config(|c| c.upstream.fail_closed = true)
        .start();
    let mut client = stack.connect();
    assert_eq!(
        client.reply(),
        "421 4.4.1 Mail server temporarily unreachable; try again later\r\n"
    );
    client.expect_closed();
}

/// The upstream's own recipient check answers live through us: a recipient it
/// refuses gets its 550 5.1.1, the others go on, and the message reaches the
/// upstream for the accepted recipient only.
#[test]
fn recipient_refused_by_the_upstream_is_refused_live() {
    let stack = Setup::new()
        .config(|c| c.domains.accept = vec![DOMAIN.into(), "gone.example".into()])
        .sink(|s| s.reject_rcpt_domains = vec!["gone.example".into()])
        .start();
    let mut client = stack.session();
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(
        client.command("RCPT TO:<u@gone.example>"),
        "550 5.1.1 Recipient rejected by the mail server\r\n"
    );
    assert_eq!(client.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    assert_eq!(client.command("DATA"), START_DATA);
    let sent = message("live", "hi\r\n");
    queue_id(&client.data(&sent));
    let dumps = stack.dumps();
    assert_eq!(
        stack.record(),
        format!(
            "<live@sender.example>\ta@sender.example\tu@example.net\t{}\n",
            dumps[0].eml.len()
        )
    );
    // The upstream saw both RCPTs, as the client sent them, and took one.
    assert!(
        dumps[0]
            .env
            .ends_with("MAIL FROM:<a@sender.example>\r\nRCPT TO:<u@gone.example>\r\nRCPT TO:<u@example.net>\r\n"),
        "{}",
        dumps[0].env
    );
}

/// A client that vanishes mid-DATA (even right after a `CRLF .` that could
/// begin the end-of-data line) completes nothing upstream; the upstream
/// connection is reset and serves the next client's message cleanly.
#[test]
fn client_vanishing_mid_data_completes_nothing_upstream() {
    let stack = Setup::new().start();
    let mut quitter = stack.session();
    quitter.envelope("a@sender.example", &["u@example.net"]);
    quitter.send(b"Subject: unfinished\r\n\r\nalmost done\r\n.");
    quitter.vanish();

    let mut client = stack.session();
    let sent = message("after", "next\r\n");
    queue_id(&client.deliver(&["v@example.net"], &sent));
    assert_eq!(client.command("QUIT"), BYE);
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    assert_eq!(split_received(&dumps[0].eml).1, sent.as_slice());
    let counts = stack.finish();
    assert_eq!(
        (
            counts.accepted,
            counts.tempfailed,
            counts.rejected,
            counts.closed
        ),
        (1, 0, 0, 0)
    );
}

/// Upstream connections are pooled across client sessions, and each message
/// still carries its own client: two clients from 127.0.0.2 and 127.0.0.3 go
/// through one upstream connection, each announced by its own XFORWARD.
#[test]
fn pooled_upstream_connection_carries_each_clients_identity() {
    let stack = Setup::new().start();
    let mut ports = Vec::new();
    for (last_octet, helo) in [(2, "one.example"), (3, "two.example")] {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet));
        let mut client = Client::connect_from(ip, stack.addr());
        assert_eq!(client.local_addr().ip(), ip);
        assert_eq!(client.reply(), GREETING);
        assert_eq!(client.command(&format!("EHLO {helo}")), EHLO_REPLY);
        queue_id(&client.deliver(&["u@example.net"], &message(helo, "hi\r\n")));
        assert_eq!(client.command("QUIT"), BYE);
        client.expect_closed();
        ports.push(client.local_addr().port());
    }
    let dumps = stack.dumps();
    for (dump, (ip, port, helo)) in dumps.iter().zip([
        ("127.0.0.2", ports[0], "one.example"),
        ("127.0.0.3", ports[1], "two.example"),
    ]) {
        assert_eq!(
            dump.env,
            format!(
                "EHLO mx.example.net\r\n\
                 XFORWARD NAME=[UNAVAILABLE] ADDR={ip} PORT={port} PROTO=ESMTP HELO={helo} SOURCE=REMOTE\r\n\
                 MAIL FROM:<a@sender.example>\r\nRCPT TO:<u@example.net>\r\n"
            )
        );
        let (received, _) = split_received(&dump.eml);
        assert!(received.starts_with(&format!("Received: from {helo} ([{ip}])\r\n")));
    }
    let counts = stack.finish();
    assert_eq!((counts.accepted, counts.sessions), (2, 1));
}

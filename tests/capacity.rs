//! Many clients at once: Postfix's smtp-source load generator over parallel
//! sessions with exactly-once accounting at the upstream, and a crowd of idle
//! connections that must not stop a real client from being served.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use common::{
    BYE, Client, GREETING, OK, Setup, message, peer, queue_id, raise_fd_limit, run_peer,
    split_received,
};

/// 400 messages over 8 parallel smtp-source sessions: smtp-source sees every
/// one accepted, and the upstream holds each exactly once (400 accepted, 400
/// distinct queue ids in the Received headers, 400 envelopes), over pooled
/// upstream connections (never more than the 8 clients in flight).
#[test]
fn smtp_source_400_messages_over_8_sessions_arrive_exactly_once() {
    let stack = Setup::new().start();
    let output = run_peer(
        Command::new(peer("/usr/sbin/smtp-source"))
            .args(["-s", "8", "-m", "400", "-c", "-M", "client.example"])
            .args(["-f", "a@sender.example", "-t", "u@example.net"])
            .arg(stack.addr().to_string()),
        Duration::from_secs(60),
    );
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "smtp-source failed: {output:?}"
    );

    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 400);
    let mut ids = HashSet::new();
    for dump in &dumps {
        let (received, message) = split_received(&dump.eml);
        let id = received
            .split_once(" with SMTP id ")
            .and_then(|(_, rest)| rest.split(['\r', ';']).next())
            .unwrap_or_else(|| panic!("no queue id in {received:?}"));
        assert!(ids.insert(id.to_string()), "queue id {id} arrived twice");
        assert!(
            message.starts_with(b"From: <a@sender.example>\r\nTo: <u@example.net>\r\n"),
            "{}",
            String::from_utf8_lossy(message)
        );
    }
    let record = stack.record();
    assert_eq!(record.lines().count(), 400);
    assert!(
        record
            .lines()
            .all(|line| line.contains("\ta@sender.example\tu@example.net\t"))
    );
    let counts = stack.finish();
    assert_eq!(
        (
            counts.accepted,
            counts.tempfailed,
            counts.rejected,
            counts.closed
        ),
        (400, 0, 0, 0)
    );
    assert!(
        counts.sessions <= 8,
        "{} upstream sessions",
        counts.sessions
    );
}

/// 1,000 idle connections (each greeted, none talking) do not keep a normal
/// client from having its message delivered, and every idle one is still
/// served afterwards.
#[test]
fn thousand_idle_connections_do_not_block_a_delivery() {
    // 1,000 client sockets (each with a clone for reading) and the proxy's 1,000.
    raise_fd_limit(4096);
    let stack = Setup::new()
        .config(|c| c.server.max_connections_per_ip = 2000)
        .start();
    let mut idle: Vec<Client> = (0..1000)
        .map(|_| {
            let mut client = stack.connect();
            assert_eq!(client.reply(), GREETING);
            client
        })
        .collect();

    let mut client = stack.session();
    let sent = message("through-the-crowd", "still fast\r\n");
    queue_id(&client.deliver(&["u@example.net"], &sent));
    assert_eq!(client.command("QUIT"), BYE);
    assert_eq!(split_received(&stack.dumps()[0].eml).1, sent.as_slice());

    for client in &mut idle {
        assert_eq!(client.command("NOOP"), OK);
    }
}

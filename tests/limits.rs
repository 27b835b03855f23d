//! Every bound of invariant 3, crossed over a real connection: each test sets a
//! small limit, goes to it (and where cheap, exactly to it) and one past it, and
//! asserts the exact reply and whether the connection stays open.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{
    BYE, Client, EHLO_REPLY, GREETING, OK, RECIPIENT_OK, SENDER_OK, START_DATA, Setup, queue_id,
    seconds, split_received,
};
use ringwall::config::{ByteSize, HumanDuration};

/// `count` octets of header-like lines (`X-Pad: xxx` CRLF, each at most 78
/// octets), so sizes can be hit exactly without crossing a line limit.
fn pad(count: usize) -> String {
    const PREFIX: &str = "X-Pad: ";
    const LONGEST: usize = 78;
    const SHORTEST: usize = PREFIX.len() + 3;
    assert!(count == 0 || count >= SHORTEST, "cannot pad {count} octets");
    let mut out = String::new();
    let mut left = count;
    while left > 0 {
        let len = if left <= LONGEST {
            left
        } else if left < LONGEST + SHORTEST {
            left - SHORTEST
        } else {
            LONGEST
        };
        out.push_str(PREFIX);
        out.push_str(&"x".repeat(len - PREFIX.len() - 2));
        out.push_str("\r\n");
        left -= len;
    }
    assert_eq!(out.len(), count);
    out
}

/// A message of exactly `size` octets.
fn sized_message(size: usize) -> Vec<u8> {
    const HEAD: &str = "Subject: size\r\n\r\n";
    format!("{HEAD}{}", pad(size - HEAD.len())).into_bytes()
}

/// A message whose header fields, CRLFs included, are exactly `size` octets
/// (the empty line that ends them is not counted).
fn header_of(size: usize) -> Vec<u8> {
    const SUBJECT: &str = "Subject: header\r\n";
    format!("{SUBJECT}{}\r\nbody\r\n", pad(size - SUBJECT.len())).into_bytes()
}

/// The EHLO reply when `max_message_size` is `size`.
fn ehlo_with_size(size: u64) -> String {
    EHLO_REPLY.replace("SIZE 52428800", &format!("SIZE {size}"))
}

/// A greeted connection that sent EHLO while SIZE is `size`.
fn session_with_size(stack: &common::Stack, size: u64) -> Client {
    let mut client = stack.connect();
    assert_eq!(client.reply(), GREETING);
    assert_eq!(client.command("EHLO client.example"), ehlo_with_size(size));
    client
}

/// A command line of `[limits] command_line` octets (CRLF included) is taken;
/// one octet more, or a far longer line arriving in pieces, gets one
/// 500 5.5.2 and the session goes on.
#[test]
fn command_line_length() {
    let stack = Setup::new()
        .config(|c| c.limits.command_line = ByteSize(512))
        .start();
    let mut client = stack.session();
    let noop = |len: usize| format!("NOOP {}", "x".repeat(len - "NOOP ".len() - 2));
    assert_eq!(client.command(&noop(512)), OK);
    assert_eq!(client.command(&noop(513)), "500 5.5.2 Line too long\r\n");
    client.send(format!("NOOP {}", "x".repeat(3000)));
    client.send("x".repeat(3000));
    assert_eq!(client.command(""), "500 5.5.2 Line too long\r\n");
    assert_eq!(client.command("NOOP"), OK);
}

/// A DATA line of `[limits] data_line` octets (CRLF included) is taken; one
/// octet more refuses the message with 552 5.3.4, and the session goes on.
#[test]
fn data_line_length() {
    let stack = Setup::new()
        .config(|c| c.limits.data_line = ByteSize(1000))
        .start();
    let mut client = stack.session();
    let with_line = |len: usize| format!("Subject: long\r\n\r\n{}\r\n", "y".repeat(len - 2));
    queue_id(&client.deliver(&["u@example.net"], with_line(1000).as_bytes()));
    assert_eq!(
        client.deliver(&["u@example.net"], with_line(1001).as_bytes()),
        "552 5.3.4 Message line exceeds fixed maximum length\r\n"
    );
    assert_eq!(client.command("NOOP"), OK);
    assert_eq!(stack.finish().accepted, 1);
}

/// `max_message_size` is advertised as SIZE, enforced at MAIL (SIZE=) and
/// during DATA with 552 5.3.4; a message of exactly that size is taken.
#[test]
fn message_size() {
    let stack = Setup::new()
        .config(|c| {
            c.server.max_message_size = ByteSize(2048);
            c.limits.header_size = ByteSize(1024);
        })
        .start();
    let mut client = session_with_size(&stack, 2048);
    let too_big = "552 5.3.4 Message size exceeds fixed maximum message size\r\n";
    assert_eq!(
        client.command("MAIL FROM:<a@sender.example> SIZE=2049"),
        too_big
    );
    assert_eq!(
        client.command("MAIL FROM:<a@sender.example> SIZE=2048"),
        SENDER_OK
    );
    assert_eq!(client.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    assert_eq!(client.command("DATA"), START_DATA);
    let fits = sized_message(2048);
    queue_id(&client.data(&fits));
    assert_eq!(
        client.deliver(&["u@example.net"], &sized_message(2049)),
        too_big
    );
    assert_eq!(client.command("NOOP"), OK);
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    assert_eq!(split_received(&dumps[0].eml).1, fits.as_slice());
}

/// A header section of `[limits] header_size` octets is taken; one more
/// refuses the message with 552 5.3.4.
#[test]
fn header_section_size() {
    let stack = Setup::new()
        .config(|c| c.limits.header_size = ByteSize(1024))
        .start();
    let mut client = stack.session();
    queue_id(&client.deliver(&["u@example.net"], &header_of(1024)));
    assert_eq!(
        client.deliver(&["u@example.net"], &header_of(1025)),
        "552 5.3.4 Message header section exceeds fixed maximum size\r\n"
    );
    assert_eq!(client.command("NOOP"), OK);
}

/// `[limits] recipients` recipients are taken; the next gets 452 4.5.3 (RFC
/// 5321 §4.5.3.1.8) without ending the transaction, and the message goes to
/// the ones taken.
#[test]
fn recipients_per_message() {
    let stack = Setup::new().config(|c| c.limits.recipients = 100).start();
    let mut client = stack.session();
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    let recipients: Vec<String> = (0..=100).map(|n| format!("r{n}@example.net")).collect();
    let pipelined: String = recipients
        .iter()
        .map(|r| format!("RCPT TO:<{r}>\r\n"))
        .collect();
    client.send(pipelined);
    for n in 0..100 {
        assert_eq!(client.reply(), RECIPIENT_OK, "recipient {n}");
    }
    assert_eq!(client.reply(), "452 4.5.3 Too many recipients\r\n");
    assert_eq!(client.command("DATA"), START_DATA);
    queue_id(&client.data(&common::message("many", "hi\r\n")));
    let record = stack.record();
    let fields: Vec<&str> = record.trim_end().split('\t').collect();
    assert_eq!(fields[2], recipients[..100].join(","));
}

/// Past `[limits] errors` error replies the session ends: 421 4.7.0, closed.
#[test]
fn errors_per_session() {
    let stack = Setup::new().config(|c| c.limits.errors = 3).start();
    let mut client = stack.session();
    for _ in 0..3 {
        assert_eq!(client.command("FOO"), "500 5.5.2 Command unrecognized\r\n");
    }
    assert_eq!(
        client.command("FOO"),
        "421 4.7.0 Too many errors; closing connection\r\n"
    );
    client.expect_closed();
}

/// Past `[limits] commands` commands the session ends: 421 4.7.0, closed.
#[test]
fn commands_per_session() {
    let stack = Setup::new().config(|c| c.limits.commands = 10).start();
    let mut client = stack.connect();
    assert_eq!(client.reply(), GREETING);
    for _ in 0..10 {
        assert_eq!(client.command("NOOP"), OK);
    }
    assert_eq!(
        client.command("NOOP"),
        "421 4.7.0 Too many commands; closing connection\r\n"
    );
    client.expect_closed();
}

/// Past `max_connections_per_shard` a new client gets 421 4.3.2 instead of a
/// greeting and is closed; once a client leaves, the next one is greeted.
#[test]
fn connections_per_shard() {
    let stack = Setup::new()
        .config(|c| c.server.max_connections_per_shard = 2)
        .start();
    let mut first = stack.connect();
    assert_eq!(first.reply(), GREETING);
    let mut second = stack.connect();
    assert_eq!(second.reply(), GREETING);
    let mut third = stack.connect();
    assert_eq!(
        third.reply(),
        "421 4.3.2 Too many connections; try again later\r\n"
    );
    third.expect_closed();
    assert_eq!(first.command("QUIT"), BYE);
    first.expect_closed();
    let mut fourth = stack.connect();
    assert_eq!(fourth.reply(), GREETING);
    assert_eq!(second.command("NOOP"), OK);
}

/// Past `max_connections_per_ip` from one address a new client gets 421 4.7.0
/// at connect and is closed, counted exactly across shards (the kernel spreads
/// one client's connections over both), while another address is still greeted.
#[test]
fn connections_per_client_ip() {
    let stack = Setup::new()
        .config(|c| {
            c.server.shards = 2;
            c.server.max_connections_per_ip = 2;
        })
        .start();
    let from =
        |last: u8| Client::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), stack.addr());
    let mut held = Vec::new();
    for attempt in 0..10 {
        let mut client = from(1);
        if attempt < 2 {
            assert_eq!(client.reply(), GREETING);
            held.push(client);
        } else {
            assert_eq!(
                client.reply(),
                "421 4.7.0 Too many connections from your address; try again later\r\n",
                "connection {attempt}"
            );
            client.expect_closed();
        }
    }
    let mut other = from(2);
    assert_eq!(other.reply(), GREETING);
    for client in &mut held {
        assert_eq!(client.command("NOOP"), OK);
    }
}

/// Past `max_connection_rate_per_ip` new connections in one window a client
/// gets 421 4.7.0 at connect even though it closed every earlier one (the
/// connect-and-quit loop the concurrent count cannot see), counted exactly
/// across both shards; another address is still greeted.
#[test]
fn connection_rate_per_client_ip() {
    let stack = Setup::new()
        .config(|c| {
            c.server.shards = 2;
            c.server.max_connection_rate_per_ip = 5;
            c.server.connection_rate_window = HumanDuration(Duration::from_secs(600));
        })
        .start();
    let from =
        |last: u8| Client::connect_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), stack.addr());
    for attempt in 0..12 {
        let mut client = from(3);
        if attempt < 5 {
            assert_eq!(client.reply(), GREETING, "connection {attempt}");
            assert_eq!(client.command("QUIT"), BYE);
        } else {
            assert_eq!(
                client.reply(),
                "421 4.7.0 Connection rate limit exceeded for your address; try again later\r\n",
                "connection {attempt}"
            );
            client.expect_closed();
        }
    }
    let mut other = from(4);
    assert_eq!(other.reply(), GREETING);
}

/// A client at its `max_connections_per_ip` that has read the 221 to its QUIT
/// is greeted on its next connection at once, whichever of two shards takes
/// it: the ended connection no longer counts anywhere. (It used to linger on
/// the owner shard until a background release got there: a spurious 421.)
#[test]
fn ended_connection_no_longer_counts_against_its_client() {
    let stack = Setup::new()
        .config(|c| {
            c.server.shards = 2;
            c.server.max_connections_per_ip = 1;
        })
        .start();
    for session in 0..100 {
        let mut client = stack.connect();
        assert_eq!(client.reply(), GREETING, "session {session}");
        assert_eq!(client.command("QUIT"), BYE);
    }
}

/// A client silent past `[timeouts] command` gets 421 4.4.2 and is closed, not before.
#[test]
fn idle_time_waiting_for_a_command() {
    let stack = Setup::new()
        .config(|c| c.timeouts.command = seconds(1))
        .start();
    let connected = Instant::now();
    let mut client = stack.connect();
    assert_eq!(client.reply(), GREETING);
    assert_eq!(
        client.reply(),
        "421 4.4.2 Timeout exceeded; closing connection\r\n"
    );
    assert!(connected.elapsed() >= Duration::from_secs(1));
    client.expect_closed();
}

/// A client silent mid-message past `[timeouts] data` (the command bound being
/// far longer) gets 421 4.4.2 and is closed; nothing reaches the upstream.
#[test]
fn idle_time_inside_data() {
    let stack = Setup::new()
        .config(|c| {
            c.timeouts.command = seconds(30);
            c.timeouts.data = seconds(1);
        })
        .start();
    let mut client = stack.session();
    client.envelope("a@sender.example", &["u@example.net"]);
    let sent = Instant::now();
    client.send(b"Subject: stalled\r\n\r\nhalf a messa");
    assert_eq!(
        client.reply(),
        "421 4.4.2 Timeout exceeded; closing connection\r\n"
    );
    assert!(sent.elapsed() >= Duration::from_secs(1));
    client.expect_closed();
    assert_eq!(stack.finish().accepted, 0);
}

/// A session older than `[timeouts] session` ends with 421 4.4.2 and is
/// closed, although its idle bound is far away.
#[test]
fn total_time_per_session() {
    let stack = Setup::new()
        .config(|c| {
            c.timeouts.command = seconds(30);
            c.timeouts.session = seconds(1);
        })
        .start();
    let connected = Instant::now();
    let mut client = stack.session();
    assert_eq!(
        client.reply(),
        "421 4.4.2 Session time limit exceeded; closing connection\r\n"
    );
    assert!(connected.elapsed() >= Duration::from_secs(1));
    client.expect_closed();
}

/// While a shard buffers `[limits] data_buffer_per_shard` octets of message
/// data, DATA and a first BDAT get 452 4.3.1 (the session goes on); once the
/// buffered message is delivered, DATA works again.
#[test]
fn data_bytes_buffered_per_shard() {
    let stack = Setup::new()
        .config(|c| {
            c.server.max_message_size = ByteSize(4096);
            c.limits.header_size = ByteSize(1024);
            c.limits.data_buffer_per_shard = ByteSize(4096);
        })
        .start();
    let full = "452 4.3.1 Insufficient system storage; try again later\r\n";
    let mut holder = session_with_size(&stack, 4096);
    assert_eq!(holder.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(holder.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    let held = sized_message(4096);
    holder.send(b"BDAT 4096\r\n");
    holder.send(&held);
    assert_eq!(holder.reply(), "250 2.0.0 4096 octets received\r\n");

    let mut other = session_with_size(&stack, 4096);
    assert_eq!(other.command("MAIL FROM:<b@sender.example>"), SENDER_OK);
    assert_eq!(other.command("RCPT TO:<v@example.net>"), RECIPIENT_OK);
    assert_eq!(other.command("DATA"), full);
    assert_eq!(other.command("MAIL FROM:<b@sender.example>"), SENDER_OK);
    assert_eq!(other.command("RCPT TO:<v@example.net>"), RECIPIENT_OK);
    other.send(b"BDAT 10 LAST\r\n0123456789");
    assert_eq!(other.reply(), full);

    queue_id(&holder.command("BDAT 0 LAST"));
    let sent = common::message("after", "room again\r\n");
    queue_id(&other.deliver(&["v@example.net"], &sent));
    let dumps = stack.dumps();
    assert_eq!(split_received(&dumps[0].eml).1, held.as_slice());
    assert_eq!(split_received(&dumps[1].eml).1, sent.as_slice());
}

/// Past `[limits] tarpit_after` errors, the n-th further error reply is held
/// back n × `[timeouts] tarpit_delay`, and a command pipelined behind it waits
/// with it. Lower bounds only: a loaded machine may add time, never remove it.
#[test]
fn tarpit_after_errors() {
    let delay = Duration::from_millis(200);
    let stack = Setup::new()
        .config(|c| {
            c.limits.tarpit_after = 2;
            c.timeouts.tarpit_delay = HumanDuration(delay);
        })
        .start();
    let mut client = stack.session();
    let unknown = "500 5.5.2 Command unrecognized\r\n";
    for _ in 0..2 {
        assert_eq!(client.command("FOO"), unknown);
    }
    for past in 1..=3 {
        let sent = Instant::now();
        assert_eq!(client.command("FOO"), unknown);
        let waited = sent.elapsed();
        assert!(
            waited >= delay * past,
            "error {past} past tarpit_after came after {waited:?}"
        );
    }
    let sent = Instant::now();
    client.send("FOO\r\nNOOP\r\n");
    assert_eq!(client.reply(), unknown);
    assert_eq!(client.reply(), OK);
    assert!(sent.elapsed() >= delay * 4, "{:?}", sent.elapsed());
}

/// Content slower than `[limits] min_data_rate` over a `[timeouts]
/// data_rate_window` ends the session with 421 4.4.2; nothing reaches the
/// upstream. A client well above the floor is not disturbed.
#[test]
fn minimum_data_rate() {
    let stack = Setup::new()
        .config(|c| {
            c.limits.min_data_rate = ByteSize(1000);
            c.timeouts.data_rate_window = seconds(1);
        })
        .start();
    let mut slow = stack.session();
    // Before the 354, so the window (which starts at it) is inside the span.
    let started = Instant::now();
    slow.envelope("a@sender.example", &["u@example.net"]);
    // A byte every 200 ms keeps the idle bound (5 min) happy, not the floor.
    slow.send(b"Subject: trickle\r\n\r\n");
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(200));
        slow.send(b"x");
    }
    assert_eq!(
        slow.reply(),
        "421 4.4.2 Data rate too low; closing connection\r\n"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    slow.expect_closed();

    // 5000 octets a second, five times the floor.
    let mut steady = stack.session();
    steady.envelope("a@sender.example", &["u@example.net"]);
    steady.send(b"Subject: steady\r\n\r\n");
    for _ in 0..8 {
        steady.send([b'y'; 998].as_slice());
        steady.send(b"\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    steady.send(b".\r\n");
    queue_id(&steady.reply());
    assert_eq!(stack.finish().accepted, 1);
}

/// `[limits] header_field` bounds one header field with its folded lines: a
/// field of exactly that many octets is taken, one more refuses the message
/// with 552 5.3.4 and the session goes on.
#[test]
fn header_field_size() {
    let stack = Setup::new()
        .config(|c| c.limits.header_field = ByteSize(1000))
        .start();
    let mut client = stack.session();
    // "X-Fold: " + 60 octets + CRLF = 70, 13 folded lines of 70 (980 so far),
    // then a last folded line of 20 + `extra`.
    let folded = |extra: usize| {
        let mut field = format!("X-Fold: {}\r\n", "a".repeat(60));
        for _ in 0..13 {
            field.push_str(&format!(" {}\r\n", "b".repeat(67)));
        }
        field.push_str(&format!("\t{}\r\n", "c".repeat(17 + extra)));
        format!("{field}Subject: folded\r\n\r\nbody\r\n").into_bytes()
    };
    let fits = folded(0);
    queue_id(&client.deliver(&["u@example.net"], &fits));
    assert_eq!(
        client.deliver(&["u@example.net"], &folded(1)),
        "552 5.3.4 Message header field exceeds fixed maximum length\r\n"
    );
    assert_eq!(client.command("NOOP"), OK);
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    assert_eq!(split_received(&dumps[0].eml).1, fits.as_slice());
}

/// `[server] strict_helo_literal`: an address literal must be the client's.
#[test]
fn helo_literal_must_match_when_strict() {
    let stack = Setup::new()
        .config(|c| c.server.strict_helo_literal = true)
        .start();
    let mut client = stack.connect();
    assert_eq!(client.reply(), GREETING);
    let mismatch = "550 5.7.1 HELO address literal does not match your address\r\n";
    assert_eq!(client.command("EHLO [192.0.2.1]"), mismatch);
    assert_eq!(client.command("HELO [IPv6:::1]"), mismatch);
    assert_eq!(client.command("EHLO [127.0.0.1]"), EHLO_REPLY);
    assert!(client.command("HELO client.example").starts_with("250 "));
}

/// Without `strict_helo_literal` (the default) any literal is taken: clients
/// behind NAT name their inside address.
#[test]
fn helo_literal_is_not_checked_by_default() {
    let stack = Setup::new().start();
    let mut client = stack.connect();
    assert_eq!(client.reply(), GREETING);
    assert_eq!(client.command("EHLO [192.0.2.1]"), EHLO_REPLY);
}

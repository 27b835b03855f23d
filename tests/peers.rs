//! Real SMTP clients against the proxy: swaks (pipelining) and Python's smtplib.
//! A missing peer fails the test with a pointer to scripts/install-test-peers.sh.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::{Setup, Stack, contains, peer, run_peer, split_received};

/// How long a peer program may run.
const PEER_LIMIT: Duration = Duration::from_secs(30);

/// The peer's stdout, after asserting how it exited.
fn stdout_of(output: &Output, success: bool) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.success(),
        success,
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// swaks against the stack, with our usual envelope plus `extra` arguments.
fn swaks(stack: &Stack, to: &str, extra: &[&str]) -> Output {
    run_peer(
        Command::new(peer("swaks"))
            .args(["--server", &stack.addr().to_string()])
            .args(["--helo", "client.example", "--from", "a@sender.example"])
            .args(["--to", to, "--timeout", "10"])
            .args(extra),
        PEER_LIMIT,
    )
}

/// swaks with PIPELINING sends its envelope in one batch to two recipients; it
/// sees every reply right, and the upstream gets the message once, for both.
#[test]
fn swaks_pipelines_a_message_through() {
    let stack = Setup::new().start();
    let output = swaks(
        &stack,
        "u@example.net,v@example.net",
        &[
            "--pipeline",
            "--header",
            "Message-Id: <swaks@sender.example>",
            "--body",
            "Sent by swaks.",
        ],
    );
    let stdout = stdout_of(&output, true);
    // The envelope went out in one batch before any reply was read.
    let pipelined = concat!(
        " -> MAIL FROM:<a@sender.example>\n",
        " -> RCPT TO:<u@example.net>\n",
        " -> RCPT TO:<v@example.net>\n",
        " -> DATA\n",
        "<-  250 2.1.0 Sender ok\n",
        "<-  250 2.1.5 Recipient ok\n",
        "<-  250 2.1.5 Recipient ok\n",
        "<-  354 2.0.0 End data with <CR><LF>.<CR><LF>\n",
    );
    for expected in [
        "<-  220 mx.example.net ESMTP ringwall\n",
        "<-  250-PIPELINING\n",
        pipelined,
        "<-  250 2.0.0 Ok: queued as ",
        "<-  221 2.0.0 Bye\n",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("<**"), "an error reply in:\n{stdout}");
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    let (_, message) = split_received(&dumps[0].eml);
    assert!(contains(message, b"\r\n\r\nSent by swaks.\r\n"));
    assert_eq!(
        stack.record(),
        format!(
            "<swaks@sender.example>\ta@sender.example\tu@example.net,v@example.net\t{}\n",
            dumps[0].eml.len()
        )
    );
}

/// swaks trying to relay to a domain we do not serve is refused at RCPT, as
/// swaks reports it, and nothing reaches the upstream.
#[test]
fn swaks_relay_attempt_is_refused() {
    let stack = Setup::new().start();
    let output = swaks(&stack, "x@elsewhere.example", &["--pipeline"]);
    let stdout = stdout_of(&output, false);
    assert!(
        stdout.contains("<** 550 5.7.1 Relay access denied"),
        "{stdout}"
    );
    assert!(stack.dumps().is_empty());
}

/// Python's smtplib: EHLO parsing, a message to an accepted and a refused
/// recipient (smtplib's dot-stuffing of a leading dot survives the round
/// trip), a message whose only recipient is refused, and the session goes on.
#[test]
fn python_smtplib_interoperates() {
    let stack = Setup::new().start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/smtplib_client.py");
    let output = run_peer(
        Command::new(peer("python3"))
            .arg(script)
            .arg(stack.addr().ip().to_string())
            .arg(stack.addr().port().to_string()),
        PEER_LIMIT,
    );
    assert_eq!(
        stdout_of(&output, true),
        "ehlo 250 8bitmime chunking dsn enhancedstatuscodes pipelining size smtputf8\n\
         refused x@elsewhere.example 550 5.7.1 Relay access denied\n\
         all refused x@elsewhere.example 550 5.7.1 Relay access denied\n\
         noop 250 2.0.0 Ok\n\
         quit\n"
    );
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    let (_, message) = split_received(&dumps[0].eml);
    assert!(
        message.ends_with(b"\r\n\r\n.leading dot\r\nplain line\r\n"),
        "{}",
        String::from_utf8_lossy(message)
    );
    assert_eq!(
        stack.record(),
        format!(
            "<smtplib@sender.example>\ta@sender.example\tu@example.net\t{}\n",
            dumps[0].eml.len()
        )
    );
}

//! Content verdicts end to end: a message judged at end of data is relayed
//! with its `X-Spam-*` fields, tagged, refused, deferred or discarded, as
//! the score, the rule classes, the sender lists and the recipient's policy
//! class decide; foreign `X-Spam-*` fields never reach the mailbox as ours.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{BYE, Client, Setup, Stack, message, queue_id, split_verdict};
use ringwall::config::{Config, HumanDuration, PolicyConfig};
use ringwall::scan::Check;

const GTUBE: &str = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
const REJECTED: &str = "550 5.7.1 Message rejected as spam\r\n";

/// A message with a Date, so that only what each test adds scores.
fn dated(id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    let plain = String::from_utf8(message(id, body)).unwrap();
    format!("Date: Fri, 27 Nov 2026 04:00:00 +0000\r\n{extra_headers}{plain}").into_bytes()
}

fn stack(change: impl FnOnce(&mut Config)) -> Stack {
    Setup::new().config(change).start()
}

/// The end-of-data reply for `message` from `sender` to `to`.
fn send(stack: &Stack, sender: &str, to: &str, message: &[u8]) -> String {
    let mut client: Client = stack.session();
    client.envelope(sender, &[to]);
    let reply = client.data(message);
    assert_eq!(client.command("QUIT"), BYE);
    reply
}

#[test]
fn a_clean_message_is_relayed_with_its_status() {
    let stack = stack(|_| {});
    let sent = dated("clean", "", "See you at lunch.\r\n");
    queue_id(&send(&stack, "a@sender.example", "u@example.net", &sent));
    let dumps = stack.dumps();
    let (_, verdict, rest) = split_verdict(&dumps[0].eml);
    assert_eq!(
        verdict,
        "X-Spam-Score: 0.0\nX-Spam-Status: No, score=0.0 required=5.0 action=accept tests=none\n"
    );
    assert_eq!(rest, sent.as_slice());
}

#[test]
fn gtube_is_refused_and_nothing_reaches_the_upstream() {
    let stack = stack(|_| {});
    let reply = send(
        &stack,
        "a@sender.example",
        "u@example.net",
        &dated("gtube", "", &format!("{GTUBE}\r\n")),
    );
    assert_eq!(reply, REJECTED);
    assert_eq!(stack.dumps().len(), 0);
}

#[test]
fn a_tagged_message_is_flagged_and_its_subject_prefixed() {
    let stack = stack(|c| {
        c.scoring.scores = BTreeMap::from([("MISSING_DATE".to_string(), 6.0)]);
        c.scoring.subject_prefix = Some("[SPAM]".into());
    });
    let sent = message("undated", "no Date field\r\n");
    queue_id(&send(&stack, "a@sender.example", "u@example.net", &sent));
    let dumps = stack.dumps();
    let (_, verdict, rest) = split_verdict(&dumps[0].eml);
    assert_eq!(
        verdict,
        "X-Spam-Flag: YES\nX-Spam-Score: 6.0\nX-Spam-Status: Yes, score=6.0 required=5.0 action=tag tests=MISSING_DATE=6.0\n"
    );
    let rest = String::from_utf8_lossy(rest);
    assert!(rest.contains("\r\nSubject: [SPAM] undated\r\n"), "{rest}");
}

#[test]
fn incoming_spam_fields_are_renamed_foreign() {
    let stack = stack(|_| {});
    let sent = dated(
        "forged",
        "X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-100\r\n",
        "trust me\r\n",
    );
    queue_id(&send(&stack, "a@sender.example", "u@example.net", &sent));
    let dumps = stack.dumps();
    let (_, verdict, rest) = split_verdict(&dumps[0].eml);
    assert!(verdict.starts_with("X-Spam-Score: "), "{verdict}");
    let rest = String::from_utf8_lossy(rest);
    assert!(
        rest.contains("X-Spam-Foreign-Flag: NO\r\nX-Spam-Foreign-Status: No, score=-100\r\n"),
        "{rest}"
    );
    assert!(!rest.contains("\nX-Spam-Flag:") && !rest.starts_with("X-Spam-Flag:"));
}

/// A message with a Windows program attached (a DOS header pointing at a
/// PE header, base64), under a name that does not say so.
fn with_program() -> Vec<u8> {
    let body = "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
                --b\r\nContent-Type: application/octet-stream; name=\"setup.bin\"\r\n\
                Content-Disposition: attachment; filename=\"setup.bin\"\r\n\
                Content-Transfer-Encoding: base64\r\n\r\n\
                TVoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAFBFAAAAAAAA\r\n\
                --b--\r\n";
    dated(
        "exe",
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n",
        body,
    )
}

/// A program attached: class `executable`, whose action is `reject` by
/// default, whatever the score.
#[test]
fn an_executable_attachment_is_refused_by_its_class() {
    let stack = stack(|_| {});
    assert_eq!(
        send(&stack, "a@sender.example", "u@example.net", &with_program()),
        REJECTED
    );
    assert_eq!(stack.dumps().len(), 0);
}

#[test]
fn tempfail_and_discard_thresholds() {
    let stack = stack(|c| {
        c.scoring.tempfail = Some(3.0);
        c.scoring.discard = Some(500.0);
        c.scoring.scores = BTreeMap::from([("MISSING_DATE".to_string(), 4.0)]);
    });
    assert_eq!(
        send(
            &stack,
            "a@sender.example",
            "u@example.net",
            &message("undated", "x\r\n")
        ),
        "451 4.7.1 Message deferred by the content filter; try again later\r\n"
    );
    // GTUBE (1000) passes the discard threshold: accepted, then dropped.
    queue_id(&send(
        &stack,
        "a@sender.example",
        "u@example.net",
        &dated("discard", "", &format!("{GTUBE}\r\n")),
    ));
    assert_eq!(stack.dumps().len(), 0);
}

#[test]
fn sender_lists_decide_before_the_score() {
    let stack = stack(|c| {
        c.senders.allow = vec!["partner.example".into()];
        c.senders.block = vec!["@pest.example".into()];
    });
    let gtube = dated("gtube", "", &format!("{GTUBE}\r\n"));
    assert_eq!(
        send(
            &stack,
            "x@pest.example",
            "u@example.net",
            &dated("hi", "", "hi\r\n")
        ),
        "550 5.7.1 Sender blocked by local policy\r\n"
    );
    // An allowed sender is not refused by score...
    queue_id(&send(
        &stack,
        "news@mail.partner.example",
        "u@example.net",
        &gtube,
    ));
    assert_eq!(stack.dumps().len(), 1);
    // ...but its programs still are: a sender address is easily forged.
    assert_eq!(
        send(
            &stack,
            "news@mail.partner.example",
            "u@example.net",
            &with_program()
        ),
        REJECTED
    );
}

#[test]
fn each_policy_class_has_its_thresholds() {
    let stack = stack(|c| {
        c.domains.accept = vec!["example.net".into(), "example.org".into()];
        c.policy = vec![PolicyConfig {
            name: "strict".into(),
            domains: vec!["example.org".into()],
            reject: Some(0.5),
            ..PolicyConfig::default()
        }];
    });
    let undated = message("undated", "no Date field\r\n");
    queue_id(&send(&stack, "a@sender.example", "u@example.net", &undated));
    assert_eq!(
        send(&stack, "a@sender.example", "v@example.org", &undated),
        REJECTED
    );
}

/// A scan whose budget is spent before the keyword rules: fail-open relays
/// the message naming the skipped check; with the check in `[content]
/// fail_closed` the message is deferred instead.
#[test]
fn a_skipped_check_is_named_and_defers_when_fail_closed() {
    let spent = |c: &mut Config| c.content.budget = HumanDuration(Duration::from_nanos(1));
    let open = stack(spent);
    let sent = dated("skipped", "", "Nothing to see.\r\n");
    queue_id(&send(&open, "a@sender.example", "u@example.net", &sent));
    let dumps = open.dumps();
    let (_, verdict, _) = split_verdict(&dumps[0].eml);
    assert_eq!(
        verdict,
        "X-Spam-Score: 0.0\nX-Spam-Status: No, score=0.0 required=5.0 action=accept tests=SCAN_SKIPPED_HEADERS=0.0,SCAN_SKIPPED_KEYWORDS=0.0\n"
    );
    let closed = stack(|c| {
        spent(c);
        c.content.fail_closed = vec![Check::Keywords];
    });
    assert_eq!(
        send(&closed, "a@sender.example", "u@example.net", &sent),
        "451 4.7.1 Message deferred by the content filter; try again later\r\n"
    );
    assert_eq!(closed.dumps().len(), 0);
}

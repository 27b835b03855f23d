//! Policy classes end to end: one transaction gets one verdict, so a
//! recipient whose `[[policy]]` differs from those already accepted is
//! deferred with 452 4.5.3 and goes through in a transaction of its own.

mod common;

use common::{RECIPIENT_OK, SENDER_OK, Setup, message, queue_id};
use ringwall::config::PolicyConfig;

const OTHER_POLICY: &str =
    "452 4.5.3 Too many recipients for one verdict; send this one in a new transaction\r\n";

#[test]
fn a_recipient_of_another_policy_class_waits_for_its_own_transaction() {
    let stack = Setup::new()
        .config(|c| {
            c.domains.accept = vec!["example.net".into(), "example.org".into()];
            c.policy = vec![PolicyConfig {
                name: "strict".into(),
                domains: vec!["example.org".into()],
                reject: Some(8.0),
                ..PolicyConfig::default()
            }];
        })
        .start();
    let mut client = stack.session();
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(client.command("RCPT TO:<u@example.net>"), RECIPIENT_OK);
    assert_eq!(client.command("RCPT TO:<v@example.org>"), OTHER_POLICY);
    assert_eq!(client.command("RCPT TO:<w@example.net>"), RECIPIENT_OK);
    assert_eq!(client.command("DATA"), common::START_DATA);
    queue_id(&client.data(&message("first", "for the default class\r\n")));
    // The deferred recipient, first in a new transaction, is accepted, and
    // now the default class is the other one.
    assert_eq!(client.command("MAIL FROM:<a@sender.example>"), SENDER_OK);
    assert_eq!(client.command("RCPT TO:<v@example.org>"), RECIPIENT_OK);
    assert_eq!(client.command("RCPT TO:<u@example.net>"), OTHER_POLICY);
    assert_eq!(client.command("DATA"), common::START_DATA);
    queue_id(&client.data(&message("second", "for the strict class\r\n")));
}

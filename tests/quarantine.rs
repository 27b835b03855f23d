//! The quarantine end to end: a message whose verdict is `quarantine` is
//! kept (250 only once durable) and never reaches the upstream; the API
//! lists it with the contract's keys; release re-injects it byte for byte
//! with its original envelope; a recipient's signed link shows a
//! confirmation on GET and releases only on POST, only to that recipient;
//! a store below its free-space floor, or full, answers 451 4.3.1; the CLI
//! works through the running daemon.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use common::binary::RINGWALL;
use common::quarantine::{self, held_message, write_rules};
use common::{BYE, Setup, Stack, message, queue_id};
use ringwall::config::{ByteSize, Config};
use ringwall::quarantine::links::release_link;
use ringwall::quarantine::secrets::Secrets;

const TOKEN: &str = "test-admin-token-0123456789";
const FULL: &str = "451 4.3.1 Insufficient system storage; try again later\r\n";

/// A message the rule holds, with its id as the marker.
fn holdable(id: &str) -> Vec<u8> {
    held_message(id, "please")
}

fn api(stack: &Stack, method: &str, path: &str) -> (u16, Vec<u8>) {
    quarantine::api(stack.admin_addr().unwrap(), TOKEN, method, path)
}

fn list(stack: &Stack) -> Vec<serde_json::Value> {
    quarantine::list(stack.admin_addr().unwrap(), TOKEN)
}

/// The list once it holds `n` messages (see [`quarantine::list_of`]).
fn list_of(stack: &Stack, n: usize) -> Vec<serde_json::Value> {
    quarantine::list_of(stack.admin_addr().unwrap(), TOKEN, n)
}

struct Held {
    stack: Stack,
    dir: tempfile::TempDir,
}

fn start(change: impl FnOnce(&mut Config, &Path)) -> Held {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path());
    let store = dir.path().join("quarantine");
    let stack = Setup::new()
        .config(|c| {
            c.content.builtin_rules = false;
            c.content.rules = vec![rules];
            c.quarantine.directory = Some(store);
            c.quarantine.min_free_space = ByteSize(0);
            c.admin.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
            c.admin.token = Some(TOKEN.into());
            change(c, dir.path());
        })
        .start();
    Held { stack, dir }
}

fn send(stack: &Stack, to: &[&str], message: &[u8]) -> String {
    let mut client = stack.session();
    client.envelope("bulk@sender.example", to);
    let reply = client.data(message);
    assert_eq!(client.command("QUIT"), BYE);
    reply
}

#[test]
fn a_quarantined_message_is_kept_listed_and_released_byte_for_byte() {
    let held = start(|_, _| {});
    let stack = &held.stack;
    let sent = holdable("held-1");
    let id = queue_id(&send(
        stack,
        &["alice@example.net", "bob@example.net"],
        &sent,
    ));
    assert!(stack.dumps().is_empty(), "nothing reaches the upstream");

    let items = list_of(stack, 1);
    assert_eq!(items.len(), 1);
    let item = &items[0];
    for key in [
        "id",
        "message_id",
        "sender",
        "recipients",
        "score",
        "received_at",
    ] {
        assert!(item.get(key).is_some(), "key {key} in {item}");
    }
    let qid = item["id"].as_str().unwrap();
    assert!(qid.starts_with(&id), "{qid} carries queue id {id}");
    assert_eq!(item["message_id"], "<held-1@sender.example>");
    assert_eq!(item["sender"], "bulk@sender.example");
    assert_eq!(
        item["recipients"],
        serde_json::json!(["alice@example.net", "bob@example.net"])
    );
    assert_eq!(item["score"], 9.0);
    assert_eq!(item["rules"], "LOCAL_HOLD=9.0");

    let (status, raw) = api(stack, "GET", &format!("/api/quarantine/{qid}/raw"));
    assert_eq!(status, 200);
    assert!(raw.starts_with(b"Received: from client.example"));
    assert!(
        raw.ends_with(&sent),
        "the client's message, whole, after our fields"
    );

    let (status, body) = api(stack, "POST", &format!("/api/quarantine/{qid}/release"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let released: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(released["removed"], true);
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    assert_eq!(dumps[0].eml, raw, "byte-identical re-injection");
    assert!(
        dumps[0].env.contains("MAIL FROM:<bulk@sender.example>"),
        "{}",
        dumps[0].env
    );
    assert!(dumps[0].env.contains("RCPT TO:<alice@example.net>"));
    assert!(dumps[0].env.contains("RCPT TO:<bob@example.net>"));
    assert!(list(stack).is_empty());
    let (status, _) = api(stack, "POST", &format!("/api/quarantine/{qid}/release"));
    assert_eq!(status, 404, "released once only");
}

#[test]
fn the_api_refuses_without_the_token_and_deletes_with_it() {
    let held = start(|_, _| {});
    let stack = &held.stack;
    queue_id(&send(stack, &["alice@example.net"], &holdable("held-2")));
    let url = format!("http://{}/api/quarantine", stack.admin_addr().unwrap());
    match ureq::get(&url).call() {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    match ureq::get(&url)
        .set("Authorization", "Bearer wrong-token-wrong-token")
        .call()
    {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    let qid = list_of(stack, 1)[0]["id"].as_str().unwrap().to_string();
    let (status, _) = api(stack, "POST", &format!("/api/quarantine/{qid}/delete"));
    assert_eq!(status, 200);
    assert!(list(stack).is_empty());
    assert!(stack.dumps().is_empty());
}

#[test]
fn a_recipients_link_confirms_on_get_and_releases_only_their_copy_on_post() {
    let held = start(|c, _| {
        c.quarantine.public_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.quarantine.public_url = Some("https://quarantine.example.net".into());
    });
    let stack = &held.stack;
    let public = stack.public_addr().unwrap();
    queue_id(&send(
        stack,
        &["alice@example.net", "bob@example.net"],
        &holdable("held-3"),
    ));
    let qid = list_of(stack, 1)[0]["id"].as_str().unwrap().to_string();
    let secrets = Secrets::load(&held.dir.path().join("quarantine"), Some(TOKEN)).unwrap();
    let expires = ringwall::quarantine::service::now() + 3_600;
    let link = release_link(
        &secrets,
        &format!("http://{public}"),
        &qid,
        "Bob@example.net",
        expires,
    );

    // A link scanner's GET releases nothing.
    let page = ureq::get(&link).call().unwrap().into_string().unwrap();
    assert!(page.contains("Release it to my inbox"), "{page}");
    assert!(stack.dumps().is_empty());

    // A POST without the page's CSRF token is refused.
    match ureq::post(&link).send_form(&[("csrf", "00")]) {
        Err(ureq::Error::Status(403, _)) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    let csrf = page
        .split("name=csrf value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let done = ureq::post(&link)
        .send_form(&[("csrf", csrf)])
        .unwrap()
        .into_string()
        .unwrap();
    assert!(done.contains("Released"), "{done}");
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 1);
    assert!(dumps[0].env.contains("RCPT TO:<bob@example.net>"));
    assert!(
        !dumps[0].env.contains("alice"),
        "only the link's recipient: {}",
        dumps[0].env
    );
    // Alice's copy is still held; Bob's is marked released.
    let items = list(stack);
    assert_eq!(
        items[0]["released_to"],
        serde_json::json!(["bob@example.net"])
    );

    // The same link cannot release twice; a forged one does nothing.
    match ureq::post(&link).send_form(&[("csrf", csrf)]) {
        Err(ureq::Error::Status(409, _)) => {}
        other => panic!("expected 409, got {other:?}"),
    }
    let forged = link.replace(&hex("bob@example.net"), &hex("alice@example.net"));
    match ureq::get(&forged).call() {
        Err(ureq::Error::Status(403, _)) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    assert_eq!(stack.dumps().len(), 1);
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn below_the_free_space_floor_a_quarantine_verdict_is_a_tempfail() {
    let held = start(|c, _| c.quarantine.min_free_space = ByteSize(u64::MAX / 2));
    let stack = &held.stack;
    let reply = send(stack, &["alice@example.net"], &holdable("held-4"));
    assert_eq!(reply, FULL);
    assert!(stack.dumps().is_empty());
    assert!(list(stack).is_empty());
}

/// A real full disk: a 1 MiB tmpfs (mounting needs root, as CI runs).
#[test]
fn a_full_disk_gives_451_not_loss() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(mount.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "mounting a tmpfs needs root (CI runs as root)");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(mount.path());
    let store = mount.path().join("q");
    let held = start(|c, _| c.quarantine.directory = Some(store.clone()));
    let stack = &held.stack;
    let small = holdable("fits");
    queue_id(&send(stack, &["alice@example.net"], &small));
    let big_body = format!(
        "quarantine-me\r\n{}",
        "x".repeat(76).repeat(20_000).replace("xx", "x\r\n")
    );
    let reply = send(
        stack,
        &["alice@example.net"],
        &message("too-big", &big_body),
    );
    assert_eq!(reply, FULL);
    let items = list_of(stack, 1);
    assert_eq!(
        items.len(),
        1,
        "the one that fitted, and nothing half-written"
    );
    assert_eq!(items[0]["message_id"], "<fits@sender.example>");
    assert_eq!(std::fs::read_dir(store.join("tmp")).unwrap().count(), 0);
}

#[test]
fn the_cli_works_through_the_running_daemon() {
    let held = start(|_, _| {});
    let stack = &held.stack;
    let id = queue_id(&send(stack, &["alice@example.net"], &holdable("held-5")));
    assert_eq!(list_of(stack, 1).len(), 1, "indexed before the CLI asks");
    let config = held.dir.path().join("cli.toml");
    std::fs::write(
        &config,
        format!(
            "[admin]\nlisten = \"{}\"\ntoken = \"{TOKEN}\"\n[quarantine]\ndirectory = \"{}\"\n",
            stack.admin_addr().unwrap(),
            held.dir.path().join("quarantine").display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(RINGWALL)
            .args(["quarantine", "--config"])
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed: Vec<serde_json::Value> = serde_json::from_str(&run(&["list", "--json"])).unwrap();
    assert_eq!(listed.len(), 1);
    let qid = listed[0]["id"].as_str().unwrap().to_string();
    assert!(qid.starts_with(&id));
    let filtered: Vec<serde_json::Value> = serde_json::from_str(&run(&[
        "list",
        "--json",
        "--recipient",
        "nobody@example.net",
    ]))
    .unwrap();
    assert!(filtered.is_empty());
    let shown = run(&["show", &qid]);
    assert!(
        shown.contains("score:       9.0  (LOCAL_HOLD=9.0)"),
        "{shown}"
    );
    assert!(shown.contains("quarantine-me"), "{shown}");
    let released = run(&["release", &qid]);
    assert!(
        released.starts_with(&format!("{qid}: released to alice@example.net")),
        "{released}"
    );
    assert_eq!(stack.dumps().len(), 1);
    assert_eq!(run(&["list"]).trim(), "0 message(s)");
}

#[test]
fn the_report_page_asks_for_the_admin_token_once_a_quarantine_exists() {
    let held = start(|_, _| {});
    let url = format!("http://{}/report", held.stack.admin_addr().unwrap());
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let response = agent.get(&url).call().unwrap();
    assert_eq!(
        response.status(),
        303,
        "a browser is sent to the login form"
    );
    assert_eq!(response.header("location"), Some("/quarantine/login"));
    match agent
        .get(&url)
        .set("Authorization", "Bearer wrong-token-wrong")
        .call()
    {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    let page = agent
        .get(&url)
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[test]
fn a_digest_mails_each_recipient_their_held_messages_with_working_links() {
    let held = start(|c, _| {
        c.quarantine.public_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.quarantine.public_url = Some("http://placeholder.invalid".into());
    });
    let stack = &held.stack;
    queue_id(&send(
        stack,
        &["alice@example.net", "bob@example.net"],
        &holdable("d-1"),
    ));
    queue_id(&send(stack, &["alice@example.net"], &holdable("d-2")));
    assert_eq!(
        list_of(stack, 2).len(),
        2,
        "indexed before the digest reads it"
    );
    let public = stack.public_addr().unwrap();
    let config = held.dir.path().join("digest.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nhostname = \"mx.example.net\"\n[upstream]\naddress = \"{}\"\n\
             [admin]\nlisten = \"{}\"\ntoken = \"{TOKEN}\"\n\
             [quarantine]\ndirectory = \"{}\"\npublic_url = \"http://{public}\"\npublic_listen = \"{public}\"\n",
            stack.upstream_addr(),
            stack.admin_addr().unwrap(),
            held.dir.path().join("quarantine").display()
        ),
    )
    .unwrap();
    let out = Command::new(RINGWALL)
        .args(["quarantine", "--config"])
        .arg(&config)
        .arg("digest")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("alice@example.net: digest of 2 message(s) sent"),
        "{printed}"
    );
    assert!(
        printed.contains("bob@example.net: digest of 1 message(s) sent"),
        "{printed}"
    );
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 2);
    let to_bob = dumps
        .iter()
        .find(|d| d.env.contains("RCPT TO:<bob@example.net>"))
        .expect("bob's digest");
    assert!(
        to_bob.env.contains("MAIL FROM:<postmaster@mx.example.net>"),
        "{}",
        to_bob.env
    );
    let text = String::from_utf8(to_bob.eml.clone()).unwrap();
    assert!(
        text.contains("Subject: 1 message(s) held in quarantine for you"),
        "{text}"
    );
    let link = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Release: "))
        .expect("a release link");
    // Bob's link releases Bob's copy, through the link listener.
    let page = ureq::get(link).call().unwrap().into_string().unwrap();
    let csrf = page
        .split("name=csrf value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    ureq::post(link).send_form(&[("csrf", csrf)]).unwrap();
    let dumps = stack.dumps();
    assert_eq!(dumps.len(), 3);
    assert!(dumps[2].eml.ends_with(&holdable("d-1")));
    assert!(dumps[2].env.contains("RCPT TO:<bob@example.net>"));
}

#[test]
fn a_reviewed_message_teaches_the_classifier_when_asked() {
    let held = start(|c, dir| c.bayes.database = Some(dir.join("bayes.redb")));
    let stack = &held.stack;
    queue_id(&send(stack, &["alice@example.net"], &holdable("t-1")));
    queue_id(&send(stack, &["alice@example.net"], &holdable("t-2")));
    let admin =
        ringwall::admin::AdminClient::new(stack.admin_addr(), Some(TOKEN.to_string())).unwrap();
    let table = || {
        admin
            .snapshot(ringwall::bayes::Classifier::default())
            .unwrap()
    };
    assert!(table().is_empty());
    // With a quarantine there is an admin token, and the classifier's
    // routes ask for it: nobody else can teach it.
    let anonymous = ringwall::admin::AdminClient::new(stack.admin_addr(), None).unwrap();
    let refused = anonymous.learn(
        "everything",
        ringwall::bayes::Class::Spam,
        b"Subject: x\r\n\r\npoison\r\n",
    );
    assert!(refused.unwrap_err().to_string().contains("401"));
    let ids: Vec<String> = list_of(stack, 2)
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let (status, _) = api(
        stack,
        "POST",
        &format!("/api/quarantine/{}/release?train=1", ids[0]),
    );
    assert_eq!(status, 200);
    let after_ham = table().len();
    assert!(after_ham > 0, "the released message was learned as ham");
    let (status, _) = api(
        stack,
        "POST",
        &format!("/api/quarantine/{}/delete?train=1", ids[1]),
    );
    assert_eq!(status, 200);
    let (status, body) = api(stack, "POST", "/bayes/commit");
    assert_eq!(status, 200);
    let counts: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(counts["ham_messages"], 1, "{counts}");
    assert_eq!(counts["spam_messages"], 1, "{counts}");
}

//! What the quarantine's tests share: a rule that holds a message, such a
//! message, and the admin API with a bearer token.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The body keyword the rule of [`write_rules`] holds.
pub const KEYWORD: &str = "quarantine-me";

/// A rule file whose one rule scores [`KEYWORD`] in the body 9: past the
/// default quarantine threshold (8), under reject (15).
pub fn write_rules(dir: &Path) -> PathBuf {
    let path = dir.join("quarantine-rules.toml");
    std::fs::write(
        &path,
        format!(
            "[[rule]]\nname = \"LOCAL_HOLD\"\nscore = 9.0\nwhere = [\"body\"]\n\
             literal = \"{KEYWORD}\"\ndescription = \"A test message meant for quarantine\"\n"
        ),
    )
    .unwrap();
    path
}

/// A message the rule holds, with `marker` in its body; dated, so that only
/// the rule scores.
pub fn held_message(id: &str, marker: &str) -> Vec<u8> {
    let plain = String::from_utf8(super::message(id, &format!("{marker} {KEYWORD}\r\n"))).unwrap();
    format!("Date: Fri, 27 Nov 2026 04:00:00 +0000\r\n{plain}").into_bytes()
}

/// `method path` on the admin listener with `token`: the status and body
/// (error statuses included).
pub fn api(admin: SocketAddr, token: &str, method: &str, path: &str) -> (u16, Vec<u8>) {
    let response = ureq::request(method, &format!("http://{admin}{path}"))
        .set("Authorization", &format!("Bearer {token}"))
        .call();
    let response = match response {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = response.status();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).unwrap();
    (status, body)
}

/// The quarantine's list through the JSON API.
pub fn list(admin: SocketAddr, token: &str) -> Vec<serde_json::Value> {
    let (status, body) = api(admin, token, "GET", "/api/quarantine");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The list once it holds `n` messages. The files are made durable before
/// the sender hears 250, and the index thread lists a message just after:
/// a list read right after a send can be a moment behind. Gives up after
/// 10 s and returns what it has, for the caller's assertion to show.
pub fn list_of(admin: SocketAddr, token: &str, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = list(admin, token);
        if listed.len() == n || Instant::now() > deadline {
            return listed;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

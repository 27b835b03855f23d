//! The two secrets the review surfaces rest on: the admin token (asked by
//! the API and the review page) and the key that signs recipients' release
//! links. Unless the configuration names a token, both are drawn at random
//! the first time and kept in the quarantine directory, readable only by
//! ringwall's user, so a fresh install is never open by default and the
//! CLI on the same machine finds them.

use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ring::hmac;

/// File holding the generated admin token.
const TOKEN_FILE: &str = "admin-token";
/// File holding the link-signing key.
const LINK_KEY_FILE: &str = "link-key";

/// The admin token and the link key.
pub struct Secrets {
    /// What `Authorization: Bearer` and the login form must carry.
    pub admin_token: String,
    /// HMAC-SHA256 key of release links (and of the CSRF tokens).
    pub link_key: hmac::Key,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// The secrets of the quarantine at `dir`: `configured` as the token
    /// when given, otherwise the kept (or a new) random one.
    pub fn load(dir: &Path, configured: Option<&str>) -> io::Result<Secrets> {
        let admin_token = match configured {
            Some(token) => token.to_string(),
            None => {
                let raw =
                    load_or_create(&dir.join(TOKEN_FILE), || Ok(hex(&random(24)?).into_bytes()))?;
                token_text(&raw)
            }
        };
        let key = load_or_create(&dir.join(LINK_KEY_FILE), || random(32))?;
        Ok(Secrets {
            admin_token,
            link_key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        })
    }

    /// True when `offered` is the admin token (compared in constant time).
    pub fn is_admin_token(&self, offered: &str) -> bool {
        // Comparing MACs of both keeps the comparison constant-time.
        let expected = hmac::sign(&self.link_key, self.admin_token.as_bytes());
        hmac::verify(&self.link_key, offered.as_bytes(), expected.as_ref()).is_ok()
    }

    /// The signature of `message` under the link key, hex.
    pub fn sign(&self, message: &str) -> String {
        hex(hmac::sign(&self.link_key, message.as_bytes()).as_ref())
    }

    /// True when `signature` (hex) signs `message`.
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        let Some(tag) = unhex(signature) else {
            return false;
        };
        hmac::verify(&self.link_key, message.as_bytes(), &tag).is_ok()
    }
}

/// The admin token a client of the daemon `config` describes presents:
/// `[admin] token`, or the one the daemon generated in its quarantine
/// directory (read, never made here); none without either.
pub fn admin_token(config: &crate::config::Config) -> Option<String> {
    if let Some(token) = &config.admin.token {
        return Some(token.clone());
    }
    let dir = config.quarantine.directory.as_ref()?;
    let token = token_text(&std::fs::read(dir.join(TOKEN_FILE)).ok()?);
    (!token.is_empty()).then_some(token)
}

/// The token an `admin-token` file holds, read one way by the daemon that
/// asks for it and the CLI that presents it (an editor's newline dropped).
fn token_text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).trim().to_string()
}

/// The contents of `path`, created with `make()` (mode 0600) when absent.
fn load_or_create(path: &Path, make: impl FnOnce() -> io::Result<Vec<u8>>) -> io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) if !bytes.is_empty() => return Ok(bytes),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let bytes = make()?;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            file.write_all(&bytes)?;
            file.sync_all()?;
            Ok(bytes)
        }
        // Another process made it first: theirs wins.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => std::fs::read(path),
        Err(e) => Err(e),
    }
}

fn random(len: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex `text`, when it is hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_kept_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = Secrets::load(dir.path(), None).unwrap();
        let again = Secrets::load(dir.path(), None).unwrap();
        assert_eq!(first.admin_token.len(), 48);
        assert_eq!(first.admin_token, again.admin_token);
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(again.verify("x", &first.sign("x")));
    }

    #[test]
    fn a_configured_token_wins_and_signatures_bind_their_message() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::load(dir.path(), Some("configured-token-123")).unwrap();
        assert!(secrets.is_admin_token("configured-token-123"));
        assert!(!secrets.is_admin_token("configured-token-12"));
        let signature = secrets.sign("release|a|b@x|99");
        assert!(secrets.verify("release|a|b@x|99", &signature));
        assert!(!secrets.verify("release|a|c@x|99", &signature));
        assert!(!secrets.verify("release|a|b@x|99", "zz"));
    }
}

//! Recipients' release links: `/r/{id}/{recipient, hex}/{expiry}/{HMAC}`.
//! The signature binds the message, the one recipient it may be released
//! to and the expiry, so a link can neither be forged, nor widened to
//! another recipient, nor kept alive.

use super::secrets::{Secrets, hex, unhex};
use super::store::is_id;

/// Why a link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Its parts do not parse.
    Damaged,
    /// The signature does not match (forged or altered).
    Invalid,
    /// Past its expiry.
    Expired,
}

impl LinkError {
    /// What the link page tells its visitor.
    pub fn explain(self) -> &'static str {
        match self {
            LinkError::Damaged => "This link is damaged.",
            LinkError::Invalid => "This link is not valid.",
            LinkError::Expired => {
                "This link has expired; ask your administrator to release the message."
            }
        }
    }
}

fn signed_text(id: &str, recipient: &str, expires: u64) -> String {
    format!("release\0{id}\0{recipient}\0{expires}")
}

/// The release link of message `id` for `recipient`, valid until
/// `expires` (seconds since the epoch), under `base` (`[quarantine]
/// public_url`).
pub fn release_link(
    secrets: &Secrets,
    base: &str,
    id: &str,
    recipient: &str,
    expires: u64,
) -> String {
    let recipient = recipient.to_ascii_lowercase();
    let signature = secrets.sign(&signed_text(id, &recipient, expires));
    format!(
        "{}/r/{id}/{}/{expires}/{signature}",
        base.trim_end_matches('/'),
        hex(recipient.as_bytes())
    )
}

/// The recipient a link's parts speak for, at `now`.
pub fn check_link(
    secrets: &Secrets,
    id: &str,
    recipient_hex: &str,
    expires: &str,
    signature: &str,
    now: u64,
) -> Result<String, LinkError> {
    let recipient = unhex(recipient_hex)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(LinkError::Damaged)?;
    let expires: u64 = expires.parse().map_err(|_| LinkError::Damaged)?;
    if !is_id(id) || !secrets.verify(&signed_text(id, &recipient, expires), signature) {
        return Err(LinkError::Invalid);
    }
    if expires <= now {
        return Err(LinkError::Expired);
    }
    Ok(recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(link: &str) -> Vec<String> {
        link.rsplit('/')
            .take(4)
            .map(String::from)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }

    #[test]
    fn a_link_speaks_for_its_recipient_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::load(dir.path(), None).unwrap();
        let link = release_link(
            &secrets,
            "https://q.example/",
            "ABC123",
            "Bob@X.example",
            1_000,
        );
        assert!(link.starts_with("https://q.example/r/ABC123/"));
        let p = parts(&link);
        assert_eq!(
            check_link(&secrets, &p[0], &p[1], &p[2], &p[3], 999),
            Ok("bob@x.example".into())
        );
        assert_eq!(
            check_link(&secrets, &p[0], &p[1], &p[2], &p[3], 1_000),
            Err(LinkError::Expired)
        );
        // Another recipient, a later expiry or another message: invalid.
        let other = hex(b"eve@x.example");
        assert_eq!(
            check_link(&secrets, &p[0], &other, &p[2], &p[3], 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            check_link(&secrets, &p[0], &p[1], "99999", &p[3], 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            check_link(&secrets, "ABC124", &p[1], &p[2], &p[3], 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            check_link(&secrets, &p[0], "zz", &p[2], &p[3], 0),
            Err(LinkError::Damaged)
        );
        assert_eq!(
            check_link(&secrets, "../x", &p[1], &p[2], &p[3], 0),
            Err(LinkError::Invalid)
        );
    }
}

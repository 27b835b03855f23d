//! RFC 5321 §4.1.2 paths: `<>`, `<postmaster>`, `<local@domain>`, quoted local
//! parts, and source routes (`<@relay,@relay2:local@domain>`, accepted and
//! stripped as §C of RFC 5321 tells servers to).
//!
//! We keep the local part exactly as the client wrote it (quotes included) so the
//! upstream sees the same address, and expose the unquoted form for the relay checks.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

/// The longest path RFC 5321 §4.5.3.1.3 allows, brackets included.
pub const MAX_PATH: usize = 256;

/// Why a path did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Nothing after `FROM:`/`TO:`, a missing `>` or characters outside the grammar.
    #[error("malformed path")]
    Malformed,
    /// Longer than RFC 5321 allows.
    #[error("path longer than {MAX_PATH} octets")]
    TooLong,
    /// `<>` where a recipient is required.
    #[error("null path where a mailbox is required")]
    NullNotAllowed,
}

/// A mailbox, `local@domain`, as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The local part as written: a dot-string, or a quoted string with its quotes.
    pub local: String,
    /// The domain, or an address literal with its brackets (`[192.0.2.1]`).
    pub domain: String,
}

impl Mailbox {
    /// The local part with quoting removed (`"a@b"` becomes `a@b`): what relay
    /// checks must look at, since an upstream interprets it unquoted.
    pub fn local_unquoted(&self) -> Cow<'_, str> {
        let Some(inner) = self
            .local
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
        else {
            return Cow::Borrowed(&self.local);
        };
        let mut out = String::with_capacity(inner.len());
        let mut escaped = false;
        for c in inner.chars() {
            if escaped || c != '\\' {
                out.push(c);
                escaped = false;
            } else {
                escaped = true;
            }
        }
        Cow::Owned(out)
    }

    /// True when the address needs SMTPUTF8 to be carried (RFC 6531).
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.domain.is_ascii()
    }

    /// True when the domain is an address literal (`[...]`).
    pub fn is_address_literal(&self) -> bool {
        self.domain.starts_with('[')
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// MAIL FROM's path: a mailbox, or `<>` for bounces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    /// `<>`: a delivery status notification or other bounce.
    Null,
    /// A sender mailbox.
    Mailbox(Mailbox),
}

impl fmt::Display for ReversePath {
    /// The bracketed form sent to the upstream.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

impl ReversePath {
    /// True when carrying the path needs SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        match self {
            ReversePath::Null => true,
            ReversePath::Mailbox(m) => m.is_ascii(),
        }
    }
}

/// RCPT TO's path: a mailbox, or the bare `<postmaster>` every server must accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPath {
    /// `<postmaster>` without a domain (RFC 5321 §4.5.1), in the case the client used.
    Postmaster(String),
    /// A recipient mailbox.
    Mailbox(Mailbox),
}

impl fmt::Display for ForwardPath {
    /// The bracketed form sent to the upstream.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster(p) => write!(f, "<{p}>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

impl ForwardPath {
    /// True when carrying the path needs SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        match self {
            ForwardPath::Postmaster(_) => true,
            ForwardPath::Mailbox(m) => m.is_ascii(),
        }
    }
}

/// Parses a reverse-path at the start of `input`; returns it and the rest (the
/// ESMTP parameters).
pub fn parse_reverse_path(input: &str) -> Result<(ReversePath, &str), AddressError> {
    let (inner, rest) = split_path(input)?;
    if inner.is_empty() {
        return Ok((ReversePath::Null, rest));
    }
    Ok((
        ReversePath::Mailbox(parse_mailbox(strip_source_route(inner)?)?),
        rest,
    ))
}

/// Parses a forward-path at the start of `input`; returns it and the rest.
pub fn parse_forward_path(input: &str) -> Result<(ForwardPath, &str), AddressError> {
    let (inner, rest) = split_path(input)?;
    if inner.is_empty() {
        return Err(AddressError::NullNotAllowed);
    }
    if inner.eq_ignore_ascii_case("postmaster") {
        return Ok((ForwardPath::Postmaster(inner.to_string()), rest));
    }
    Ok((
        ForwardPath::Mailbox(parse_mailbox(strip_source_route(inner)?)?),
        rest,
    ))
}

/// Splits `<path> rest` (or, leniently like Postfix, an unbracketed `path rest`)
/// into the text inside the brackets and what follows.
fn split_path(input: &str) -> Result<(&str, &str), AddressError> {
    let input = input.trim_start_matches(' ');
    let (inner, rest) = if let Some(body) = input.strip_prefix('<') {
        let close = find_closing_bracket(body).ok_or(AddressError::Malformed)?;
        (&body[..close], &body[close + 1..])
    } else {
        let end = input.find(' ').unwrap_or(input.len());
        if end == 0 {
            return Err(AddressError::Malformed);
        }
        (&input[..end], &input[end..])
    };
    if inner.len() + 2 > MAX_PATH {
        return Err(AddressError::TooLong);
    }
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return Err(AddressError::Malformed);
    }
    Ok((inner, rest))
}

/// Finds the `>` that closes a path, skipping any inside a quoted local part.
fn find_closing_bracket(body: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, b) in body.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'>' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Drops an RFC 5321 source route (`@a,@b:`), checking its shape.
fn strip_source_route(inner: &str) -> Result<&str, AddressError> {
    if !inner.starts_with('@') {
        return Ok(inner);
    }
    let colon = inner.find(':').ok_or(AddressError::Malformed)?;
    for hop in inner[..colon].split(',') {
        let domain = hop.strip_prefix('@').ok_or(AddressError::Malformed)?;
        if !is_domain(domain) {
            return Err(AddressError::Malformed);
        }
    }
    Ok(&inner[colon + 1..])
}

fn parse_mailbox(text: &str) -> Result<Mailbox, AddressError> {
    let at = local_part_end(text).ok_or(AddressError::Malformed)?;
    let (local, domain) = (&text[..at], &text[at + 1..]);
    if !(is_domain(domain) || is_address_literal(domain)) {
        return Err(AddressError::Malformed);
    }
    Ok(Mailbox {
        local: local.to_string(),
        domain: domain.to_string(),
    })
}

/// Returns the index of the `@` that ends a valid local part.
fn local_part_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() == Some(&b'"') {
        let mut escaped = false;
        for (i, &b) in bytes.iter().enumerate().skip(1) {
            match b {
                _ if escaped => {
                    if !(32..=126).contains(&b) {
                        return None;
                    }
                    escaped = false
                }
                b'\\' => escaped = true,
                b'"' => return (bytes.get(i + 1) == Some(&b'@')).then_some(i + 1),
                32..=126 | 0x80.. => {}
                _ => return None,
            }
        }
        return None;
    }
    let at = text.find('@')?;
    let local = &text[..at];
    let dot_string = !local.is_empty()
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext));
    dot_string.then_some(at)
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// A domain name: dot-separated labels of letters, digits and inner hyphens
/// (UTF-8 U-labels allowed; whether they may be used is the SMTPUTF8 check's job).
pub fn is_domain(domain: &str) -> bool {
    has_domain_syntax(domain, b"-")
}

/// The name in EHLO/HELO: a domain as [`is_domain`] has it, or an address
/// literal, but taking the two slips real clients make and every MTA lets
/// through: an underscore inside a label (Windows host names) and one trailing
/// dot. Anything else (brackets, `@`, quotes, empty labels) is not a host
/// name, and refusing it keeps junk out of the Received header and XFORWARD.
pub fn is_helo_name(name: &str) -> bool {
    is_address_literal(name) || has_domain_syntax(name.strip_suffix('.').unwrap_or(name), b"-_")
}

/// Dot-separated labels of 1 to 63 octets (255 in all) made of letters,
/// digits, UTF-8 and the `inner` punctuation, which may not begin or end one.
fn has_domain_syntax(domain: &str, inner: &[u8]) -> bool {
    !domain.is_empty()
        && domain.len() <= 255
        && domain.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || inner.contains(&c) || c >= 0x80)
                && !inner.contains(&b[0])
                && !inner.contains(&b[b.len() - 1])
        })
}

/// An address literal: `[IPv4]`, `[IPv6:...]` or a general `[tag:content]`.
pub fn is_address_literal(domain: &str) -> bool {
    let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) else {
        return false;
    };
    if let Some(v6) = inner
        .strip_prefix("IPv6:")
        .or_else(|| inner.strip_prefix("ipv6:"))
    {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if inner.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    match inner.split_once(':') {
        Some((tag, content)) => {
            is_domain(tag)
                && !content.is_empty()
                // RFC 5321 dcontent less `"` and `>`: inside `<...>` they would open
                // a quote or end the path, so the path we pass on would not read
                // back as the one we checked.
                && content.bytes().all(|b| {
                    ((33..=90).contains(&b) || (94..=126).contains(&b)) && b != b'"' && b != b'>'
                })
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(local: &str, domain: &str) -> Mailbox {
        Mailbox {
            local: local.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn null_reverse_path() {
        assert_eq!(parse_reverse_path("<>").unwrap(), (ReversePath::Null, ""));
        assert_eq!(
            parse_reverse_path("<> SIZE=10").unwrap(),
            (ReversePath::Null, " SIZE=10")
        );
    }

    #[test]
    fn plain_mailbox_and_rest() {
        let (path, rest) = parse_reverse_path("<a.b@example.com> BODY=8BITMIME").unwrap();
        assert_eq!(path, ReversePath::Mailbox(mailbox("a.b", "example.com")));
        assert_eq!(rest, " BODY=8BITMIME");
    }

    #[test]
    fn space_after_colon_and_no_brackets_are_tolerated() {
        let (path, _) = parse_forward_path(" <u@example.net>").unwrap();
        assert_eq!(path, ForwardPath::Mailbox(mailbox("u", "example.net")));
        let (path, rest) = parse_forward_path("u@example.net NOTIFY=NEVER").unwrap();
        assert_eq!(path, ForwardPath::Mailbox(mailbox("u", "example.net")));
        assert_eq!(rest, " NOTIFY=NEVER");
    }

    #[test]
    fn postmaster_without_domain() {
        let (path, _) = parse_forward_path("<PostMaster>").unwrap();
        assert_eq!(path, ForwardPath::Postmaster("PostMaster".into()));
        assert_eq!(path.to_string(), "<PostMaster>");
    }

    #[test]
    fn null_forward_path_is_refused() {
        assert_eq!(parse_forward_path("<>"), Err(AddressError::NullNotAllowed));
    }

    #[test]
    fn source_route_is_stripped() {
        let (path, _) =
            parse_forward_path("<@relay.example,@r2.example:user@example.net>").unwrap();
        assert_eq!(path, ForwardPath::Mailbox(mailbox("user", "example.net")));
        assert_eq!(
            parse_forward_path("<@bad domain:u@example.net>"),
            Err(AddressError::Malformed)
        );
    }

    #[test]
    fn quoted_local_part_keeps_quotes_and_unquotes_for_checks() {
        let (path, _) = parse_forward_path(r#"<"a@b\"c>d"@example.net>"#).unwrap();
        let ForwardPath::Mailbox(m) = path else {
            panic!("not a mailbox")
        };
        assert_eq!(m.local, r#""a@b\"c>d""#);
        assert_eq!(m.local_unquoted(), r#"a@b"c>d"#);
        assert_eq!(m.domain, "example.net");
    }

    #[test]
    fn address_literals() {
        let (path, _) = parse_forward_path("<u@[192.0.2.1]>").unwrap();
        assert!(matches!(path, ForwardPath::Mailbox(ref m) if m.is_address_literal()));
        assert!(parse_forward_path("<u@[IPv6:2001:db8::1]>").is_ok());
        assert_eq!(
            parse_forward_path("<u@[999.1.1.1]>"),
            Err(AddressError::Malformed)
        );
    }

    /// Found by fuzz/command_parser: an unbracketed path whose general address
    /// literal held `"` or `>` parsed, but not its bracketed form, which is what
    /// the relay sends on.
    #[test]
    fn general_literal_never_holds_path_delimiters() {
        for bad in ["u@[x:a>b]", "u@[x:\"]", "<u@[x:a>b]>"] {
            assert_eq!(
                parse_forward_path(bad),
                Err(AddressError::Malformed),
                "{bad}"
            );
        }
        let (path, _) = parse_forward_path("u@[x:a<b]").unwrap();
        assert_eq!(parse_forward_path(&path.to_string()).unwrap().0, path);
    }

    #[test]
    fn malformed_paths() {
        for bad in [
            "<u@>",
            "<@>",
            "<u>",
            "<u@example.net",
            "<a..b@example.net>",
            "<.a@example.net>",
            "<u@-bad.example>",
            "<u@exa mple.net>",
            "",
            "<u@example.net>junk",
            "<u@@example.net>",
        ] {
            assert!(parse_forward_path(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn too_long_path() {
        let long = format!("<{}@example.net>", "a".repeat(250));
        assert_eq!(parse_forward_path(&long), Err(AddressError::TooLong));
    }

    #[test]
    fn utf8_addresses_parse_and_report_non_ascii() {
        let (path, _) = parse_forward_path("<用户@例子.广告>").unwrap();
        assert!(!path.is_ascii());
    }
}

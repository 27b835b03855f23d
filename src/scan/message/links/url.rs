//! One URL normalised the way a browser would read it: scheme and host
//! lowercase, the host percent-decoded and in its IDNA ASCII form, numeric
//! hosts read as the IPv4 address they are, default ports dropped. The rest
//! (path, query, fragment) is kept as written. Normalising a normalised URL
//! changes nothing.

use std::borrow::Cow;
use std::net::Ipv6Addr;

use idna::AsciiDenyList;

use super::ip::{V4, ipv4};

/// A normalised http or https URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Url {
    pub url: String,
    /// Lowercase ASCII; an IP address in its canonical text (IPv6 without
    /// brackets).
    pub host: String,
    pub ip_literal: bool,
}

/// The longest URL kept, in octets; anything longer is cut there.
pub(super) const MAX_URL: usize = 2048;

/// The longest host name DNS can carry; a longer one is no host.
const MAX_HOST: usize = 253;

/// Normalises `raw`: `http://` or `https://` (any case, any number of
/// slashes or backslashes after the colon, as browsers take it), `www.`, or
/// `//` (protocol-relative, as in an href). Anything else, or a host a
/// browser would refuse, is None.
pub(super) fn normalise(raw: &str) -> Option<Url> {
    let raw = raw.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    // Browsers drop tabs and line ends anywhere in a URL.
    let raw: Cow<'_, str> = if raw.contains(['\t', '\r', '\n']) {
        Cow::Owned(raw.replace(['\t', '\r', '\n'], ""))
    } else {
        Cow::Borrowed(raw)
    };
    let (scheme, rest) = split_scheme(&raw)?;
    let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_port(host_port)?;
    let (host, ip_literal, bracketed) = normalise_host(host)?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let mut url = String::with_capacity(raw.len() + 8);
    url.push_str(scheme);
    url.push_str("://");
    if bracketed {
        url.push('[');
        url.push_str(&host);
        url.push(']');
    } else {
        url.push_str(&host);
    }
    if let Some(port) = port.filter(|&p| p != default_port) {
        url.push(':');
        url.push_str(&port.to_string());
    }
    if !tail.starts_with(['/', '\\']) {
        url.push('/');
    }
    url.push_str(tail);
    if url.len() > MAX_URL {
        let mut cut = MAX_URL;
        while !url.is_char_boundary(cut) {
            cut -= 1;
        }
        url.truncate(cut);
    }
    Some(Url {
        url,
        host,
        ip_literal,
    })
}

/// The scheme (`http` or `https`) and what follows its slashes.
fn split_scheme(raw: &str) -> Option<(&'static str, &str)> {
    let prefix = |p: &str| {
        raw.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    };
    let (scheme, rest) = if prefix("https:") {
        ("https", &raw[6..])
    } else if prefix("http:") {
        ("http", &raw[5..])
    } else if prefix("www.") {
        return Some(("http", raw));
    } else if let Some(rest) = raw.strip_prefix("//") {
        ("http", rest)
    } else {
        return None;
    };
    Some((scheme, rest.trim_start_matches(['/', '\\'])))
}

/// Splits `host:port`; a port must be digits (empty means none). The host
/// may be a bracketed IPv6 address.
fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    let colon = if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        match &host_port[close + 1..] {
            "" => return Some((host_port, None)),
            after if after.starts_with(':') => close + 1,
            _ => return None,
        }
    } else {
        match host_port.rfind(':') {
            Some(colon) => colon,
            None => return Some((host_port, None)),
        }
    };
    let (host, port) = (&host_port[..colon], &host_port[colon + 1..]);
    if port.is_empty() {
        return Some((host, None));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port = port.trim_start_matches('0');
    let port = if port.is_empty() {
        0
    } else {
        port.parse().ok()?
    };
    Some((host, Some(port)))
}

/// The host lowercase, percent-decoded, in IDNA ASCII form, with a final
/// dot dropped; an IP literal in canonical form. Returns (host, is an IP,
/// needs brackets).
fn normalise_host(host: &str) -> Option<(String, bool, bool)> {
    if let Some(inner) = host.strip_prefix('[') {
        let address: Ipv6Addr = inner.strip_suffix(']')?.parse().ok()?;
        return Some((address.to_string(), true, true));
    }
    let decoded = percent_decode(host);
    // WHATWG's host parsing: the forbidden code points (`%`, `/`, `@`, ...)
    // refuse the URL, so a decoded host cannot decode again.
    let ascii = idna::domain_to_ascii_cow(&decoded, AsciiDenyList::URL).ok()?;
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii);
    if ascii.is_empty()
        || ascii.len() > MAX_HOST
        || ascii.contains("..")
        || ascii.starts_with('.')
        || ascii.ends_with('.')
    {
        return None;
    }
    match ipv4(ascii) {
        V4::Name => Some((ascii.to_string(), false, false)),
        V4::Addr(address) => Some((address.to_string(), true, false)),
        V4::Invalid => None,
    }
}

/// `%XX` sequences decoded; a malformed one stays as it is.
fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    let bytes = s.as_bytes();
    if !bytes.contains(&b'%') {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits are below 256.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(raw: &str) -> Option<(String, String, bool)> {
        normalise(raw).map(|u| (u.url, u.host, u.ip_literal))
    }

    fn url(raw: &str) -> String {
        normalise(raw).expect(raw).url
    }

    #[test]
    fn scheme_host_and_port_are_normalised() {
        assert_eq!(
            url("HTTP://Example.COM/Path?Q=1"),
            "http://example.com/Path?Q=1"
        );
        assert_eq!(url("https://example.com:443/x"), "https://example.com/x");
        assert_eq!(url("http://example.com:80"), "http://example.com/");
        assert_eq!(url("http://example.com:8080/"), "http://example.com:8080/");
        assert_eq!(url("https://example.com:80/"), "https://example.com:80/");
        assert_eq!(url("www.example.com/a"), "http://www.example.com/a");
        assert_eq!(url("//cdn.example.com/x.js"), "http://cdn.example.com/x.js");
        assert_eq!(url("http:\\\\example.com\\x"), "http://example.com\\x");
        assert_eq!(url("http://example.com.?a"), "http://example.com/?a");
        assert_eq!(url("http://user:pw@example.com/"), "http://example.com/");
        assert_eq!(url("http://ex\tample.com/"), "http://example.com/");
        assert_eq!(url("http:///example.com"), "http://example.com/");
    }

    #[test]
    fn the_host_is_percent_decoded_and_idna_encoded() {
        assert_eq!(
            n("http://%65xample.com/%41"),
            Some(("http://example.com/%41".into(), "example.com".into(), false))
        );
        assert_eq!(
            n("http://bücher.example/"),
            Some((
                "http://xn--bcher-kva.example/".into(),
                "xn--bcher-kva.example".into(),
                false
            ))
        );
        assert_eq!(url("http://ＥＸＡＭＰＬＥ。com/"), "http://example.com/");
        assert_eq!(n("http://exa%2fmple.com/"), None);
        assert_eq!(n("http://exa%252fmple.com/"), None);
    }

    #[test]
    fn ip_hosts_in_any_notation() {
        for raw in [
            "http://3232235777/",
            "http://0xC0A80101/",
            "http://0300.0250.01.01/",
            "http://192.168.1.1:80/",
            "http://%31%39%32.168.1.1/",
        ] {
            assert_eq!(
                n(raw),
                Some(("http://192.168.1.1/".into(), "192.168.1.1".into(), true)),
                "{raw}"
            );
        }
        assert_eq!(
            n("http://[::FFFF:1.2.3.4]:8080/x"),
            Some((
                "http://[::ffff:1.2.3.4]:8080/x".into(),
                "::ffff:1.2.3.4".into(),
                true
            ))
        );
        assert_eq!(n("http://1.2.3.999/"), None);
    }

    #[test]
    fn what_is_not_a_web_url() {
        for raw in [
            "mailto:a@example.com",
            "javascript:alert(1)",
            "ftp://example.com/",
            "http://",
            "http://example.com:99999/",
            "http://example.com:8o/",
            "http://[::1/",
            "www../",
            "http://example.com../",
            "/relative/path",
        ] {
            assert_eq!(n(raw), None, "{raw}");
        }
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for raw in [
            "HTTPS://WWW.Example.COM:443/a/b?c=d#e",
            "http://3232235777",
            "www.bücher.example",
            "http://[::1]:80/",
        ] {
            let once = url(raw);
            assert_eq!(url(&once), once);
        }
    }
}

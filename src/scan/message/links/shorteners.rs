//! Well-known URL shorteners: a link through one hides where it leads from
//! the reader and from URIBL lookups of the link itself.

/// Registrable domains whose links are short links, kept sorted for the
/// binary search (a test checks it).
const SHORTENERS: &[&str] = &[
    "adf.ly",
    "bit.do",
    "bit.ly",
    "bitly.com",
    "bl.ink",
    "buff.ly",
    "clck.ru",
    "cutt.ly",
    "goo.gl",
    "is.gd",
    "lnkd.in",
    "ow.ly",
    "qrco.de",
    "rb.gy",
    "rebrand.ly",
    "s.id",
    "shorte.st",
    "shorturl.at",
    "soo.gd",
    "t.co",
    "t.ly",
    "tiny.cc",
    "tiny.one",
    "tinyurl.com",
    "u.to",
    "urlz.fr",
    "v.gd",
    "x.co",
];

/// Whether `domain` (a registrable domain, lowercase) is a shortener.
pub(super) fn is_shortener(domain: &str) -> bool {
    SHORTENERS.binary_search(&domain).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_lowercase() {
        assert!(SHORTENERS.windows(2).all(|w| w[0] < w[1]));
        assert!(SHORTENERS.iter().all(|d| *d == d.to_ascii_lowercase()));
    }

    #[test]
    fn shorteners_and_near_misses() {
        assert!(is_shortener("bit.ly"));
        assert!(is_shortener("t.co"));
        assert!(!is_shortener("bit.ly.example"));
        assert!(!is_shortener("example.com"));
    }
}

//! URLs written in plain text: `http://`, `https://` or `www.` (any case),
//! up to the first character that cannot be in a URL written in prose, less
//! trailing punctuation.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};

use super::url::MAX_URL;

/// The starts of a URL in text, found in one pass.
static STARTS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(["https://", "http://", "www."])
        .expect("three literal patterns always build")
});

/// Calls `each` with every URL in `text`, in order, until it returns false.
pub(super) fn urls(text: &str, mut each: impl FnMut(&str) -> bool) {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(m) = STARTS.find(&bytes[from..]) {
        let start = from + m.start();
        let after_prefix = from + m.end();
        // `www.` inside a word (`awww.`) or a host (`x.www.`) starts nothing.
        if m.pattern().as_usize() == 2
            && text[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '/' | '@'))
        {
            from = after_prefix;
            continue;
        }
        let end = start + url_len(&text[start..]);
        from = end.max(after_prefix);
        if end > after_prefix && !each(&text[start..end]) {
            return;
        }
    }
}

/// The length of the URL at the start of `s`, at most [`MAX_URL`] octets,
/// trailing punctuation excluded (a `)` only when unbalanced, as in
/// "(see http://x/y)").
fn url_len(s: &str) -> usize {
    let mut end = 0;
    let (mut open, mut close) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        if !in_url(c) || i + c.len_utf8() > MAX_URL {
            break;
        }
        open += usize::from(c == '(');
        close += usize::from(c == ')');
        end = i + c.len_utf8();
    }
    let mut url = &s[..end];
    while let Some(last) = url.chars().next_back() {
        let strip = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' | ']' | '}' => true,
            ')' if close > open => {
                close -= 1;
                true
            }
            _ => false,
        };
        if !strip {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    url.len()
}

/// Characters a URL in prose may hold: printable ASCII but the delimiters
/// prose puts around URLs, and letters and digits of any script (IRIs).
fn in_url(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '`' | '{' | '}' | '|' | '\\' | '^')
    } else {
        c.is_alphanumeric()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        urls(text, |u| {
            found.push(u.to_string());
            true
        });
        found
    }

    #[test]
    fn urls_in_prose() {
        assert_eq!(
            all("Visit http://example.com/a?b=c. Or (see HTTPS://x.org/p_(q)), www.shop.example!"),
            [
                "http://example.com/a?b=c",
                "HTTPS://x.org/p_(q)",
                "www.shop.example"
            ]
        );
        assert_eq!(all("<http://a.example/x>"), ["http://a.example/x"]);
        assert_eq!(all("\"http://a.example/\""), ["http://a.example/"]);
        assert_eq!(
            all("http://пример.рф/путь дальше"),
            ["http://пример.рф/путь"]
        );
    }

    #[test]
    fn what_is_no_url() {
        assert!(all("awww.example and http:// alone, sawww.x").is_empty());
        assert!(all("email me at bob@www.example.com").is_empty());
    }

    #[test]
    fn each_can_stop_the_search() {
        let mut n = 0;
        urls("http://a.example http://b.example", |_| {
            n += 1;
            false
        });
        assert_eq!(n, 1);
    }
}

//! The links of an HTML part: a tolerant tag scanner, one pass, no DOM.
//! Rules need where each link goes and what its text shows, not a tree, and
//! a DOM crate would hold the whole document and be one more parser facing
//! hostile input. The part's text for rules comes from mail-parser's
//! `html_to_text`.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memmem};

use super::links::LinkSource;

/// The most characters of an `<a>`'s text kept.
const ANCHOR_CHARS: usize = 256;

/// Calls `each` with every http(s)-looking link of `html`: the URL as
/// written (entities decoded), where it came from, and for `<a>` its text;
/// until `each` returns false.
pub(super) fn links(html: &str, mut each: impl FnMut(&str, LinkSource, Option<String>) -> bool) {
    let b = html.as_bytes();
    let mut i = 0;
    // An open <a>: its href and the text seen so far.
    let mut anchor: Option<(String, String)> = None;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let lt = i + off;
        if let Some((_, text)) = &mut anchor {
            push_text(text, &html[i..lt]);
        }
        if b[lt..].starts_with(b"<!--") {
            i = memmem::find(&b[lt + 4..], b"-->").map_or(b.len(), |e| lt + 4 + e + 3);
            continue;
        }
        let Some(tag) = Tag::parse(html, lt) else {
            i = lt + 1;
            if let Some((_, text)) = &mut anchor {
                push_text(text, "<");
            }
            continue;
        };
        i = tag.end;
        let name = tag.name;
        if name.eq_ignore_ascii_case("a")
            && (tag.closing || tag.href.is_some())
            && let Some((href, text)) = anchor.take()
            && !each(&href, LinkSource::Href, Some(trimmed(text)))
        {
            return;
        }
        if tag.closing {
            continue;
        }
        if name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style") {
            i = skip_raw_text(b, i, name);
            continue;
        }
        if name.eq_ignore_ascii_case("a") {
            if let Some(href) = tag.href {
                anchor = Some((href.into_owned(), String::new()));
            }
        } else if let Some(href) = &tag.href
            && !each(href, LinkSource::Href, None)
        {
            return;
        }
        if let Some(src) = &tag.src
            && !each(src, LinkSource::Src, None)
        {
            return;
        }
    }
    if let Some((href, mut text)) = anchor {
        push_text(&mut text, &html[i..]);
        each(&href, LinkSource::Href, Some(trimmed(text)));
    }
}

fn trimmed(mut text: String) -> String {
    text.truncate(text.trim_end().len());
    text
}

/// One start or end tag.
struct Tag<'h> {
    name: &'h str,
    closing: bool,
    /// `href`, or a form's `action`.
    href: Option<Cow<'h, str>>,
    /// `src`, or `background`.
    src: Option<Cow<'h, str>>,
    /// Just past the `>` (or the end of the document).
    end: usize,
}

impl<'h> Tag<'h> {
    /// Reads the tag at `lt` (a `<`); None when no tag name follows, as in
    /// "a < b", or for `<!...>` and `<?...>`, which carry no links.
    fn parse(html: &'h str, lt: usize) -> Option<Tag<'h>> {
        let b = html.as_bytes();
        let mut p = lt + 1;
        let closing = b.get(p) == Some(&b'/');
        p += usize::from(closing);
        let name_start = p;
        while p < b.len() && (b[p].is_ascii_alphanumeric() || b[p] == b'-') {
            p += 1;
        }
        if p == name_start || !b[name_start].is_ascii_alphabetic() {
            if matches!(b.get(lt + 1), Some(b'!' | b'?')) {
                let end = memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1);
                return Some(Tag {
                    name: "",
                    closing: true,
                    href: None,
                    src: None,
                    end,
                });
            }
            return None;
        }
        let mut tag = Tag {
            name: &html[name_start..p],
            closing,
            href: None,
            src: None,
            end: b.len(),
        };
        loop {
            while p < b.len() && (b[p].is_ascii_whitespace() || b[p] == b'/') {
                p += 1;
            }
            if p >= b.len() {
                return Some(tag);
            }
            if b[p] == b'>' {
                tag.end = p + 1;
                return Some(tag);
            }
            let attr_start = p;
            while p < b.len() && !b[p].is_ascii_whitespace() && !matches!(b[p], b'=' | b'>' | b'/')
            {
                p += 1;
            }
            let attr = &html[attr_start..p];
            while p < b.len() && b[p].is_ascii_whitespace() {
                p += 1;
            }
            if b.get(p) != Some(&b'=') {
                continue;
            }
            p += 1;
            while p < b.len() && b[p].is_ascii_whitespace() {
                p += 1;
            }
            let (value, next) = match b.get(p) {
                Some(&q @ (b'"' | b'\'')) => {
                    let close = memchr(q, &b[p + 1..]).map_or(b.len(), |e| p + 1 + e);
                    (&html[p + 1..close], (close + 1).min(b.len()))
                }
                _ => {
                    let start = p;
                    while p < b.len() && !b[p].is_ascii_whitespace() && b[p] != b'>' {
                        p += 1;
                    }
                    (&html[start..p], p)
                }
            };
            p = next;
            let slot = if attr.eq_ignore_ascii_case("href") || attr.eq_ignore_ascii_case("action") {
                &mut tag.href
            } else if attr.eq_ignore_ascii_case("src") || attr.eq_ignore_ascii_case("background") {
                &mut tag.src
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(decode_entities(value));
            }
        }
    }
}

/// Past the end of a `<script>` or `<style>` element whose content starts
/// at `from`: its `</name` end tag, or the end of the document.
fn skip_raw_text(b: &[u8], from: usize, name: &str) -> usize {
    let mut i = from;
    while let Some(off) = memmem::find(&b[i..], b"</") {
        let at = i + off + 2;
        let candidate = b.get(at..at + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
            return memchr(b'>', &b[at..]).map_or(b.len(), |e| at + e + 1);
        }
        i = at;
    }
    b.len()
}

/// Appends text to an anchor's: entities decoded, blanks collapsed to one
/// space, within [`ANCHOR_CHARS`].
fn push_text(text: &mut String, raw: &str) {
    if text.chars().count() >= ANCHOR_CHARS {
        return;
    }
    let decoded = decode_entities(raw);
    let mut count = text.chars().count();
    for c in decoded.chars() {
        if count >= ANCHOR_CHARS {
            break;
        }
        if c.is_whitespace() {
            if text.is_empty() || text.ends_with(' ') {
                continue;
            }
            text.push(' ');
        } else {
            text.push(c);
        }
        count += 1;
    }
}

/// The character references links and link text use: `&amp;` and the
/// other markup escapes, `&nbsp;`, and numeric `&#NN;` / `&#xHH;`. Others
/// stay as written.
fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = memchr2(b';', b'&', &rest.as_bytes()[1..rest.len().min(12)]).map(|i| i + 1);
        let decoded = semi
            .filter(|&i| rest.as_bytes()[i] == b';')
            .and_then(|i| Some((entity(&rest[1..i])?, i + 1)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(html: &str) -> Vec<(String, LinkSource, Option<String>)> {
        let mut found = Vec::new();
        links(html, |url, source, text| {
            found.push((url.to_string(), source, text));
            true
        });
        found
    }

    #[test]
    fn anchors_images_and_forms() {
        let html = r#"<html><body>
            <A HREF="http://a.example/?x=1&amp;y=2">Click <b>here</b>&nbsp;now</a>
            <img src='http://img.example/p.gif' alt="x > y">
            <form action=http://post.example/steal><input></form>
            <a href="http://b.example/">unclosed
            </body></html>"#;
        assert_eq!(
            all(html),
            [
                (
                    "http://a.example/?x=1&y=2".into(),
                    LinkSource::Href,
                    Some("Click here now".into())
                ),
                ("http://img.example/p.gif".into(), LinkSource::Src, None),
                ("http://post.example/steal".into(), LinkSource::Href, None),
                (
                    "http://b.example/".into(),
                    LinkSource::Href,
                    Some("unclosed".into())
                ),
            ]
        );
    }

    #[test]
    fn comments_scripts_and_stray_brackets_hide_no_tags() {
        let html = "<!-- <a href='http://c.example/'>x</a> -->\
            <script>var s = '<a href=\"http://s.example/\">';</script>\
            <STYLE>a{}</style>a < b <!DOCTYPE html>\
            <a href=http://ok.example/>1 &lt; 2</a>";
        assert_eq!(
            all(html),
            [(
                "http://ok.example/".into(),
                LinkSource::Href,
                Some("1 < 2".into())
            )]
        );
    }

    #[test]
    fn truncated_markup_ends_quietly() {
        for html in [
            "<a href=\"http://x.example/",
            "<a",
            "<",
            "<a href=",
            "&#",
            "<script>",
        ] {
            let _ = all(html);
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a&amp;b&#47;&#x2F;&bogus;&"),
            "a&b//&bogus;&"
        );
        assert_eq!(decode_entities("&#xD800;"), "&#xD800;");
    }
}

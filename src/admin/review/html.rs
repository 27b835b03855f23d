//! The pages' shared frame and the escaping every string from a message
//! goes through.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::quarantine::Entry;

/// Forbids every fetch, script and frame: the page is text and forms.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub(super) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width\">\
         <meta name=referrer content=no-referrer><title>{title} · ringwall</title>\
         <style>{STYLE}</style></head><body><header><b>ringwall</b> quarantine</header>\
         <main>{body}</main></body></html>",
        title = esc(title),
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}\
header{background:#234;color:#fff;padding:.6em 1em}main{padding:1em}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;\
text-align:left;vertical-align:top}th{background:#f4f4f4}pre{background:#f8f8f8;padding:.6em;\
white-space:pre-wrap;word-break:break-all;max-height:40em;overflow:auto}\
.score{text-align:right}.note{background:#efe;padding:.5em}.error{background:#fee;padding:.5em}\
form.inline{display:inline}button{padding:.3em 1em;margin-right:.5em}";

/// Escapes text for HTML (element content and quoted attributes): every
/// string from a message is the sender's, so hostile.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // CRLF shows as a line end; other controls as visible marks.
            '\r' => {}
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn date(seconds: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

pub(super) fn recipients_of(entry: &Entry) -> String {
    entry
        .record
        .recipients
        .iter()
        .map(|r| {
            let lower = r.address.to_ascii_lowercase();
            if entry.released_to.contains(&lower) {
                format!("{} (released)", r.address)
            } else {
                r.address.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup_from_the_message() {
        assert_eq!(
            esc("<script>alert('x')</script>\"&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
        assert_eq!(esc("line\r\nnext"), "line\nnext");
    }
}

//! The pages' shared frame and the escaping every string from a message
//! goes through.

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

pub(super) use crate::html::escape as esc;
use crate::quarantine::Entry;

/// Forbids every fetch, script and frame: the page is text and forms.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// A whole page around `body`, with the headers that keep it inert.
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

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}\
header{background:#234;color:#fff;padding:.6em 1em}main{padding:1em}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;\
text-align:left;vertical-align:top}th{background:#f4f4f4}pre{background:#f8f8f8;padding:.6em;\
white-space:pre-wrap;word-break:break-all;max-height:40em;overflow:auto}\
.score{text-align:right}.note{background:#efe;padding:.5em}.error{background:#fee;padding:.5em}\
form.inline{display:inline}button{padding:.3em 1em;margin-right:.5em}";

/// A kept time as the pages show it (UTC, to the second).
pub(super) fn date(seconds: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(time)
        .to_string()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

/// An entry's recipients, those already served marked released.
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

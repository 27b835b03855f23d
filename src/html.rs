//! Escaping for the HTML pages ringwall serves (the quarantine's review
//! page, the report): every string shown there may come from a message or
//! a client (a subject, a HELO, a sender domain), so all of them pass here.

/// `text` safe in HTML element content and quoted attribute values (and
/// SVG text): markup characters as entities; CR dropped, so CRLF shows as a
/// line end; other control characters (NUL is not even allowed as a
/// character reference) as U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => {}
            c if c.is_control() && c != '\n' && c != '\t' => out.push(char::REPLACEMENT_CHARACTER),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup_and_no_controls() {
        assert_eq!(
            escape("<script>alert('x')</script>\"&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}"), "a\u{fffd}b\u{fffd}");
        assert_eq!(escape("line\r\nnext\tend"), "line\nnext\tend");
    }
}

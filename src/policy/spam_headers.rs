//! The header fields a verdict adds (`X-Spam-Flag`, `X-Spam-Score`,
//! `X-Spam-Status`, SpamAssassin's names, which every mailbox filter knows),
//! and the defence that makes them trustworthy: the same fields arriving
//! with the message are renamed `X-Spam-Foreign-*`, so a spammer's
//! `X-Spam-Flag: NO` never reaches a mailbox rule.

use memchr::memmem;

use super::verdict::{Action, Judgement, format_score};

/// The fields ringwall writes (compared without case).
const OURS: [&str; 3] = ["X-Spam-Flag", "X-Spam-Score", "X-Spam-Status"];

/// Longest line this module writes before folding (RFC 5322 §2.1.1's
/// recommendation).
const FOLD_AT: usize = 78;

/// The fields for `judgement`, CRLF-terminated, folded at 78 columns.
/// `X-Spam-Flag: YES` only when the verdict flags the message.
pub fn render(judgement: &Judgement) -> Vec<u8> {
    let flagged = judgement.action != Action::Accept;
    let score = format_score(judgement.score);
    let mut out = String::new();
    if flagged {
        out.push_str("X-Spam-Flag: YES\r\n");
    }
    out.push_str(&format!("X-Spam-Score: {score}\r\n"));
    let mut line = format!(
        "X-Spam-Status: {}, score={score} required={} action={}",
        if flagged { "Yes" } else { "No" },
        format_score(judgement.required),
        judgement.action,
    );
    let explanation = judgement.explanation();
    let tests: Vec<&str> = if explanation.is_empty() {
        vec!["none"]
    } else {
        explanation.split(',').collect()
    };
    // Each test keeps its comma, the first one `tests=` and the space before
    // it; a piece that would pass the limit goes on a folded line of its own
    // (folding turns the white space before it into CRLF TAB).
    for (i, test) in tests.iter().enumerate() {
        let comma = if i + 1 < tests.len() { "," } else { "" };
        let piece = if i == 0 {
            format!(" tests={test}{comma}")
        } else {
            format!("{test}{comma}")
        };
        if line.len() + piece.len() > FOLD_AT {
            out.push_str(&line);
            out.push_str("\r\n");
            line = format!("\t{}", piece.trim_start());
        } else {
            line.push_str(&piece);
        }
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out.into_bytes()
}

/// The message with every incoming field of the names ringwall writes
/// renamed `X-Spam-Foreign-*` (continuation lines untouched), or `None`
/// when it has none (the common case: no copy). `message` is CRLF text; the
/// header section ends at its first empty line.
pub fn neutralise_foreign(message: &[u8]) -> Option<Vec<u8>> {
    let header_end = header_section_end(message);
    let header = &message[..header_end];
    let mut renames = Vec::new();
    let mut start = 0;
    while start < header.len() {
        let end = memchr::memchr(b'\n', &header[start..]).map_or(header.len(), |i| start + i + 1);
        let line = &header[start..end];
        if is_ours(line) {
            renames.push(start);
        }
        start = end;
    }
    if renames.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(message.len() + renames.len() * 8);
    let mut copied = 0;
    for at in renames {
        // "X-Spam-" stays; "Foreign-" goes after it.
        let split = at + "X-Spam-".len();
        out.extend_from_slice(&message[copied..split]);
        out.extend_from_slice(b"Foreign-");
        copied = split;
    }
    out.extend_from_slice(&message[copied..]);
    Some(out)
}

/// The message with `prefix` and a space put in front of its Subject's text
/// (`None` when there is no Subject field or it already starts so).
pub fn prefix_subject(message: &[u8], prefix: &str) -> Option<Vec<u8>> {
    let header = &message[..header_section_end(message)];
    let mut start = 0;
    while start < header.len() {
        let end = memchr::memchr(b'\n', &header[start..]).map_or(header.len(), |i| start + i + 1);
        let line = &header[start..end];
        if field_name(line).is_some_and(|name| name.eq_ignore_ascii_case(b"Subject")) {
            let colon = start + memchr::memchr(b':', line)? + 1;
            let text_at = colon
                + message[colon..end]
                    .iter()
                    .take_while(|b| **b == b' ' || **b == b'\t')
                    .count();
            if message[text_at..].starts_with(prefix.as_bytes()) {
                return None;
            }
            let mut out = Vec::with_capacity(message.len() + prefix.len() + 2);
            out.extend_from_slice(&message[..colon]);
            out.push(b' ');
            out.extend_from_slice(prefix.as_bytes());
            out.push(b' ');
            out.extend_from_slice(&message[text_at..]);
            return Some(out);
        }
        start = end;
    }
    None
}

/// Where the header section ends: after the CRLF of its last field (the
/// empty line is not part of it), or the whole message when it has no body.
fn header_section_end(message: &[u8]) -> usize {
    if message.starts_with(b"\r\n") {
        return 0;
    }
    memmem::find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2)
}

/// The field name a line starts (`None` for a continuation line or junk).
fn field_name(line: &[u8]) -> Option<&[u8]> {
    if line.first().is_none_or(|b| *b == b' ' || *b == b'\t') {
        return None;
    }
    let colon = memchr::memchr(b':', line)?;
    // Obsolete syntax allows white space before the colon.
    let name = line[..colon].trim_ascii_end();
    (!name.is_empty()).then_some(name)
}

fn is_ours(line: &[u8]) -> bool {
    field_name(line).is_some_and(|name| {
        OURS.iter()
            .any(|ours| name.eq_ignore_ascii_case(ours.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::verdict::{RuleClass, RuleHit};

    fn judgement(action: Action, score: f64, rules: &[(&str, f64)]) -> Judgement {
        Judgement {
            score,
            action,
            hits: rules
                .iter()
                .map(|(rule, score)| RuleHit {
                    rule: rule.to_string(),
                    score: *score,
                    class: RuleClass::Keyword,
                    evidence: String::new(),
                })
                .collect(),
            forced_by: None,
            required: 5.0,
        }
    }

    #[test]
    fn a_clean_message_gets_status_no() {
        let text = render(&judgement(Action::Accept, 0.0, &[]));
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "X-Spam-Score: 0.0\r\nX-Spam-Status: No, score=0.0 required=5.0 action=accept tests=none\r\n"
        );
    }

    #[test]
    fn a_tagged_message_is_flagged_and_long_test_lists_fold() {
        let rules: Vec<(String, f64)> = (0..12)
            .map(|i| (format!("SOME_LONG_RULE_{i}"), 1.0))
            .collect();
        let rules: Vec<(&str, f64)> = rules.iter().map(|(r, s)| (r.as_str(), *s)).collect();
        let text = String::from_utf8(render(&judgement(Action::Tag, 12.0, &rules))).unwrap();
        assert!(
            text.starts_with(
                "X-Spam-Flag: YES\r\nX-Spam-Score: 12.0\r\n\
                 X-Spam-Status: Yes, score=12.0 required=5.0 action=tag\r\n\
                 \ttests=SOME_LONG_RULE_0=1.0,SOME_LONG_RULE_1=1.0,"
            ),
            "{text}"
        );
        for line in text.split("\r\n") {
            assert!(line.len() <= FOLD_AT, "{line:?}");
        }
        let unfolded = text.replace("\r\n\t", "");
        assert!(
            unfolded.contains("SOME_LONG_RULE_10=1.0,SOME_LONG_RULE_11=1.0\r\n"),
            "{unfolded}"
        );
        assert_eq!(
            text.matches("\r\n").count() - text.matches("\r\n\t").count(),
            3
        );
    }

    #[test]
    fn foreign_fields_are_renamed_and_the_rest_is_untouched() {
        let message = b"Received: x\r\nX-Spam-Flag: NO\r\nx-spam-status : No,\r\n\ttests=none\r\nX-Spam-Level: **\r\nSubject: hi\r\n\r\nX-Spam-Flag: body text\r\n";
        let out = neutralise_foreign(message).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Received: x\r\nX-Spam-Foreign-Flag: NO\r\nx-spam-Foreign-status : No,\r\n\ttests=none\r\nX-Spam-Level: **\r\nSubject: hi\r\n\r\nX-Spam-Flag: body text\r\n"
        );
        assert_eq!(
            neutralise_foreign(b"Subject: hi\r\n\r\nX-Spam-Flag: YES\r\n"),
            None
        );
    }

    #[test]
    fn the_subject_prefix_goes_in_once() {
        let message = b"From: a@b\r\nSubject:  Hello\r\n\r\nbody\r\n";
        let out = prefix_subject(message, "[SPAM]").unwrap();
        assert_eq!(out, b"From: a@b\r\nSubject: [SPAM] Hello\r\n\r\nbody\r\n");
        assert_eq!(prefix_subject(&out, "[SPAM]"), None);
        assert_eq!(
            prefix_subject(b"From: a@b\r\n\r\nSubject: x\r\n", "[SPAM]"),
            None
        );
    }
}

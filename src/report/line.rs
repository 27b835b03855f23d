//! One log line of the daemon, in either `[log] format`, split into its
//! time, target, message and fields.
//!
//! `text` is tracing's fmt layout: `TIME  LEVEL target: message key=value
//! ...`, where a value written with `?` is a Rust string literal (`"..."`)
//! and one written with `%` is bare and may hold spaces (a refusal's reply,
//! a triage verdict's `RBL_A=3, RBL_B=1`). Field names are lower case and
//! rule names upper case, so a bare word that is not `lower_name=` goes on
//! the value before it. `json` is one flattened object a line; a `?` value
//! is a string holding the literal, so both layouts decode values alike.
//! A prefix before the timestamp (a syslog header) is passed over.

use std::time::SystemTime;

use serde_json::Value;

/// A daemon log line, split; its values decoded.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Record {
    /// When the daemon wrote it.
    pub(super) time: SystemTime,
    /// The emitting module, `ringwall::transaction`.
    pub(super) target: String,
    /// The event's message, empty for the transaction line.
    pub(super) message: String,
    /// Fields in line order.
    pub(super) fields: Vec<(String, String)>,
}

impl Record {
    /// The first field named `name`: the daemon's own, before any value an
    /// attacker could shape into a lookalike.
    pub(super) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// How many leading words may precede the timestamp (a syslog header:
/// `Nov 27 10:11:33 host ringwall[42]:`).
const PREFIX_WORDS: usize = 8;

const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// The line split, or `None` when it is no log line of the daemon's.
pub(super) fn parse(line: &str) -> Option<Record> {
    let line = line.trim();
    match line.find('{') {
        Some(start) if line.ends_with('}') => json(&line[start..]),
        _ => text(line),
    }
}

fn json(object: &str) -> Option<Record> {
    let Value::Object(map) = serde_json::from_str::<Value>(object).ok()? else {
        return None;
    };
    let string = |key: &str| map.get(key).and_then(Value::as_str);
    let time = humantime::parse_rfc3339_weak(string("timestamp")?).ok()?;
    LEVELS.contains(&string("level")?).then_some(())?;
    let target = string("target")?.to_string();
    let message = string("message").map(decode).unwrap_or_default();
    let fields = map
        .iter()
        .filter(|(key, _)| !["timestamp", "level", "target", "message"].contains(&key.as_str()))
        .map(|(key, value)| {
            let value = match value {
                Value::String(text) => decode(text),
                other => other.to_string(),
            };
            (key.clone(), value)
        })
        .collect();
    Some(Record {
        time,
        target,
        message,
        fields,
    })
}

fn text(line: &str) -> Option<Record> {
    let words = words(line);
    let at = words
        .iter()
        .take(PREFIX_WORDS)
        .position(|word| humantime::parse_rfc3339_weak(word).is_ok())?;
    let time = humantime::parse_rfc3339_weak(words[at]).ok()?;
    LEVELS.contains(words.get(at + 1)?).then_some(())?;
    let rest = &words[at + 2..];
    // Spans, if any, come before the target and end in `}:`.
    let target_at = rest
        .iter()
        .position(|word| word.strip_suffix(':').is_some_and(is_target))?;
    let target = rest[target_at].trim_end_matches(':').to_string();
    let mut message: Vec<&str> = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    for word in &rest[target_at + 1..] {
        match field_start(word) {
            Some((key, value)) => fields.push((key.to_string(), value.to_string())),
            None => match fields.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(word);
                }
                None => message.push(word),
            },
        }
    }
    Some(Record {
        time,
        target,
        message: message.join(" "),
        fields: fields
            .into_iter()
            .map(|(key, value)| (key, decode(&value)))
            .collect(),
    })
}

/// `ringwall::server::connection`: lower-case path segments.
fn is_target(word: &str) -> bool {
    !word.is_empty()
        && word.split("::").all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// `key` and the value's text when `word` starts a field (`key=...`).
fn field_start(word: &str) -> Option<(&str, &str)> {
    let (key, value) = word.split_once('=')?;
    let named = key.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.".contains(c));
    named.then_some((key, value))
}

/// Whitespace-separated words; a string literal (`"a b"`, with `\"`
/// escapes) stays inside its word.
fn words(line: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        if c.is_whitespace() {
            if let Some(begin) = start.take() {
                words.push(&line[begin..index]);
            }
            continue;
        }
        start.get_or_insert(index);
        quoted = c == '"';
    }
    if let Some(begin) = start {
        words.push(&line[begin..]);
    }
    words
}

/// A value as the daemon meant it: a whole Rust string literal unescaped,
/// anything else as written.
fn decode(value: &str) -> String {
    literal(value).unwrap_or_else(|| value.to_string())
}

/// The text of `value` when it is exactly one Rust string literal (as `{:?}`
/// writes a string).
fn literal(value: &str) -> Option<String> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                '0' => '\0',
                '\\' => '\\',
                '"' => '"',
                '\'' => '\'',
                'u' => {
                    let rest = chars.as_str().strip_prefix('{')?;
                    let (hex, after) = rest.split_once('}')?;
                    let decoded = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                    chars = after.chars();
                    decoded
                }
                _ => return None,
            }),
            _ => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn fields(record: &Record) -> Vec<(&str, &str)> {
        (record.fields.iter())
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn text_transaction_line() {
        let record = parse(TEXT_GTUBE).unwrap();
        assert_eq!(
            record.time,
            humantime::parse_rfc3339("2026-11-27T10:19:00.300812Z").unwrap()
        );
        assert_eq!(record.target, "ringwall::transaction");
        assert_eq!(record.message, "");
        assert_eq!(
            fields(&record),
            [
                ("queue_id", "6B09590A00000002"),
                ("client", "127.0.0.55"),
                ("helo", "vm"),
                ("tls", "none"),
                ("from", "<b@Spam.Example>"),
                ("to", "<u@example.net>,<v@example.net>"),
                ("size", "315"),
                ("verdict", "relayed"),
                ("reply", "250 2.0.0 Ok: queued as 6B09590A00000002"),
                ("upstream_reply", "250 2.0.0 Ok: queued"),
                ("upstream_id", ""),
                ("duration_ms", "1"),
                ("score", "1001.0"),
                ("action", "tag"),
                ("rules", "GTUBE=1000.0,HELO_NOT_FQDN=1.0"),
            ]
        );
    }

    #[test]
    fn json_line_reads_as_its_text_twin() {
        let json = parse(JSON_GTUBE).unwrap();
        let text = parse(TEXT_GTUBE).unwrap();
        assert_eq!(json.target, text.target);
        for key in ["client", "from", "to", "verdict", "action", "rules", "size"] {
            assert_eq!(json.field(key), text.field(key), "{key}");
        }
        assert_eq!(
            json.field("reply"),
            Some("250 2.0.0 Ok: queued as 6B09591100000002")
        );
    }

    #[test]
    fn bare_values_with_spaces_and_a_message() {
        let record = parse(TEXT_REFUSED).unwrap();
        assert_eq!(record.target, "ringwall::server::connection");
        assert_eq!(record.message, "recipient refused by client triage");
        assert_eq!(record.field("helo"), Some("Some(\"vm\")"));
        assert_eq!(record.field("rules"), Some("RBL_ZEN_SBL=3.0"));
        assert_eq!(
            record.field("reply"),
            Some("550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN")
        );
        let json = parse(JSON_REFUSED).unwrap();
        assert_eq!(json.message, record.message);
        assert_eq!(json.field("rules"), record.field("rules"));
        // A triage verdict with several lists: `, ` inside the value.
        let several = parse(
            "2026-11-27T10:19:00.384631Z  INFO ringwall::server::connection: recipient refused \
             by client triage client=192.0.2.1 rules=RBL_ZEN_SBL=3, RBL_SPAMCOP_NET=2 reply=550 x",
        )
        .unwrap();
        assert_eq!(
            several.field("rules"),
            Some("RBL_ZEN_SBL=3, RBL_SPAMCOP_NET=2")
        );
    }

    #[test]
    fn quoted_local_parts_and_escapes_stay_in_their_field() {
        let record = parse(
            "2026-11-27T10:19:00.3Z  INFO ringwall::transaction: client=192.0.2.1 \
             from=<\"x verdict=rejected\"@a.example> reply=\"say \\\"hi\\\"\\n\\u{1b}\" verdict=relayed",
        )
        .unwrap();
        assert_eq!(
            record.field("from"),
            Some("<\"x verdict=rejected\"@a.example>")
        );
        assert_eq!(record.field("reply"), Some("say \"hi\"\n\u{1b}"));
        assert_eq!(record.field("verdict"), Some("relayed"));
    }

    #[test]
    fn a_syslog_prefix_is_passed_over() {
        let line = format!("Nov 27 10:19:00 mx1 ringwall[812]: {TEXT_CLEAN}");
        assert_eq!(parse(&line), parse(TEXT_CLEAN));
        let line = format!("Nov 27 10:19:00 mx1 ringwall[812]: {JSON_CLEAN}");
        assert_eq!(parse(&line), parse(JSON_CLEAN));
    }

    #[test]
    fn other_lines_are_none() {
        for line in [
            "",
            "hello world",
            "2026-11-27T10:19:00Z",
            "2026-11-27T10:19:00Z LOUD ringwall::x: y=1",
            "{\"timestamp\":\"yesterday\",\"level\":\"INFO\",\"target\":\"t\"}",
            "{\"level\":\"INFO\",\"target\":\"t\"}",
            "[1, 2]",
            "{not json}",
            &TEXT_CLEAN[..30],
            &JSON_CLEAN[..JSON_CLEAN.len() - 1],
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}

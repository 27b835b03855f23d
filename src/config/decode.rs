//! Turns the TOML reader's errors (bad syntax, unknown keys, wrong types) into
//! located [`ConfigError`]s worded for operators.

use super::error::{ConfigError, Shown};
use super::locate::{self, Locator};

/// A syntax error: the file is not TOML, so only the position is known.
pub(super) fn syntax_error(
    origin: &str,
    source: &str,
    error: &toml_edit::TomlError,
) -> ConfigError {
    let position = error
        .span()
        .map(|span| locate::position(source, span.start));
    let line = position
        .and_then(|at| source.lines().nth(at.line - 1))
        .map(str::trim)
        .unwrap_or_default();
    let fix = if error.message().contains("duplicate key") {
        "keep one of the two; a key appears once per table"
    } else if error.message().contains("must be quoted") {
        "put text values in double quotes (hostname = \"mx1.example.net\"); numbers, true/false and [lists] go bare"
    } else {
        "correct the TOML syntax at this position (reference: https://toml.io/en/v1.0.0)"
    };
    ConfigError {
        origin: origin.to_string(),
        position,
        key: None,
        value: None,
        problem: format!("invalid TOML: {}, in `{line}`", error.message()),
        fix: Some(fix.to_string()),
    }
}

/// A schema error: valid TOML, but a key or value the schema does not take.
/// `example` gives the default file's line for a key (`shards = 0`), offered as the fix.
pub(super) fn schema_error(
    origin: &str,
    source: &str,
    locator: &Locator<'_>,
    error: &toml::de::Error,
    example: impl Fn(&str) -> Option<String>,
) -> ConfigError {
    let span = error.span();
    let position = span
        .clone()
        .map(|span| locate::position(source, span.start));
    let key = span.as_ref().and_then(|span| locator.key_at(span.start));
    let message = error.message();
    let (problem, value, fix) = match message.strip_prefix("unknown field ") {
        Some(rest) => {
            let (name, valid) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let valid = valid.strip_prefix("one of ").unwrap_or(valid);
            let place = match key.as_deref().and_then(|key| key.rsplit_once('.')) {
                Some((table, _)) => format!("[{table}] takes"),
                None => "the top level takes the tables".to_string(),
            };
            (
                format!("unknown key {name}; {place} {valid}"),
                None,
                "correct the spelling to one of those, or remove the key".to_string(),
            )
        }
        None => {
            let written = span.and_then(|span| locator.text(span)).map(Shown::Written);
            let fix = match (key.as_deref().and_then(&example), key.as_deref()) {
                (Some(line), _) => format!("write it as the default file does: {line}"),
                (None, Some(table)) if !table.contains('.') => {
                    format!("write it as a table: a [{table}] line followed by its keys")
                }
                (None, _) => "write a value of the expected type".to_string(),
            };
            (plain_types(message), written, fix)
        }
    };
    ConfigError {
        origin: origin.to_string(),
        position,
        key,
        value,
        problem,
        fix: Some(fix),
    }
}

/// Rewrites the Rust type names ending serde's messages ("expected usize") into words.
fn plain_types(message: &str) -> String {
    const WORDS: [(&str, &str); 8] = [
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected a sequence", "expected a list in brackets"),
        ("expected a string", "expected text in double quotes"),
        ("expected struct ", "expected a table"),
    ];
    let message = match message.strip_prefix("invalid type: ") {
        Some(rest) => format!("wrong type: found {rest}"),
        None => message.to_string(),
    };
    WORDS
        .iter()
        .find_map(|(rust, plain)| {
            message
                .find(rust)
                .map(|at| format!("{}{plain}", &message[..at]))
        })
        .unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_types_become_words() {
        let table = [
            (
                "invalid type: string \"x\", expected usize",
                "wrong type: found string \"x\", expected a whole number, 0 or more",
            ),
            (
                "invalid value: integer `-1`, expected u32",
                "invalid value: integer `-1`, expected a whole number from 0 to 4294967295",
            ),
            (
                "invalid type: string \"a\", expected f64",
                "wrong type: found string \"a\", expected a number",
            ),
            (
                "invalid type: integer `1`, expected a boolean",
                "wrong type: found integer `1`, expected true or false",
            ),
            (
                "invalid type: integer `7`, expected a string",
                "wrong type: found integer `7`, expected text in double quotes",
            ),
            (
                "invalid type: integer `5`, expected struct LimitsConfig",
                "wrong type: found integer `5`, expected a table",
            ),
            (
                "unknown variant `xml`, expected `text` or `json`",
                "unknown variant `xml`, expected `text` or `json`",
            ),
        ];
        for (serde, plain) in table {
            assert_eq!(plain_types(serde), plain);
        }
    }
}

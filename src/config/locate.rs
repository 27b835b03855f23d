//! Maps keys to file positions and back, so every finding can point at a line.
//!
//! The typed [`super::Config`] forgets where its values came from; the toml_edit
//! [`Document`] of the same source keeps byte spans, and this module turns those
//! into 1-based line:column positions and the value text as the operator wrote it.

use std::ops::Range;

use toml_edit::{Document, Item, TableLike, Value};

use super::error::Position;

/// Longest value text quoted back in a message, in characters.
const SHOWN_CHARS: usize = 60;

/// One step of a path into the document: a key, which may itself hold dots
/// (a code pattern such as `127.0.0.[2..11]` does), or an element of a list or
/// of an array of tables (the n-th `[[dnsbl]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step<'p> {
    /// A key of a table.
    Key(&'p str),
    /// An element, counting from 0.
    Index(usize),
}

/// The position and written text of one value in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spot {
    /// Where the value starts.
    pub(super) position: Position,
    /// The value as written, whitespace collapsed, long values shortened.
    pub(super) written: String,
}

/// Position lookups over one configuration source.
pub(super) struct Locator<'a> {
    source: &'a str,
    document: Document<&'a str>,
}

impl<'a> Locator<'a> {
    /// Parses `source` once for its spans; a syntax error comes back as is.
    pub(super) fn new(source: &'a str) -> Result<Self, toml_edit::TomlError> {
        Ok(Locator {
            source,
            document: Document::parse(source)?,
        })
    }

    /// The position of the value of a dotted key (`limits.command_line`), if the
    /// file sets it.
    pub(super) fn value(&self, dotted: &str) -> Option<Spot> {
        self.value_at(&dotted_path(dotted))
    }

    /// The position of element `index` of the array at a dotted key.
    pub(super) fn element(&self, dotted: &str, index: usize) -> Option<Spot> {
        let mut path = dotted_path(dotted);
        path.push(Step::Index(index));
        self.value_at(&path)
    }

    /// The position of the value at `path`, if the file sets it.
    pub(super) fn value_at(&self, path: &[Step<'_>]) -> Option<Spot> {
        self.spot(self.item(path)?.as_value()?)
    }

    /// Where the key ending `path` is written: the place to point at when the
    /// key itself is wrong, as a code pattern can be.
    pub(super) fn key_position(&self, path: &[Step<'_>]) -> Option<Position> {
        let (Step::Key(name), parent) = path.split_last()? else {
            return None;
        };
        let span = self.item(parent)?.as_table_like()?.key(name)?.span()?;
        Some(position(self.source, span.start))
    }

    /// Where the table at `path` starts: the `[[dnsbl]]` header of an entry,
    /// or the `{` of an inline table. Points at an entry a key is missing from.
    pub(super) fn table_position(&self, path: &[Step<'_>]) -> Option<Position> {
        let span = match self.item(path)? {
            Item::Table(table) => table.span(),
            Item::Value(value) => value.span(),
            _ => None,
        }?;
        Some(position(self.source, span.start))
    }

    /// The dotted key whose name or value covers byte `offset`, innermost first;
    /// used to name the key a deserialisation error points into.
    pub(super) fn key_at(&self, offset: usize) -> Option<String> {
        let mut path = Vec::new();
        key_path_at(self.document.as_table(), offset, &mut path).then(|| path.join("."))
    }

    /// The source text in `span`, whitespace runs collapsed to one space so a
    /// message stays on one line.
    pub(super) fn text(&self, span: Range<usize>) -> Option<String> {
        let raw = self.source.get(span)?;
        Some(raw.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    fn item(&self, path: &[Step<'_>]) -> Option<&Item> {
        path.iter()
            .try_fold(self.document.as_item(), |item, step| match *step {
                Step::Key(name) => item.get(name),
                Step::Index(index) => item.get(index),
            })
    }

    fn spot(&self, value: &Value) -> Option<Spot> {
        let span = value.span()?;
        Some(Spot {
            position: position(self.source, span.start),
            written: shorten(&self.written(value)),
        })
    }

    fn written(&self, value: &Value) -> String {
        match value {
            Value::Array(array) => {
                let elements: Vec<String> =
                    array.iter().map(|element| self.written(element)).collect();
                format!("[{}]", elements.join(", "))
            }
            other => other
                .span()
                .and_then(|span| self.text(span))
                .unwrap_or_default(),
        }
    }
}

/// The steps of a dotted key such as `limits.command_line`.
fn dotted_path(dotted: &str) -> Vec<Step<'_>> {
    dotted.split('.').map(Step::Key).collect()
}

/// The 1-based line and column (in characters) of a byte offset in `source`.
pub(super) fn position(source: &str, offset: usize) -> Position {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Depth-first search for the key covering `offset`; leaves the path in `path`.
fn key_path_at(table: &dyn TableLike, offset: usize, path: &mut Vec<String>) -> bool {
    for (name, item) in table.iter() {
        path.push(name.to_string());
        let nested = match item {
            Item::ArrayOfTables(tables) => {
                tables.iter().any(|inner| key_path_at(inner, offset, path))
            }
            _ => item
                .as_table_like()
                .is_some_and(|inner| key_path_at(inner, offset, path)),
        };
        let hits = |span: Option<Range<usize>>| span.is_some_and(|span| covers(&span, offset));
        if nested
            || hits(table.key(name).and_then(|key| key.span()))
            || hits(item.as_value().and_then(Value::span))
        {
            return true;
        }
        path.pop();
    }
    false
}

/// Whether `span` holds `offset`; an empty span holds its own start.
fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.contains(&offset) || (span.is_empty() && span.start == offset)
}

/// `text` cut to [`SHOWN_CHARS`] characters, marking the cut.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
# comment
[server]
listen = [
  \"127.0.0.1:25\",   # loopback
  \"[::1]:25\",
]
hostname = \"mx.éxample\"

[limits]
command_line=100
upstream.address = \"127.0.0.1:10025\"
inline = { a = 1, b = \"x\" }
";

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn positions_count_lines_and_characters() {
        assert_eq!(position("", 0), at(1, 1));
        assert_eq!(position("ab\ncd", 4), at(2, 2));
        assert_eq!(position("é = 1", 3), at(1, 3));
        assert_eq!(position("ab", 99), at(1, 3));
        assert_eq!(position("é", 1), at(1, 1));
    }

    #[test]
    fn values_are_found_with_their_written_text() {
        let locator = Locator::new(SOURCE).unwrap();
        assert_eq!(
            locator.value("server.listen"),
            Some(Spot {
                position: at(3, 10),
                written: "[\"127.0.0.1:25\", \"[::1]:25\"]".into()
            })
        );
        assert_eq!(
            locator.value("server.hostname"),
            Some(Spot {
                position: at(7, 12),
                written: "\"mx.éxample\"".into()
            })
        );
        assert_eq!(
            locator.value("limits.command_line"),
            Some(Spot {
                position: at(10, 14),
                written: "100".into()
            })
        );
        assert_eq!(
            locator
                .value("limits.upstream.address")
                .map(|spot| spot.position),
            Some(at(11, 20))
        );
        assert_eq!(
            locator.value("limits.inline.b").map(|spot| spot.written),
            Some("\"x\"".into())
        );
        assert_eq!(locator.value("server.shards"), None);
        assert_eq!(locator.value("server"), None);
    }

    #[test]
    fn array_elements_are_found() {
        let locator = Locator::new(SOURCE).unwrap();
        assert_eq!(
            locator.element("server.listen", 1),
            Some(Spot {
                position: at(5, 3),
                written: "\"[::1]:25\"".into()
            })
        );
        assert_eq!(locator.element("server.listen", 2), None);
        assert_eq!(locator.element("server.hostname", 0), None);
    }

    #[test]
    fn paths_reach_into_arrays_of_tables_and_dotted_names() {
        let source = "\
inline = [{ zone = \"c.example\", codes = { \"127.0.0.2\" = 1 } }]
[[dnsbl]]
zone = \"a.example\"

[[dnsbl]]
zone = \"b.example\"
[dnsbl.codes]
\"127.0.0.[2..3]\" = 3
";
        let locator = Locator::new(source).unwrap();
        let path = |steps: &[Step<'static>]| steps.to_vec();
        let second = path(&[Step::Key("dnsbl"), Step::Index(1)]);
        let zone = [second.clone(), vec![Step::Key("zone")]].concat();
        assert_eq!(
            locator.value_at(&zone),
            Some(Spot {
                position: at(6, 8),
                written: "\"b.example\"".into()
            })
        );
        let code = [
            second.clone(),
            vec![Step::Key("codes"), Step::Key("127.0.0.[2..3]")],
        ]
        .concat();
        assert_eq!(
            locator.value_at(&code).map(|spot| spot.position),
            Some(at(8, 20))
        );
        assert_eq!(locator.key_position(&code), Some(at(8, 1)));
        assert_eq!(locator.table_position(&second), Some(at(5, 1)));
        assert_eq!(
            locator.table_position(&path(&[Step::Key("dnsbl"), Step::Index(0)])),
            Some(at(2, 1))
        );
        let inline = path(&[Step::Key("inline"), Step::Index(0)]);
        assert_eq!(locator.table_position(&inline), Some(at(1, 11)));
        let inline_code = [inline, vec![Step::Key("codes"), Step::Key("127.0.0.2")]].concat();
        assert_eq!(locator.key_position(&inline_code), Some(at(1, 43)));
        assert_eq!(
            locator.value_at(&path(&[Step::Key("dnsbl"), Step::Index(2)])),
            None
        );
        assert_eq!(locator.key_position(&second), None, "an index names no key");
    }

    #[test]
    fn offsets_map_back_to_dotted_keys() {
        let locator = Locator::new(SOURCE).unwrap();
        let offset_of = |needle: &str| SOURCE.find(needle).unwrap();
        assert_eq!(locator.key_at(offset_of("server]")), Some("server".into()));
        assert_eq!(
            locator.key_at(offset_of("\"[::1]")),
            Some("server.listen".into())
        );
        assert_eq!(
            locator.key_at(offset_of("hostname")),
            Some("server.hostname".into())
        );
        assert_eq!(
            locator.key_at(offset_of("100")),
            Some("limits.command_line".into())
        );
        assert_eq!(
            locator.key_at(offset_of("address")),
            Some("limits.upstream.address".into())
        );
        assert_eq!(
            locator.key_at(offset_of("\"x\"")),
            Some("limits.inline.b".into())
        );
        assert_eq!(locator.key_at(0), None);
    }

    #[test]
    fn long_values_are_shortened() {
        let long = format!("x = \"{}\"", "a".repeat(100));
        let locator = Locator::new(&long).unwrap();
        let written = locator.value("x").unwrap().written;
        assert_eq!(written, format!("\"{}...", "a".repeat(59)));
    }

    #[test]
    fn syntax_errors_are_returned() {
        let error = Locator::new("a = ").err().unwrap();
        assert_eq!(error.span(), Some(4..4));
    }
}

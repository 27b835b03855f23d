//! Header sections: where one ends, which of its fields are kept within the
//! bounds, and the kept fields decoded by mail-parser.

use std::borrow::Cow;
use std::sync::LazyLock;

use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, HeaderValue, MessageParser};
use memchr::memchr;

use super::decode::Encoding;
use super::finding::{Findings, HEADER_TOO_LONG};
use super::limits::ScanLimits;

/// One header field as header rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The field name as written (`Subject`, `X-Mailer`, ...).
    pub name: String,
    /// The value unfolded, RFC 2047 encoded words decoded to UTF-8.
    pub value: String,
}

/// A header section within its bounds.
pub(super) struct Section<'a> {
    /// The kept fields with their line ends: borrowed from the message when
    /// nothing was dropped from their midst, always ending in a line end.
    pub text: Cow<'a, [u8]>,
    /// Where the entity's body starts: after the empty line, or at the line
    /// that ended the section early (a MIME delimiter), or the end of data.
    pub body_start: usize,
}

/// Finds the header section that starts at `start` and keeps what fits the
/// bounds: a field longer than `header_line`, fields past `header_fields`,
/// and fields past `header_section` octets are dropped with HEADER_TOO_LONG.
/// `ends_section` says whether a line ends it without an empty line (a MIME
/// delimiter of an enclosing multipart, for a part's header). One pass over
/// the lines: the cost is the section's length, whatever its shape.
pub(super) fn split<'a>(
    data: &'a [u8],
    start: usize,
    limits: &ScanLimits,
    findings: &mut Findings,
    ends_section: impl Fn(&[u8]) -> bool,
) -> Section<'a> {
    let mut kept = Kept {
        data,
        start,
        end: start,
        owned: None,
        gap: false,
        fields: 0,
        octets: 0,
    };
    let mut field_start = start;
    let mut pos = start;
    let body_start = loop {
        if pos >= data.len() {
            break data.len();
        }
        let line_end = memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
        let line = &data[pos..line_end];
        if matches!(line, b"\n" | b"\r\n") {
            break line_end;
        }
        if ends_section(line) {
            break pos;
        }
        if !matches!(line[0], b' ' | b'\t') {
            kept.field(field_start, pos, limits, findings);
            field_start = pos;
        }
        pos = line_end;
    };
    kept.field(field_start, pos, limits, findings);
    Section {
        text: kept.finish(),
        body_start,
    }
}

/// The fields kept so far: a borrowed prefix of the section until a field
/// in its midst is dropped, then a copy.
struct Kept<'a> {
    data: &'a [u8],
    start: usize,
    /// End of the borrowed prefix.
    end: usize,
    owned: Option<Vec<u8>>,
    /// A field was dropped after the borrowed prefix.
    gap: bool,
    fields: usize,
    octets: usize,
}

impl<'a> Kept<'a> {
    fn field(&mut self, from: usize, to: usize, limits: &ScanLimits, findings: &mut Findings) {
        let field = &self.data[from..to];
        if field.is_empty() {
            return;
        }
        let drop = if field.len() > limits.header_line {
            findings.add(
                HEADER_TOO_LONG,
                format_args!(
                    "{}: field of {} octets",
                    String::from_utf8_lossy(field_name(field)),
                    field.len()
                ),
            );
            true
        } else if self.fields >= limits.header_fields {
            findings.add(
                HEADER_TOO_LONG,
                format_args!("more than {} header fields", limits.header_fields),
            );
            true
        } else if self.octets + field.len() > limits.header_section {
            findings.add(
                HEADER_TOO_LONG,
                format_args!("header section over {} octets", limits.header_section),
            );
            true
        } else {
            false
        };
        if drop {
            self.gap = true;
            return;
        }
        self.fields += 1;
        self.octets += field.len();
        match &mut self.owned {
            Some(owned) => owned.extend_from_slice(field),
            None if self.gap => {
                let mut owned = self.data[self.start..self.end].to_vec();
                owned.extend_from_slice(field);
                self.owned = Some(owned);
            }
            None => self.end = to,
        }
    }

    fn finish(self) -> Cow<'a, [u8]> {
        let mut text = match self.owned {
            Some(owned) => Cow::Owned(owned),
            None => Cow::Borrowed(&self.data[self.start..self.end]),
        };
        // mail-parser reads a field to its line end; give the last one one.
        if !text.is_empty() && !text.ends_with(b"\n") {
            text.to_mut().push(b'\n');
        }
        text
    }
}

/// The name of a raw field, for evidence: up to its colon, at most 64 octets.
fn field_name(field: &[u8]) -> &[u8] {
    let end = memchr(b':', field).unwrap_or(field.len()).min(64);
    &field[..end]
}

/// Content-Type and Content-Disposition parsed for their parameters, every
/// other field as unstructured text with RFC 2047 words decoded: header
/// rules read text, so addresses and dates stay as written.
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .default_header_text()
});

/// The fields of a kept section, parsed by mail-parser.
pub(super) fn parse(section: &[u8]) -> Vec<mail_parser::Header<'_>> {
    let mut headers = Vec::new();
    MessageStream::new(section).parse_headers(&PARSER, &mut headers);
    headers
}

/// The fields as header rules read them, in order.
pub(super) fn fields(section: &[u8], parsed: &[mail_parser::Header<'_>]) -> Vec<Header> {
    parsed
        .iter()
        .map(|h| Header {
            name: h.name.as_str().to_string(),
            value: match &h.value {
                HeaderValue::Text(text) => text.to_string(),
                _ => raw_value(section, h),
            },
        })
        .collect()
}

/// A field's value as written, unfolded, for the fields parsed structurally.
fn raw_value(section: &[u8], header: &mail_parser::Header<'_>) -> String {
    let (from, to) = (header.offset_start as usize, header.offset_end as usize);
    let raw = section.get(from..to).unwrap_or_default();
    let text: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    String::from_utf8_lossy(&text).trim().to_string()
}

/// What a part's header says about its content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct PartInfo {
    /// `type/subtype`, lowercase; empty when the header names none.
    pub mime_type: String,
    /// The multipart boundary, when there is one.
    pub boundary: Option<String>,
    /// The `charset` parameter, as written.
    pub charset: Option<String>,
    pub encoding: Encoding,
    /// `Content-Disposition: attachment`.
    pub attachment: bool,
    /// The `filename` of Content-Disposition, else the `name` of Content-Type.
    pub name: Option<String>,
}

impl PartInfo {
    /// Reads the MIME fields of a parsed header.
    pub(super) fn from_headers(parsed: &[mail_parser::Header<'_>]) -> PartInfo {
        let mut info = PartInfo::default();
        let mut type_name = None;
        for header in parsed {
            match (&header.name, &header.value) {
                (HeaderName::ContentType, HeaderValue::ContentType(ct)) => {
                    if !info.mime_type.is_empty() {
                        continue;
                    }
                    info.mime_type = match ct.subtype() {
                        Some(sub) => format!("{}/{}", ct.ctype(), sub),
                        None => ct.ctype().to_string(),
                    }
                    .to_ascii_lowercase();
                    info.boundary = param(ct, "boundary").map(str::to_string);
                    info.charset = param(ct, "charset").map(str::to_string);
                    type_name = param(ct, "name").map(str::to_string);
                }
                (HeaderName::ContentDisposition, HeaderValue::ContentType(cd)) => {
                    info.attachment |= cd.is_attachment();
                    if info.name.is_none() {
                        info.name = param(cd, "filename").map(str::to_string);
                    }
                }
                (HeaderName::ContentTransferEncoding, HeaderValue::Text(text)) => {
                    info.encoding = Encoding::from_header(text);
                }
                _ => {}
            }
        }
        if info.name.is_none() {
            info.name = type_name;
        }
        info
    }
}

/// A parameter by name, whatever its case.
fn param<'c>(ct: &'c mail_parser::ContentType<'_>, name: &str) -> Option<&'c str> {
    ct.attributes()?
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.value.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::message::finding::Findings;

    fn split_all(data: &[u8], limits: &ScanLimits) -> (Vec<u8>, usize, Findings) {
        let mut findings = Findings::default();
        let s = split(data, 0, limits, &mut findings, |_| false);
        (s.text.into_owned(), s.body_start, findings)
    }

    #[test]
    fn the_section_ends_at_the_first_empty_line() {
        let data = b"A: 1\r\nB: 2\r\n folded\r\n\r\nbody\r\n";
        let (text, body, findings) = split_all(data, &ScanLimits::default());
        assert_eq!(text, b"A: 1\r\nB: 2\r\n folded\r\n");
        assert_eq!(&data[body..], b"body\r\n");
        assert!(!findings.has(HEADER_TOO_LONG));
    }

    #[test]
    fn a_field_past_its_bound_is_dropped_and_named() {
        let limits = ScanLimits {
            header_line: 16,
            ..ScanLimits::default()
        };
        let data = b"A: 1\nLong: 0123456789abcdef\n more\nB: 2\n\nbody";
        let (text, body, findings) = split_all(data, &limits);
        assert_eq!(text, b"A: 1\nB: 2\n");
        assert_eq!(&data[body..], b"body");
        let all = findings.into_vec();
        assert_eq!(all[0].rule, "HEADER_TOO_LONG");
        assert_eq!(all[0].evidence, "Long: field of 29 octets");
    }

    #[test]
    fn fields_past_the_section_bound_are_dropped() {
        let limits = ScanLimits {
            header_section: 10,
            ..ScanLimits::default()
        };
        let (text, _, findings) = split_all(b"A: 1\nB: 2\nC: 3\n\n", &limits);
        assert_eq!(text, b"A: 1\nB: 2\n");
        assert!(findings.has(HEADER_TOO_LONG));
        let limits = ScanLimits {
            header_fields: 1,
            ..ScanLimits::default()
        };
        let (text, _, findings) = split_all(b"A: 1\nB: 2\n\n", &limits);
        assert_eq!(text, b"A: 1\n");
        assert!(findings.has(HEADER_TOO_LONG));
    }

    #[test]
    fn a_header_without_body_gets_a_final_line_end() {
        let (text, body, _) = split_all(b"Subject: hi", &ScanLimits::default());
        assert_eq!(text, b"Subject: hi\n");
        assert_eq!(body, 11);
        let parsed = parse(&text);
        assert_eq!(fields(&text, &parsed)[0].value, "hi");
    }

    #[test]
    fn values_are_decoded_and_mime_fields_read() {
        let section = b"Subject: =?UTF-8?B?w6l0w6k=?= now\r\n\
            Content-Type: Multipart/Mixed; BOUNDARY=\"xyz\"\r\n\
            Content-Disposition: attachment; filename=\"r\xc3\xa9sum\xc3\xa9.pdf\"\r\n\
            Content-Transfer-Encoding: Base64\r\n";
        let parsed = parse(section);
        let fields = fields(section, &parsed);
        assert_eq!(fields[0].name, "Subject");
        assert_eq!(fields[0].value, "été now");
        assert_eq!(fields[1].value, "Multipart/Mixed; BOUNDARY=\"xyz\"");
        let info = PartInfo::from_headers(&parsed);
        assert_eq!(info.mime_type, "multipart/mixed");
        assert_eq!(info.boundary.as_deref(), Some("xyz"));
        assert!(info.attachment);
        assert_eq!(info.name.as_deref(), Some("résumé.pdf"));
        assert_eq!(info.encoding, Encoding::Base64);
    }
}

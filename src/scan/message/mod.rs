//! Message analysis: one pass over a raw message that turns it into what
//! the rules read (subject, header fields, text, HTML text, links,
//! attachments) and the structural and attachment rules it hits on the way.
//!
//! [`analyse`] never fails: malformed input is judged, not crashed on, and
//! every bound in [`ScanLimits`] that a message crosses is a finding, not a
//! cost. The work is linear in the octets analysed (at most
//! `message_size`), and the memory held is the outputs plus one decoded
//! part at a time (at most `part_decoded`, 1.5 times that while a base64
//! part decodes).
//!
//! The modules, one job each: `mime` (the bounded MIME walk), `header`
//! (header sections and fields, through mail-parser), `decode` (transfer
//! encodings and charsets), `html` (links of HTML parts), `links` (URL
//! extraction, normalisation and link rules), `attachments` (names, magic,
//! archives, documents and attachment rules), `finding` (rule names and
//! evidence), `limits`, and `fixtures` (messages built in memory: the
//! bombs, zips, attachments).

mod attachments;
mod decode;
mod finding;
pub mod fixtures;
mod header;
mod html;
mod limits;
mod links;
mod mime;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use attachments::{Attachment, FileKind};
pub use finding::{EVIDENCE_CHARS, Finding, FindingClass, RULES, RuleInfo};
pub use header::Header;
pub use limits::ScanLimits;
pub use links::{Link, LinkSource};

use finding::{Findings, MESSAGE_TOO_LARGE, PART_TOO_LARGE};
use mime::Leaf;

/// What one message is, for the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// The Subject, RFC 2047 words decoded to UTF-8 (empty when none).
    pub subject: String,
    /// The message's header fields in order, values decoded (at most
    /// `header_fields`).
    pub headers: Vec<Header>,
    /// The header section as kept, as text (invalid UTF-8 replaced), for
    /// rules over raw headers.
    pub raw_headers: String,
    /// The text parts decoded (transfer encoding, then charset) to UTF-8,
    /// joined by `\n`.
    pub body_text: String,
    /// The text of the HTML parts (tags dropped, entities decoded, script
    /// and style dropped), joined by `\n`.
    pub html_text: String,
    /// The links in text and HTML parts (and HTML attachments), distinct.
    pub links: Vec<Link>,
    /// Every part that is not message text.
    pub attachments: Vec<Attachment>,
    /// The rules this analysis found, each once.
    pub findings: Vec<Finding>,
}

/// Analyses `raw`, a message as received (a leading mbox `From ` line, which
/// an MTA never sees, is skipped), within `limits`.
pub fn analyse(raw: &[u8], limits: &ScanLimits) -> Analysis {
    let mut findings = Findings::default();
    let raw = strip_mbox_from_line(raw);
    let raw = if raw.len() > limits.message_size {
        findings.add(
            MESSAGE_TOO_LARGE,
            format_args!("{} octets, {} analysed", raw.len(), limits.message_size),
        );
        &raw[..limits.message_size]
    } else {
        raw
    };

    let tree = mime::walk(raw, limits, &mut findings);
    let mut analysis = Analysis {
        subject: tree
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("subject"))
            .map(|h| h.value.clone())
            .unwrap_or_default(),
        headers: tree.headers,
        raw_headers: tree.raw_headers,
        ..Analysis::default()
    };
    let mut links = links::Collector::new(limits.links);
    for leaf in tree.leaves {
        part(leaf, limits, &mut analysis, &mut links, &mut findings);
    }
    analysis.links = links.finish(&mut findings);
    analysis.findings = findings.into_vec();
    analysis
}

/// A leaf's role: text a reader reads, or a file.
fn is_attachment(leaf: &Leaf<'_>) -> bool {
    let t = leaf.info.mime_type.as_str();
    leaf.info.attachment || leaf.info.name.is_some() || !t.starts_with("text/")
}

/// Decodes one leaf and adds it to the analysis as text, HTML or attachment.
fn part(
    leaf: Leaf<'_>,
    limits: &ScanLimits,
    analysis: &mut Analysis,
    links: &mut links::Collector,
    findings: &mut Findings,
) {
    let decoded = decode::transfer(leaf.body, leaf.info.encoding, limits.part_decoded);
    if decoded.truncated {
        findings.add(
            PART_TOO_LARGE,
            format_args!(
                "{} {} over {} octets decoded",
                leaf.info.mime_type,
                leaf.info.name.as_deref().unwrap_or("part"),
                limits.part_decoded
            ),
        );
    }
    let html = leaf.info.mime_type == "text/html";
    if is_attachment(&leaf) {
        let attachment = attachments::inspect(
            leaf.info.name,
            leaf.info.mime_type,
            &decoded.bytes,
            limits,
            findings,
        );
        // An HTML attachment is a page the reader opens: its links count.
        if html || attachment.sniffed == Some(FileKind::Html) {
            let text = decode::text(&decoded.bytes, leaf.info.charset.as_deref());
            html::links(&text, |url, source, anchor| links.add(url, source, anchor));
        }
        analysis.attachments.push(attachment);
        return;
    }
    let text = decode::text(&decoded.bytes, leaf.info.charset.as_deref());
    if html {
        html::links(&text, |url, source, anchor| links.add(url, source, anchor));
        join(
            &mut analysis.html_text,
            &mail_parser::decoders::html::html_to_text(&text),
        );
    } else {
        links.text(&text);
        join(&mut analysis.body_text, &text);
    }
}

fn join(all: &mut String, text: &str) {
    if !all.is_empty() {
        all.push('\n');
    }
    all.push_str(text);
}

/// Skips a first line starting `From ` (mbox's separator, which mail
/// stores add and an MTA never sees).
fn strip_mbox_from_line(raw: &[u8]) -> &[u8] {
    if !raw.starts_with(b"From ") {
        return raw;
    }
    memchr::memchr(b'\n', raw).map_or(&[][..], |i| &raw[i + 1..])
}

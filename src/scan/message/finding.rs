//! What the analysis found: named rules, each with a class that `policy/`
//! maps to an action, and evidence that is safe to put in a log line.

use std::fmt::{self, Write as _};

/// The family a rule belongs to, so that policy can act per class (say,
/// "executables are always rejected") without listing every rule name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingClass {
    /// Runnable content: native executables, installers, shortcuts, scripts,
    /// and names dressed up to hide them.
    Executable,
    /// Active content inside documents: Office macros, JavaScript in PDFs,
    /// content whose real type contradicts what it claims to be.
    Malware,
    /// What archives and containers carry: executables inside a zip,
    /// password-protected archives, disk images.
    Archive,
    /// Deception aimed at the reader: a link whose text shows another domain.
    Phishing,
    /// The shape of the message itself: bombs and bounds crossed.
    Structure,
    /// Suspicious link forms: IP-literal hosts, shorteners, punycode.
    Link,
}

/// A rule the analysis can report: its exact name, its class and what it
/// means, so that docs and `ringwall score --explain` can list them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule's name as scores and logs carry it.
    pub name: &'static str,
    /// The class policy acts on.
    pub class: FindingClass,
    /// One line saying what makes it hit.
    pub summary: &'static str,
}

/// One rule this analysis found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's name (one of [`RULES`]).
    pub rule: &'static str,
    /// The rule's class.
    pub class: FindingClass,
    /// What triggered it, at most [`EVIDENCE_CHARS`] characters, with control
    /// and bidirectional formatting characters written as `<U+XXXX>` so a log
    /// line cannot be broken or visually reordered by a message.
    pub evidence: String,
}

/// The longest evidence a finding carries, in characters.
pub const EVIDENCE_CHARS: usize = 120;

macro_rules! rules {
    ($($id:ident, $class:ident, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub(crate) const $id: RuleInfo = RuleInfo {
                name: stringify!($id),
                class: FindingClass::$class,
                summary: $summary,
            };
        )*
        /// Every rule the message analysis can report.
        pub const RULES: &[RuleInfo] = &[$($id),*];
    };
}

rules! {
    MESSAGE_TOO_LARGE, Structure, "The message is larger than the analysis looks at; the rest was not scanned.";
    HEADER_TOO_LONG, Structure, "A header field, or the header section, is past its bound; the excess was not parsed.";
    MIME_TOO_DEEP, Structure, "MIME parts nest deeper than the bound; deeper parts were not scanned.";
    TOO_MANY_PARTS, Structure, "The message has more MIME parts than the bound; later parts were not scanned.";
    PART_TOO_LARGE, Structure, "A part decodes to more than the bound; it was truncated for the scan.";
    ARCHIVE_RATIO, Structure, "A zip declares a compression ratio or a total size only a zip bomb has.";
    ATTACH_EXECUTABLE, Executable, "An attachment is a program: PE, ELF, Mach-O, MSI, LNK or JAR, by content or by name.";
    ATTACH_SCRIPT, Executable, "An attachment is a script Windows runs when opened: by name (.js, .vbs, .ps1, .hta ...).";
    ATTACH_DOUBLE_EXT, Executable, "An attachment name hides a runnable extension behind a document one (invoice.pdf.exe).";
    ATTACH_RTLO, Executable, "An attachment name holds a bidirectional override that reorders how it displays.";
    ATTACH_ZIP_EXECUTABLE, Archive, "A zip attachment holds a program or a script.";
    ATTACH_ENCRYPTED_ARCHIVE, Archive, "A zip attachment is password-protected, so its content cannot be checked.";
    ATTACH_DISK_IMAGE, Archive, "An attachment is a disk image (ISO, IMG, VHD, DMG), a way past mark-of-the-web.";
    ATTACH_OFFICE_MACRO, Malware, "An Office document carries a VBA macro project.";
    ATTACH_PDF_JAVASCRIPT, Malware, "A PDF carries JavaScript (/JS or /JavaScript).";
    ATTACH_TYPE_MISMATCH, Malware, "An attachment's content contradicts its declared type or its name's extension.";
    LINK_TEXT_MISMATCH, Phishing, "A link's text shows one domain and the link goes to another.";
    LINK_IP_HOST, Link, "A link names its host by IP address, in any notation.";
    LINK_SHORTENER, Link, "A link goes through a URL shortener, hiding where it leads.";
    LINK_PUNYCODE, Link, "A link's host has punycode (xn--) labels: a possible homograph.";
}

/// The findings of one analysis: each rule at most once, with the evidence
/// of its first hit (a rule's score counts once however often it matches).
#[derive(Debug, Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    /// Records `rule` unless it is already there.
    pub(crate) fn add(&mut self, rule: RuleInfo, evidence: fmt::Arguments<'_>) {
        if self.has(rule) {
            return;
        }
        self.0.push(Finding {
            rule: rule.name,
            class: rule.class,
            evidence: sanitise(evidence),
        });
    }

    /// Whether `rule` was already found.
    pub(crate) fn has(&self, rule: RuleInfo) -> bool {
        self.0.iter().any(|f| f.rule == rule.name)
    }

    pub(crate) fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}

/// Renders evidence within [`EVIDENCE_CHARS`], escaping what could break or
/// reorder a log line; longer evidence ends in `…`.
fn sanitise(evidence: fmt::Arguments<'_>) -> String {
    let text = evidence.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "<U+{:04X}>", u32::from(c));
        } else {
            out.push(c);
        }
    }
    if out.chars().count() > EVIDENCE_CHARS {
        let cut = out
            .char_indices()
            .nth(EVIDENCE_CHARS - 1)
            .map_or(out.len(), |(i, _)| i);
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Control characters and the invisible formatting characters that reorder
/// or hide text (bidi overrides, isolates and marks, zero-width characters).
pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{200B}'..='\u{200D}' | '\u{FEFF}')
}

/// The bidirectional formatting characters: embeddings and overrides
/// (U+202A..U+202E), isolates (U+2066..U+2069) and the directional marks.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_recorded_once_with_its_first_evidence() {
        let mut findings = Findings::default();
        findings.add(LINK_IP_HOST, format_args!("first"));
        findings.add(LINK_IP_HOST, format_args!("second"));
        let all = findings.into_vec();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].evidence, "first");
        assert_eq!(all[0].class, FindingClass::Link);
    }

    #[test]
    fn evidence_is_bounded_and_escaped() {
        let long = "x".repeat(500);
        let e = sanitise(format_args!("{long}"));
        assert_eq!(e.chars().count(), EVIDENCE_CHARS);
        assert!(e.ends_with('…'));
        let exact = "y".repeat(EVIDENCE_CHARS);
        assert_eq!(sanitise(format_args!("{exact}")), exact);
        let e = sanitise(format_args!("a\r\nb\u{202E}c\u{7}"));
        assert_eq!(e, "a<U+000D><U+000A>b<U+202E>c<U+0007>");
    }

    #[test]
    fn every_rule_name_is_unique_and_upper_snake_case() {
        for (i, rule) in RULES.iter().enumerate() {
            assert!(
                rule.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_')
            );
            assert!(RULES[..i].iter().all(|r| r.name != rule.name));
        }
    }
}

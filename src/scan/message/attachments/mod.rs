//! Attachments: the name, the declared type and the sniffed type (content
//! beats declaration), what archives hold, active content in documents, and
//! the attachment rules.

mod archive;
mod content;
mod magic;
mod name;

pub use magic::FileKind;

use magic::sniff;

use super::finding::{
    ARCHIVE_RATIO, ATTACH_DISK_IMAGE, ATTACH_DOUBLE_EXT, ATTACH_ENCRYPTED_ARCHIVE,
    ATTACH_EXECUTABLE, ATTACH_OFFICE_MACRO, ATTACH_PDF_JAVASCRIPT, ATTACH_RTLO, ATTACH_SCRIPT,
    ATTACH_TYPE_MISMATCH, ATTACH_ZIP_EXECUTABLE, Findings,
};
use super::limits::ScanLimits;
use name::Name;

/// A part that is not message text: a file, an image, a non-text type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name (Content-Disposition `filename`, else Content-Type
    /// `name`), decoded; None when the part has none.
    pub name: Option<String>,
    /// The declared `type/subtype`, lowercase.
    pub declared_type: String,
    /// What the content is by its magic, when our table knows it; a zip is
    /// refined to OOXML or JAR by its members.
    pub sniffed: Option<FileKind>,
    /// Decoded octets scanned (at most the part bound; PART_TOO_LARGE says
    /// when there was more).
    pub size: usize,
    /// The members of a zip, in directory order (at most `zip_members`).
    pub archive_members: Vec<String>,
}

/// Inspects one attachment's decoded content and records the rules it hits.
pub(super) fn inspect(
    file_name: Option<String>,
    declared_type: String,
    data: &[u8],
    limits: &ScanLimits,
    findings: &mut Findings,
) -> Attachment {
    let mut sniffed = sniff(data);
    let shown = file_name.as_deref().unwrap_or("(unnamed)");
    let name = file_name.as_deref().map(Name::parse);
    let mut archive_members = Vec::new();

    if sniffed == Some(FileKind::Zip)
        && let Some(listing) = archive::list(data, limits.zip_members)
    {
        sniffed = Some(zip_kind(&listing.names));
        judge_zip(&listing, shown, limits, findings);
        archive_members = listing.names;
    }

    if let Some(kind) = sniffed.filter(|k| k.is_executable()) {
        findings.add(ATTACH_EXECUTABLE, format_args!("{shown}: {}", kind.name()));
    } else if name.as_ref().is_some_and(Name::is_executable) {
        findings.add(ATTACH_EXECUTABLE, format_args!("{shown}"));
    }
    // By name only: Windows hands .js, .vbs, .ps1, .hta... to an interpreter
    // when the reader opens them. A `#!` script runs on no mail client's
    // click, and developers mail them to each other (a train ham did).
    if name.as_ref().is_some_and(Name::is_script) {
        findings.add(ATTACH_SCRIPT, format_args!("{shown}"));
    }
    if name.as_ref().is_some_and(Name::is_double) {
        findings.add(ATTACH_DOUBLE_EXT, format_args!("{shown}"));
    }
    if file_name.as_deref().is_some_and(name::has_bidi_control) {
        findings.add(ATTACH_RTLO, format_args!("{shown}"));
    }
    if matches!(sniffed, Some(FileKind::Iso | FileKind::DiskImage))
        || name.as_ref().is_some_and(Name::is_disk_image)
    {
        findings.add(ATTACH_DISK_IMAGE, format_args!("{shown}"));
    }
    match sniffed {
        Some(FileKind::Ole2) if content::ole2_has_macros(data) => {
            findings.add(
                ATTACH_OFFICE_MACRO,
                format_args!("{shown}: VBA project in OLE2"),
            );
        }
        Some(FileKind::Ooxml | FileKind::Zip)
            if archive_members
                .iter()
                .any(|m| content::is_vba_project_member(m)) =>
        {
            findings.add(ATTACH_OFFICE_MACRO, format_args!("{shown}: vbaProject.bin"));
        }
        Some(FileKind::Pdf) if content::pdf_has_javascript(data) => {
            findings.add(ATTACH_PDF_JAVASCRIPT, format_args!("{shown}"));
        }
        _ => {}
    }
    if let Some(kind) = sniffed {
        let by_type = name::expected_for_type(&declared_type);
        let by_name = name.as_ref().and_then(Name::expected);
        if let Some(promised) = [
            by_type.map(|k| (k, declared_type.as_str())),
            by_name.map(|k| (k, shown)),
        ]
        .into_iter()
        .flatten()
        .find(|(kinds, _)| !kinds.contains(&kind))
        .map(|(_, promised)| promised)
        {
            findings.add(
                ATTACH_TYPE_MISMATCH,
                format_args!("{promised} is a {}", kind.name()),
            );
        }
    }

    Attachment {
        name: file_name,
        declared_type,
        sniffed,
        size: data.len(),
        archive_members,
    }
}

/// A zip told apart by its members: OOXML has `[Content_Types].xml`, a JAR
/// its manifest and classes.
fn zip_kind(members: &[String]) -> FileKind {
    if members.iter().any(|m| m == "[Content_Types].xml") {
        FileKind::Ooxml
    } else if members.iter().any(|m| m == "META-INF/MANIFEST.MF")
        && members.iter().any(|m| m.ends_with(".class"))
    {
        FileKind::Jar
    } else {
        FileKind::Zip
    }
}

/// The rules a zip's listing can hit.
fn judge_zip(
    listing: &archive::Listing,
    shown: &str,
    limits: &ScanLimits,
    findings: &mut Findings,
) {
    if let Some((member, size, compressed)) = &listing.worst_ratio
        && size / compressed.max(&1) > limits.zip_ratio
    {
        findings.add(
            ARCHIVE_RATIO,
            format_args!("{shown}: {member} declares {size} octets from {compressed}"),
        );
    }
    if listing.total > limits.archive_uncompressed {
        findings.add(
            ARCHIVE_RATIO,
            format_args!("{shown}: declares {} octets uncompressed", listing.total),
        );
    }
    if let Some(member) = &listing.encrypted {
        findings.add(ATTACH_ENCRYPTED_ARCHIVE, format_args!("{shown}: {member}"));
    }
    for member in &listing.names {
        let n = Name::parse(member);
        if n.is_executable() || n.is_script() {
            findings.add(ATTACH_ZIP_EXECUTABLE, format_args!("{shown}: {member}"));
        }
        if name::has_bidi_control(member) {
            findings.add(ATTACH_RTLO, format_args!("{shown}: {member}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::message::fixtures::{ZipMember, minimal_pe, stored_zip};

    fn rules(name: Option<&str>, declared: &str, data: &[u8]) -> Vec<&'static str> {
        let mut findings = Findings::default();
        inspect(
            name.map(str::to_string),
            declared.to_string(),
            data,
            &ScanLimits::default(),
            &mut findings,
        );
        let mut rules: Vec<_> = findings.into_vec().iter().map(|f| f.rule).collect();
        rules.sort_unstable();
        rules
    }

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let members: Vec<_> = members
            .iter()
            .map(|&(name, data)| ZipMember {
                name,
                data,
                encrypted: false,
            })
            .collect();
        stored_zip(&members)
    }

    #[test]
    fn executables_by_content_or_name() {
        assert_eq!(
            rules(Some("setup.exe"), "application/octet-stream", &minimal_pe()),
            ["ATTACH_EXECUTABLE"]
        );
        assert_eq!(
            rules(Some("photo"), "application/octet-stream", &minimal_pe()),
            ["ATTACH_EXECUTABLE"]
        );
        assert_eq!(
            rules(Some("tool.scr"), "application/octet-stream", b"junk"),
            ["ATTACH_EXECUTABLE"]
        );
        assert!(rules(Some("report.pdf"), "application/pdf", b"%PDF-1.4\n").is_empty());
    }

    #[test]
    fn content_beats_the_declared_type() {
        assert_eq!(
            rules(Some("report.pdf"), "application/pdf", &minimal_pe()),
            ["ATTACH_EXECUTABLE", "ATTACH_TYPE_MISMATCH"]
        );
        assert_eq!(
            rules(None, "image/jpeg", b"%PDF-1.4"),
            ["ATTACH_TYPE_MISMATCH"]
        );
        assert!(rules(None, "image/jpeg", b"\xFF\xD8\xFF\xE0").is_empty());
        assert!(rules(Some("a.doc"), "application/msword", b"{\\rtf1").is_empty());
        assert!(rules(Some("x.bin"), "application/octet-stream", b"%PDF-1.4").is_empty());
    }

    #[test]
    fn scripts_double_extensions_and_rtlo() {
        assert_eq!(
            rules(Some("run.js"), "text/javascript", b"x=1"),
            ["ATTACH_SCRIPT"]
        );
        assert!(rules(Some("rotate"), "text/plain", b"#!/bin/sh\n").is_empty());
        assert_eq!(
            rules(Some("invoice.pdf.exe"), "application/pdf", b"junk"),
            ["ATTACH_DOUBLE_EXT", "ATTACH_EXECUTABLE"]
        );
        assert_eq!(
            rules(
                Some("invoice\u{202E}fdp.exe"),
                "application/octet-stream",
                b"junk"
            ),
            ["ATTACH_EXECUTABLE", "ATTACH_RTLO"]
        );
        assert!(
            rules(
                Some("archive.tar.gz"),
                "application/gzip",
                b"\x1F\x8B\x08\0"
            )
            .is_empty()
        );
    }

    #[test]
    fn zips_are_listed_and_judged() {
        let data = zip(&[("readme.txt", b"hi"), ("payload.exe", b"MZ")]);
        assert_eq!(
            rules(Some("files.zip"), "application/zip", &data),
            ["ATTACH_ZIP_EXECUTABLE"]
        );
        let data = zip(&[("readme.txt", b"hi"), ("notes.pdf", b"%PDF")]);
        let mut findings = Findings::default();
        let a = inspect(
            Some("files.zip".into()),
            "application/zip".into(),
            &data,
            &ScanLimits::default(),
            &mut findings,
        );
        assert_eq!(a.archive_members, ["readme.txt", "notes.pdf"]);
        assert_eq!(a.sniffed, Some(FileKind::Zip));
        assert!(findings.into_vec().is_empty());
        let data = stored_zip(&[ZipMember {
            name: "secret.doc",
            data: b"x",
            encrypted: true,
        }]);
        assert_eq!(
            rules(Some("s.zip"), "application/zip", &data),
            ["ATTACH_ENCRYPTED_ARCHIVE"]
        );
    }

    #[test]
    fn office_macros() {
        let docm = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/vbaProject.bin", b""),
        ]);
        assert_eq!(
            rules(
                Some("a.docx"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                &docm
            ),
            ["ATTACH_OFFICE_MACRO"]
        );
        let docx = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b""),
        ]);
        assert!(rules(Some("a.docx"), "application/octet-stream", &docx).is_empty());
    }

    #[test]
    fn pdf_javascript_and_disk_images() {
        assert_eq!(
            rules(
                Some("a.pdf"),
                "application/pdf",
                b"%PDF-1.5 << /OpenAction << /JS (x) >> >>"
            ),
            ["ATTACH_PDF_JAVASCRIPT"]
        );
        let mut iso = vec![0u8; 0x9000];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        assert_eq!(
            rules(Some("invoice.iso"), "application/octet-stream", &iso),
            ["ATTACH_DISK_IMAGE"]
        );
        assert_eq!(
            rules(Some("disk.img"), "application/octet-stream", b""),
            ["ATTACH_DISK_IMAGE"]
        );
    }
}

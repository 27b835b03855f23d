//! What an attachment's name says: its real extension (Windows drops
//! trailing dots and blanks), runnable extensions, decoy extensions in front
//! of them, and bidirectional overrides that reorder what a reader sees.

use super::magic::FileKind;
use crate::scan::message::finding::is_bidi_control;

/// Extensions Windows runs, installs or follows when opened: programs,
/// installers and packages, shortcuts, Java, compiled help, registry and
/// setup files, Office add-ins.
const EXECUTABLE: &[&str] = &[
    "apk",
    "app",
    "appinstaller",
    "application",
    "appx",
    "appxbundle",
    "chm",
    "com",
    "cpl",
    "dll",
    "drv",
    "exe",
    "gadget",
    "hlp",
    "inf",
    "iqy",
    "jar",
    "lnk",
    "msi",
    "msix",
    "msixbundle",
    "msp",
    "mst",
    "ocx",
    "pif",
    "reg",
    "scf",
    "scr",
    "settingcontent-ms",
    "slk",
    "sys",
    "url",
    "wll",
    "xll",
];

/// Script extensions Windows hands to an interpreter when opened.
const SCRIPT: &[&str] = &[
    "bat", "cmd", "hta", "js", "jse", "msh", "msh1", "msh2", "ps1", "ps1xml", "ps2", "psc1",
    "psd1", "psm1", "sct", "vb", "vbe", "vbs", "ws", "wsc", "wsf", "wsh",
];

/// Disk image extensions: containers Windows or macOS mounts on a click.
const DISK_IMAGE: &[&str] = &["dmg", "img", "iso", "vhd", "vhdx"];

/// Extensions a runnable file hides behind: documents, images, media,
/// archives.
const DECOY: &[&str] = &[
    "7z", "avi", "bmp", "csv", "doc", "docx", "eml", "gif", "gz", "htm", "html", "jpeg", "jpg",
    "mov", "mp3", "mp4", "msg", "odt", "ods", "pdf", "png", "ppt", "pptx", "rar", "rtf", "tif",
    "tiff", "txt", "wav", "xls", "xlsx", "xml", "zip",
];

/// A file name's extensions, as Windows reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Name {
    /// The last extension, lowercase ("" when none).
    pub ext: String,
    /// The one before it, lowercase, blanks around it dropped.
    pub previous: Option<String>,
}

impl Name {
    /// Splits `name` (a path's last segment) as Windows does: trailing dots
    /// and blanks are dropped, so `a.exe.` and `a.exe ` run as `.exe`.
    pub(super) fn parse(name: &str) -> Name {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let base = base.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
        let mut parts = base.rsplit('.');
        let ext = parts
            .next()
            .filter(|_| base.contains('.'))
            .unwrap_or_default();
        let stem_parts = base.matches('.').count();
        let previous = parts
            .next()
            .filter(|_| stem_parts >= 2)
            .map(|p| p.trim().to_lowercase());
        Name {
            ext: ext.to_lowercase(),
            previous,
        }
    }

    pub(super) fn is_executable(&self) -> bool {
        EXECUTABLE.contains(&self.ext.as_str())
    }

    pub(super) fn is_script(&self) -> bool {
        SCRIPT.contains(&self.ext.as_str())
    }

    pub(super) fn is_disk_image(&self) -> bool {
        DISK_IMAGE.contains(&self.ext.as_str())
    }

    /// A runnable extension behind a decoy one: `invoice.pdf.exe`.
    pub(super) fn is_double(&self) -> bool {
        (self.is_executable() || self.is_script())
            && self.previous.as_deref().is_some_and(|p| DECOY.contains(&p))
    }

    /// What content the extension promises, when it promises something
    /// our magic table can contradict: None for extensions that promise
    /// nothing we sniff.
    pub(super) fn expected(&self) -> Option<&'static [FileKind]> {
        expected_for_extension(&self.ext)
    }
}

/// Whether a name holds a bidirectional formatting character.
pub(super) fn has_bidi_control(name: &str) -> bool {
    name.chars().any(is_bidi_control)
}

/// Text formats: what a text extension or type may turn out to be.
const TEXTS: &[FileKind] = &[FileKind::Html, FileKind::Script, FileKind::Rtf];
const ZIPS: &[FileKind] = &[FileKind::Zip, FileKind::Ooxml, FileKind::Jar];
/// Legacy Office names cover OLE2, OOXML saved under the old name, and
/// the RTF and HTML Word writes as ".doc".
const LEGACY_OFFICE: &[FileKind] = &[
    FileKind::Ole2,
    FileKind::Ooxml,
    FileKind::Zip,
    FileKind::Rtf,
    FileKind::Html,
];

fn expected_for_extension(ext: &str) -> Option<&'static [FileKind]> {
    Some(match ext {
        "pdf" => &[FileKind::Pdf],
        "doc" | "xls" | "ppt" | "dot" | "xlt" => LEGACY_OFFICE,
        "docx" | "xlsx" | "pptx" | "docm" | "xlsm" | "pptm" | "odt" | "ods" | "zip" => ZIPS,
        "rar" => &[FileKind::Rar],
        "7z" => &[FileKind::SevenZip],
        "gz" | "tgz" => &[FileKind::Gzip],
        "jpg" | "jpeg" | "png" | "gif" | "bmp" | "tif" | "tiff" | "webp" | "mp3" | "mp4"
        | "wav" | "avi" | "mov" => &[],
        "txt" | "csv" | "log" => TEXTS,
        "rtf" => &[FileKind::Rtf],
        "htm" | "html" => &[FileKind::Html],
        _ => return None,
    })
}

/// What content a declared MIME type promises, as [`Name::expected`].
pub(super) fn expected_for_type(mime_type: &str) -> Option<&'static [FileKind]> {
    Some(match mime_type {
        "application/pdf" => &[FileKind::Pdf],
        "application/zip" | "application/x-zip-compressed" | "application/x-zip" => ZIPS,
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
            LEGACY_OFFICE
        }
        "application/rtf" | "text/rtf" => &[FileKind::Rtf],
        "application/x-rar-compressed" | "application/vnd.rar" | "application/x-rar" => {
            &[FileKind::Rar]
        }
        "application/x-7z-compressed" => &[FileKind::SevenZip],
        "application/gzip" | "application/x-gzip" => &[FileKind::Gzip],
        "text/html" => &[FileKind::Html],
        t if t.starts_with("application/vnd.openxmlformats-officedocument.")
            || t.starts_with("application/vnd.oasis.opendocument.")
            || t.starts_with("application/vnd.ms-word.")
            || t.starts_with("application/vnd.ms-excel.")
            || t.starts_with("application/vnd.ms-powerpoint.") =>
        {
            ZIPS
        }
        t if t.starts_with("image/") || t.starts_with("audio/") || t.starts_with("video/") => &[],
        t if t.starts_with("text/") => TEXTS,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Name {
        Name::parse(n)
    }

    #[test]
    fn extensions_as_windows_reads_them() {
        assert_eq!(name("Invoice.PDF.exe").ext, "exe");
        assert_eq!(name("Invoice.PDF.exe").previous.as_deref(), Some("pdf"));
        assert_eq!(name("a.exe. . ").ext, "exe");
        assert_eq!(name("C:\\dir\\a.js").ext, "js");
        assert_eq!(name("README").ext, "");
        assert_eq!(name("README").previous, None);
        assert_eq!(name("report.pdf").previous, None);
        assert_eq!(
            name("invoice.pdf      .exe").previous.as_deref(),
            Some("pdf")
        );
    }

    #[test]
    fn double_extensions_and_near_misses() {
        assert!(name("invoice.pdf.exe").is_double());
        assert!(name("photo.jpg.scr").is_double());
        assert!(name("doc.docx.js").is_double());
        assert!(!name("report.pdf").is_double());
        assert!(!name("archive.tar.gz").is_double());
        assert!(!name("setup.v2.exe").is_double());
        assert!(!name("invoice.exe").is_double());
    }

    #[test]
    fn runnable_classes() {
        assert!(name("a.EXE").is_executable());
        assert!(name("a.lnk").is_executable());
        assert!(!name("a.exe.txt").is_executable());
        assert!(name("a.vbs").is_script());
        assert!(name("a.ps1").is_script());
        assert!(!name("a.json").is_script());
        assert!(name("a.iso").is_disk_image());
    }

    #[test]
    fn bidi_controls() {
        assert!(has_bidi_control("invoice\u{202E}fdp.exe"));
        assert!(has_bidi_control("a\u{2067}b"));
        assert!(!has_bidi_control("résumé.pdf"));
    }

    #[test]
    fn the_tables_are_lowercase_and_distinct() {
        for table in [EXECUTABLE, SCRIPT, DISK_IMAGE, DECOY] {
            assert!(table.iter().all(|e| *e == e.to_lowercase()));
        }
        assert!(EXECUTABLE.iter().all(|e| !SCRIPT.contains(e)));
    }
}

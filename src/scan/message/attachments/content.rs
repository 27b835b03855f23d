//! Active content inside documents, found without parsing the document:
//! what each check reads is stated where it is.

use memchr::{memchr, memmem};

/// An OLE2 file (legacy Word, Excel, PowerPoint) with a VBA project: a
/// directory entry named `_VBA_PROJECT` or `VBA`. OLE2 directory entries are
/// 128 octets, aligned to 128 in the file, the name first in UTF-16LE and
/// its length in octets (terminator included) at 0x40; both names are
/// looked for that way, so the same letters in a document's text do not
/// count. Excel 4.0 (XLM) macro sheets are not detected.
pub(super) fn ole2_has_macros(data: &[u8]) -> bool {
    has_directory_entry(data, "_VBA_PROJECT") || has_directory_entry(data, "VBA")
}

fn has_directory_entry(data: &[u8], name: &str) -> bool {
    let utf16: Vec<u8> = name
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect();
    let Ok(len) = u16::try_from(utf16.len()) else {
        return false;
    };
    memmem::find_iter(data, &utf16)
        .any(|at| at % 128 == 0 && data.get(at + 0x40..at + 0x42) == Some(&len.to_le_bytes()[..]))
}

/// An OOXML member holding a VBA project (`word/vbaProject.bin`,
/// `xl/vbaProject.bin`, ...): macros in a .docm, .xlsm or a renamed one.
pub(super) fn is_vba_project_member(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.eq_ignore_ascii_case("vbaProject.bin")
}

/// A PDF with JavaScript: a name object `/JS` or `/JavaScript`, with `#xx`
/// escapes in names decoded (`/J#61vaScript`), anywhere in the file as
/// stored. JavaScript inside compressed object streams is not seen.
pub(super) fn pdf_has_javascript(data: &[u8]) -> bool {
    let mut from = 0;
    while let Some(off) = memchr(b'/', &data[from..]) {
        let start = from + off + 1;
        let end = data[start..]
            .iter()
            .position(|&b| is_pdf_delimiter(b))
            .map_or(data.len(), |e| start + e);
        let name = &data[start..end];
        if name.len() <= 64 && is_javascript_name(name) {
            return true;
        }
        from = end.max(start);
    }
    false
}

/// PDF's whitespace and delimiters end a name.
fn is_pdf_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0C'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

fn is_javascript_name(raw: &[u8]) -> bool {
    let mut name = [0u8; 16];
    let mut len = 0;
    let mut i = 0;
    while i < raw.len() {
        let b = match (raw[i], raw.get(i + 1..i + 3)) {
            (b'#', Some(hex)) => match std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    i += 3;
                    b
                }
                None => {
                    i += 1;
                    b'#'
                }
            },
            (b, _) => {
                i += 1;
                b
            }
        };
        let Some(slot) = name.get_mut(len) else {
            return false;
        };
        *slot = b;
        len += 1;
    }
    matches!(&name[..len], b"JS" | b"JavaScript")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_javascript_and_near_misses() {
        assert!(pdf_has_javascript(
            b"%PDF-1.4\n<< /S /JavaScript /JS (app.alert(1)) >>"
        ));
        assert!(pdf_has_javascript(b"<</JS(x)>>"));
        assert!(pdf_has_javascript(b"/J#61vaScript"));
        assert!(pdf_has_javascript(b"/#4A#53 (x)"));
        assert!(!pdf_has_javascript(b"/JSON /JavaScripts /Type /Catalog"));
        assert!(!pdf_has_javascript(b"JavaScript without a slash"));
        assert!(!pdf_has_javascript(b"/"));
    }

    fn ole_with_entry(name: &str, at: usize) -> Vec<u8> {
        let mut data = vec![0u8; 4096];
        let utf16: Vec<u8> = name
            .encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect();
        data[at..at + utf16.len()].copy_from_slice(&utf16);
        data[at + 0x40..at + 0x42].copy_from_slice(&(utf16.len() as u16).to_le_bytes());
        data
    }

    #[test]
    fn ole2_macros_by_directory_entry() {
        assert!(ole2_has_macros(&ole_with_entry("_VBA_PROJECT", 1024)));
        assert!(ole2_has_macros(&ole_with_entry("VBA", 1536 + 128)));
        assert!(!ole2_has_macros(&ole_with_entry("WordDocument", 1024)));
        assert!(
            !ole2_has_macros(&ole_with_entry("VBA", 1030)),
            "not aligned"
        );
    }

    #[test]
    fn vba_project_members() {
        assert!(is_vba_project_member("word/vbaProject.bin"));
        assert!(is_vba_project_member("xl/VBAPROJECT.BIN"));
        assert!(!is_vba_project_member("word/document.xml"));
    }
}

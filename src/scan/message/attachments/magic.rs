//! What a file is, by its content: our own table of the formats that matter
//! to a mail filter. Not the `infer` crate: this table is small, bounded
//! (it reads fixed offsets, at most the first 36 KiB, and the last 512
//! octets), and every entry here is one we decided on and can audit,
//! including the checks a generic sniffer skips (a PE header behind `MZ`,
//! Mach-O fat headers told from Java classes, MSI inside OLE2, ISO 9660 at
//! its sector 16, VHD footers).

/// A file format the attachment rules care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Windows PE executable or DLL (`MZ` with a `PE\0\0` header).
    Pe,
    /// ELF executable or library.
    Elf,
    /// Mach-O executable, thin or fat.
    MachO,
    /// OLE2 compound file: legacy Office documents (.doc, .xls, .ppt), .msg.
    Ole2,
    /// Windows Installer package (OLE2 with the MSI class id).
    Msi,
    /// Windows shortcut (.lnk).
    Lnk,
    /// Zip archive (not known to be OOXML or JAR).
    Zip,
    /// Office Open XML document (a zip with `[Content_Types].xml`).
    Ooxml,
    /// Java archive (a zip with a manifest and classes).
    Jar,
    /// RAR archive, v4 or v5.
    Rar,
    /// 7-Zip archive.
    SevenZip,
    /// gzip stream.
    Gzip,
    /// Microsoft cabinet.
    Cab,
    /// ISO 9660 or UDF image (`CD001` / `BEA01` at 0x8001).
    Iso,
    /// Other disk images: VHD, VHDX, DMG, and raw FAT/NTFS images (IMG).
    DiskImage,
    /// PDF document.
    Pdf,
    /// Rich Text Format.
    Rtf,
    /// A script with a `#!` line.
    Script,
    /// An HTML document.
    Html,
}

impl FileKind {
    /// Runs by itself when opened: executables, installers, shortcuts, JARs.
    pub(super) fn is_executable(self) -> bool {
        matches!(
            self,
            FileKind::Pe
                | FileKind::Elf
                | FileKind::MachO
                | FileKind::Msi
                | FileKind::Lnk
                | FileKind::Jar
        )
    }

    /// The kind's name in evidence.
    pub(super) fn name(self) -> &'static str {
        match self {
            FileKind::Pe => "PE executable",
            FileKind::Elf => "ELF executable",
            FileKind::MachO => "Mach-O executable",
            FileKind::Ole2 => "OLE2 document",
            FileKind::Msi => "MSI installer",
            FileKind::Lnk => "Windows shortcut",
            FileKind::Zip => "zip",
            FileKind::Ooxml => "OOXML document",
            FileKind::Jar => "Java archive",
            FileKind::Rar => "RAR",
            FileKind::SevenZip => "7-Zip",
            FileKind::Gzip => "gzip",
            FileKind::Cab => "cabinet",
            FileKind::Iso => "ISO image",
            FileKind::DiskImage => "disk image",
            FileKind::Pdf => "PDF",
            FileKind::Rtf => "RTF",
            FileKind::Script => "script",
            FileKind::Html => "HTML",
        }
    }
}

/// The OLE2 compound file signature.
const OLE2: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The kind of `data`, or None for anything not in the table (images,
/// text, media...). A zip is reported as [`FileKind::Zip`]; listing its
/// members may tell OOXML or JAR apart.
pub(super) fn sniff(data: &[u8]) -> Option<FileKind> {
    let at = |offset: usize, magic: &[u8]| data.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"MZ") {
        return is_pe(data).then_some(FileKind::Pe);
    }
    if at(0, b"\x7FELF") {
        return Some(FileKind::Elf);
    }
    if [
        b"\xFE\xED\xFA\xCE",
        b"\xFE\xED\xFA\xCF",
        b"\xCE\xFA\xED\xFE",
        b"\xCF\xFA\xED\xFE",
    ]
    .iter()
    .any(|m| at(0, *m))
    {
        return Some(FileKind::MachO);
    }
    if at(0, b"\xCA\xFE\xBA\xBE") {
        // Fat Mach-O counts its architectures here; a Java class has its
        // version (45 and up) in the same place.
        let count = data
            .get(4..8)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        return count
            .is_some_and(|n| (1..45).contains(&n))
            .then_some(FileKind::MachO);
    }
    if at(0, OLE2) {
        return Some(if is_msi(data) {
            FileKind::Msi
        } else {
            FileKind::Ole2
        });
    }
    if at(0, b"L\0\0\0\x01\x14\x02\0\0\0\0\0\xC0\0\0\0\0\0\0\x46") {
        return Some(FileKind::Lnk);
    }
    if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") || at(0, b"PK\x07\x08") {
        return Some(FileKind::Zip);
    }
    if at(0, b"Rar!\x1A\x07") {
        return Some(FileKind::Rar);
    }
    if at(0, b"7z\xBC\xAF\x27\x1C") {
        return Some(FileKind::SevenZip);
    }
    if at(0, b"\x1F\x8B\x08") {
        return Some(FileKind::Gzip);
    }
    if at(0, b"MSCF\0\0\0\0") {
        return Some(FileKind::Cab);
    }
    if [0x8001, 0x8801, 0x9001]
        .iter()
        .any(|&o| at(o, b"CD001") || at(o, b"BEA01"))
    {
        return Some(FileKind::Iso);
    }
    if is_disk_image(data) {
        return Some(FileKind::DiskImage);
    }
    if memchr::memmem::find(&data[..data.len().min(1024)], b"%PDF-").is_some() {
        return Some(FileKind::Pdf);
    }
    if at(0, b"{\\rtf") {
        return Some(FileKind::Rtf);
    }
    if at(0, b"#!") {
        return Some(FileKind::Script);
    }
    is_html(data).then_some(FileKind::Html)
}

/// `MZ`, and at the offset the DOS header gives (0x3C), `PE\0\0`.
fn is_pe(data: &[u8]) -> bool {
    let Some(b) = data.get(0x3C..0x40) else {
        return false;
    };
    let offset = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    data.get(offset..offset.saturating_add(4)) == Some(b"PE\0\0")
}

/// An OLE2 file whose root storage has the Windows Installer class id
/// (package, patch or transform): the root directory entry is the first in
/// the first directory sector, and its CLSID sits 0x50 into it.
fn is_msi(data: &[u8]) -> bool {
    let read = |offset: usize, len: usize| data.get(offset..offset + len);
    let (Some(shift), Some(first)) = (read(0x1E, 2), read(0x30, 4)) else {
        return false;
    };
    let shift = u16::from_le_bytes([shift[0], shift[1]]);
    if !(7..=16).contains(&shift) {
        return false;
    }
    let first = u64::from(u32::from_le_bytes([first[0], first[1], first[2], first[3]]));
    let Ok(root) = usize::try_from((first + 1) << shift) else {
        return false;
    };
    let Some(clsid) = read(root.saturating_add(0x50), 16) else {
        return false;
    };
    // {000C1084-...} package, 1086 patch, 1082 transform, stored little-endian.
    matches!(clsid[0], 0x82 | 0x84 | 0x86)
        && clsid[1..] == *b"\x10\x0C\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46"
}

/// VHDX (`vhdxfile` first), VHD (`conectix` in the footer, or first for a
/// dynamic disk), DMG (`koly` trailer), or a FAT/NTFS/exFAT boot sector.
fn is_disk_image(data: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| data.get(offset..offset + magic.len()) == Some(magic);
    let footer = data.len().saturating_sub(512);
    if at(0, b"vhdxfile") || at(0, b"conectix") || (data.len() >= 512 && at(footer, b"conectix")) {
        return true;
    }
    if data.len() >= 512 && at(footer, b"koly") {
        return true;
    }
    at(510, b"\x55\xAA")
        && (at(54, b"FAT12   ")
            || at(54, b"FAT16   ")
            || at(82, b"FAT32   ")
            || at(3, b"NTFS    ")
            || at(3, b"EXFAT   "))
}

/// Starts (after blanks and a UTF-8 BOM) with a tag only HTML opens with.
fn is_html(data: &[u8]) -> bool {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    let head = &data[start..data.len().min(start + 16)];
    [
        &b"<!doctype html"[..],
        b"<html",
        b"<head",
        b"<body",
        b"<script",
        b"<iframe",
        b"<meta",
    ]
    .iter()
    .any(|tag| head.len() >= tag.len() && head[..tag.len()].eq_ignore_ascii_case(tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::message::fixtures::minimal_pe as pe;

    #[test]
    fn executables() {
        assert_eq!(sniff(&pe()), Some(FileKind::Pe));
        assert_eq!(sniff(b"MZ but no header"), None);
        assert_eq!(sniff(b"\x7FELF\x02\x01\x01"), Some(FileKind::Elf));
        assert_eq!(
            sniff(b"\xCF\xFA\xED\xFE\x07\0\0\x01"),
            Some(FileKind::MachO)
        );
        assert_eq!(sniff(b"\xCA\xFE\xBA\xBE\0\0\0\x02"), Some(FileKind::MachO));
        assert_eq!(sniff(b"\xCA\xFE\xBA\xBE\0\0\0\x34"), None, "a Java class");
    }

    #[test]
    fn ole2_and_msi() {
        let mut ole = vec![0u8; 2048];
        ole[..8].copy_from_slice(OLE2);
        ole[0x1E] = 9; // 512-octet sectors
        ole[0x30] = 1; // directory at sector 1: offset 1024
        assert_eq!(sniff(&ole), Some(FileKind::Ole2));
        ole[1024 + 0x50..1024 + 0x60]
            .copy_from_slice(b"\x84\x10\x0C\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46");
        assert_eq!(sniff(&ole), Some(FileKind::Msi));
        ole[0x30] = 0xFF; // directory past the end
        assert_eq!(sniff(&ole), Some(FileKind::Ole2));
    }

    #[test]
    fn archives_and_images() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(FileKind::Zip));
        assert_eq!(sniff(b"Rar!\x1A\x07\x01\x00"), Some(FileKind::Rar));
        assert_eq!(sniff(b"7z\xBC\xAF\x27\x1C\0\x04"), Some(FileKind::SevenZip));
        assert_eq!(sniff(b"\x1F\x8B\x08\0"), Some(FileKind::Gzip));
        let mut iso = vec![0u8; 0x8800];
        iso[0x8001..0x8006].copy_from_slice(b"CD001");
        assert_eq!(sniff(&iso), Some(FileKind::Iso));
        let mut vhd = vec![0u8; 4096];
        vhd[4096 - 512..4096 - 504].copy_from_slice(b"conectix");
        assert_eq!(sniff(&vhd), Some(FileKind::DiskImage));
        let mut fat = vec![0u8; 1024];
        fat[54..62].copy_from_slice(b"FAT12   ");
        fat[510..512].copy_from_slice(b"\x55\xAA");
        assert_eq!(sniff(&fat), Some(FileKind::DiskImage));
    }

    #[test]
    fn documents_and_text() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(sniff(b"junk\r\n%PDF-1.4"), Some(FileKind::Pdf));
        assert_eq!(sniff(b"{\\rtf1\\ansi"), Some(FileKind::Rtf));
        assert_eq!(sniff(b"#!/bin/sh\n"), Some(FileKind::Script));
        assert_eq!(
            sniff(b"\xEF\xBB\xBF\n <!DOCTYPE HTML>"),
            Some(FileKind::Html)
        );
        assert_eq!(sniff(b"<HTML><body>"), Some(FileKind::Html));
        assert_eq!(sniff(b"hello <html>"), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(sniff(b""), None);
    }
}

//! Messages built in memory for tests, benches and the `bombs` example: the
//! four bombs of the acceptance criteria, and the zips and attachments the
//! attachment rules are tested with. Nothing here reads a file.

use std::fmt::Write as _;

/// The four bombs at their acceptance sizes, each with a file name: MIME
/// nested 1,000 deep, 100,000 parts, a zip declaring 1 GiB, and a 10 MiB
/// header line. `examples/bombs.rs` writes them out.
pub fn acceptance() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("nested-mime-1000.eml", nested_mime(1_000)),
        ("parts-100000.eml", many_parts(100_000)),
        ("zip-bomb-1gib.eml", zip_bomb(1 << 30)),
        ("header-line-10mib.eml", long_header(10 << 20)),
    ]
}

const HEADER: &str = "From: bombs@example.test\r\nTo: victim@example.test\r\nMIME-Version: 1.0\r\n";

/// multipart/mixed nested `depth` levels below the message, a text part at
/// the bottom.
pub fn nested_mime(depth: usize) -> Vec<u8> {
    let mut m = format!(
        "{HEADER}Subject: MIME nested {depth} deep\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"
    );
    for i in 1..=depth {
        let _ = write!(
            m,
            "--b{}\r\nContent-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n",
            i - 1
        );
    }
    let _ = write!(
        m,
        "--b{depth}\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n"
    );
    for i in (0..=depth).rev() {
        let _ = write!(m, "--b{i}--\r\n");
    }
    m.into_bytes()
}

/// One multipart/mixed with `parts` small text parts.
pub fn many_parts(parts: usize) -> Vec<u8> {
    let mut m = format!(
        "{HEADER}Subject: {parts} parts\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n"
    );
    for i in 0..parts {
        let _ = write!(m, "--p\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n");
    }
    m.push_str("--p--\r\n");
    m.into_bytes()
}

/// A message whose header has one `Subject` line of `len` octets.
pub fn long_header(len: usize) -> Vec<u8> {
    let mut m = format!("{HEADER}Subject: ").into_bytes();
    m.resize(m.len() + len, b'A');
    m.extend_from_slice(b"\r\n\r\nbody\r\n");
    m
}

/// A message with a zip attachment whose members declare `uncompressed`
/// octets in all: members of up to 128 MiB of zeros, each a real deflate
/// stream (about 1/158 of its size), all of them pointing at one stored
/// copy of that stream (the overlapping-member form of zip bomb), so 1 GiB
/// fits in about 1.2 MB of message.
pub fn zip_bomb(uncompressed: u64) -> Vec<u8> {
    const MEMBER: u64 = 128 << 20;
    let members = uncompressed.div_ceil(MEMBER).max(1);
    let per_member = uncompressed / members;
    let runs = per_member.saturating_sub(1) / 258;
    let size = 1 + runs * 258;
    let kernel = deflate_zeros(runs);
    let crc = crc32_of_zeros(size);
    let names: Vec<String> = (1..=members).map(|i| format!("zeros-{i}.bin")).collect();
    let entry = RawEntry {
        name: &names[0],
        method: 8,
        flags: 0,
        crc,
        compressed: u32::try_from(kernel.len()).unwrap_or(u32::MAX),
        size: u32::try_from(size).unwrap_or(u32::MAX),
        offset: 0,
    };
    let mut zip = Vec::with_capacity(kernel.len() + 4096);
    entry.local(&mut zip);
    zip.extend_from_slice(&kernel);
    let cd_start = zip.len();
    for name in &names {
        RawEntry { name, ..entry }.central(&mut zip);
    }
    end_of_directory(&mut zip, names.len(), cd_start);
    message_with_attachment("bomb.zip", "application/zip", &zip)
}

/// A zip member for [`stored_zip`].
#[derive(Debug, Clone, Copy)]
pub struct ZipMember<'a> {
    /// The member's path in the archive.
    pub name: &'a str,
    /// Its content, stored uncompressed.
    pub data: &'a [u8],
    /// Marked password-protected (the general-purpose flag bit 0).
    pub encrypted: bool,
}

/// A zip of stored (uncompressed) members.
pub fn stored_zip(members: &[ZipMember<'_>]) -> Vec<u8> {
    let mut zip = Vec::new();
    let mut entries = Vec::new();
    for member in members {
        let entry = RawEntry {
            name: member.name,
            method: 0,
            flags: u16::from(member.encrypted),
            crc: crc32(member.data),
            compressed: u32::try_from(member.data.len()).unwrap_or(u32::MAX),
            size: u32::try_from(member.data.len()).unwrap_or(u32::MAX),
            offset: u32::try_from(zip.len()).unwrap_or(u32::MAX),
        };
        entry.local(&mut zip);
        zip.extend_from_slice(member.data);
        entries.push(entry);
    }
    let cd_start = zip.len();
    for entry in &entries {
        entry.central(&mut zip);
    }
    end_of_directory(&mut zip, entries.len(), cd_start);
    zip
}

/// A message with a text part and `content` attached as `name`, base64.
pub fn message_with_attachment(name: &str, mime_type: &str, content: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "{HEADER}Subject: attachment {name}\r\n\
         Content-Type: multipart/mixed; boundary=\"att\"\r\n\r\n\
         --att\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n\
         --att\r\nContent-Type: {mime_type}; name=\"{name}\"\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    base64_lines(content, &mut m);
    m.extend_from_slice(b"--att--\r\n");
    m
}

/// The smallest file that sniffs as a Windows executable: `MZ`, the PE
/// header offset at 0x3C, `PE\0\0` there.
pub fn minimal_pe() -> Vec<u8> {
    let mut pe = vec![0u8; 0x80];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3C] = 0x40;
    pe[0x40..0x44].copy_from_slice(b"PE\0\0");
    pe
}

/// One zip entry's fields, as both its local and central headers carry them.
#[derive(Clone, Copy)]
struct RawEntry<'a> {
    name: &'a str,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
}

impl RawEntry<'_> {
    fn local(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        self.common(out);
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        out.extend_from_slice(self.name.as_bytes());
    }

    fn central(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // made by
        self.common(out);
        // Extra, comment, disk, internal and external attributes.
        out.extend_from_slice(&[0; 12]);
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
    }

    /// From "version needed" to the name length, shared by both headers.
    fn common(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x21u16.to_le_bytes()); // 1980-01-01
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.extend_from_slice(&self.compressed.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        let name_len = u16::try_from(self.name.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&name_len.to_le_bytes());
    }
}

fn end_of_directory(zip: &mut Vec<u8>, entries: usize, cd_start: usize) {
    let entries = u16::try_from(entries).unwrap_or(u16::MAX);
    let cd_size = u32::try_from(zip.len() - cd_start).unwrap_or(u32::MAX);
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[0; 4]); // this disk, the directory's disk
    zip.extend_from_slice(&entries.to_le_bytes());
    zip.extend_from_slice(&entries.to_le_bytes());
    zip.extend_from_slice(&cd_size.to_le_bytes());
    zip.extend_from_slice(&u32::try_from(cd_start).unwrap_or(u32::MAX).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes()); // comment length
}

/// A deflate stream (one fixed-Huffman block) of `1 + 258 * runs` zeros: a
/// literal zero, then `runs` copies of "length 258, distance 1".
fn deflate_zeros(runs: u64) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.bits(1, 1); // BFINAL
    w.bits(1, 2); // BTYPE 01: fixed Huffman codes
    w.code(0x30, 8); // literal 0
    for _ in 0..runs {
        w.code(0xC5, 8); // symbol 285: length 258
        w.code(0, 5); // distance code 0: distance 1
    }
    w.code(0, 7); // symbol 256: end of block
    w.finish()
}

/// Deflate's bit order: values LSB first, Huffman codes MSB first.
#[derive(Default)]
struct BitWriter {
    acc: u64,
    len: u32,
    out: Vec<u8>,
}

impl BitWriter {
    fn bits(&mut self, value: u64, len: u32) {
        self.acc |= value << self.len;
        self.len += len;
        while self.len >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.len -= 8;
        }
    }

    fn code(&mut self, code: u64, len: u32) {
        self.bits(code.reverse_bits() >> (64 - len), len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// The CRC-32 polynomial, bit-reflected.
const CRC_POLY: u32 = 0xEDB8_8320;

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ CRC_POLY
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The CRC-32 of `n` zero octets without reading them: zeros multiply the
/// CRC register by x^(8n) modulo the polynomial, computed by squaring.
fn crc32_of_zeros(n: u64) -> u32 {
    // In the reflected form the top bit is x^0.
    let mut power = 1u32 << 31;
    let mut square = 1u32 << (31 - 8); // x^8: one octet
    let mut n = n;
    while n != 0 {
        if n & 1 != 0 {
            power = gf2_mul(power, square);
        }
        square = gf2_mul(square, square);
        n >>= 1;
    }
    !gf2_mul(power, !0)
}

/// a × b modulo the CRC polynomial, both bit-reflected.
fn gf2_mul(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = 1u32 << 31;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 {
            (b >> 1) ^ CRC_POLY
        } else {
            b >> 1
        };
        bit >>= 1;
    }
    product
}

/// Base64 in 76-character CRLF lines, as MIME writes it.
fn base64_lines(data: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for line in data.chunks(57) {
        for chunk in line.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]);
                } else {
                    out.push(b'=');
                }
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_of_zeros_matches_the_bytewise_crc() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        for n in [0usize, 1, 2, 7, 258, 1000, 4097] {
            assert_eq!(crc32_of_zeros(n as u64), crc32(&vec![0; n]), "n = {n}");
        }
    }

    #[test]
    fn the_deflate_kernel_inflates_to_its_zeros() {
        let kernel = deflate_zeros(1_000);
        let zeros = miniz_oxide::inflate::decompress_to_vec(&kernel).expect("valid deflate");
        assert_eq!(zeros.len(), 1 + 258 * 1_000);
        assert!(zeros.iter().all(|&b| b == 0));
    }

    #[test]
    fn base64_lines_decode_back() {
        for len in [0, 1, 2, 3, 57, 58, 200] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut out = Vec::new();
            base64_lines(&data, &mut out);
            let decoded = mail_parser::decoders::base64::base64_decode(&out).unwrap();
            assert_eq!(decoded, data);
        }
    }

    #[test]
    fn the_zip_bomb_stays_small() {
        let bomb = zip_bomb(1 << 30);
        assert!(bomb.len() < 5 << 20, "{} octets", bomb.len());
    }
}

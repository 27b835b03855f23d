//! Zip members listed from the central directory, never decompressed: the
//! names, the encryption flag and the declared sizes are all there, so a
//! zip bomb is judged by what it declares and costs what its directory
//! occupies.
//!
//! The walk is the `zip` crate's `ZipIterable` (behind its `unstable`
//! module, hence the exact version pin in Cargo.toml): it reads one central
//! directory entry at a time instead of indexing every entry first as
//! `ZipArchive` does, so examining the first `zip_members` entries costs
//! that many entries however many the archive declares.

use std::io::Cursor;

use zip::read::Config;
use zip::unstable::read::ZipIterable;

/// The longest member name kept, in characters.
const MAX_NAME: usize = 255;

/// Members smaller than this are never judged by their ratio: a small file
/// cannot be a bomb, and text compresses well.
pub(super) const RATIO_MIN_SIZE: u64 = 1 << 20;

/// What a zip's central directory declares.
#[derive(Debug, Default)]
pub(super) struct Listing {
    /// Member names (at most `zip_members`, each at most 255 characters).
    pub names: Vec<String>,
    /// A member is password-protected.
    pub encrypted: Option<String>,
    /// The member with the highest uncompressed/compressed ratio among
    /// those of at least [`RATIO_MIN_SIZE`]: name, size, compressed size.
    pub worst_ratio: Option<(String, u64, u64)>,
    /// Uncompressed octets declared by the members examined.
    pub total: u64,
}

/// Lists `data`'s members; None when it has no readable central directory.
pub(super) fn list(data: &[u8], max_members: usize) -> Option<Listing> {
    let mut archive = ZipIterable::try_new(Cursor::new(data), Config::default()).ok()?;
    let mut listing = Listing::default();
    let mut worst = 0.0f64;
    for entry in archive.files().ok()?.take(max_members) {
        let Ok(entry) = entry else { break };
        let name: String = match entry.name() {
            Ok(name) => name.chars().take(MAX_NAME).collect(),
            Err(_) => String::from_utf8_lossy(entry.name_raw())
                .chars()
                .take(MAX_NAME)
                .collect(),
        };
        let (size, compressed) = (entry.size(), entry.compressed_size());
        listing.total = listing.total.saturating_add(size);
        if entry.encrypted() && listing.encrypted.is_none() {
            listing.encrypted = Some(name.clone());
        }
        if size >= RATIO_MIN_SIZE {
            let ratio = size as f64 / compressed.max(1) as f64;
            if ratio > worst {
                worst = ratio;
                listing.worst_ratio = Some((name.clone(), size, compressed));
            }
        }
        listing.names.push(name);
    }
    Some(listing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::message::fixtures::{ZipMember, stored_zip};

    #[test]
    fn members_are_listed_with_their_flags() {
        let zip = stored_zip(&[
            ZipMember {
                name: "a.txt",
                data: b"hello",
                encrypted: false,
            },
            ZipMember {
                name: "dir/b.exe",
                data: b"MZ",
                encrypted: true,
            },
        ]);
        let listing = list(&zip, 10).expect("a readable zip");
        assert_eq!(listing.names, ["a.txt", "dir/b.exe"]);
        assert_eq!(listing.encrypted.as_deref(), Some("dir/b.exe"));
        assert_eq!(listing.total, 7);
        assert!(listing.worst_ratio.is_none());
    }

    #[test]
    fn the_listing_is_bounded() {
        let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
        let members: Vec<ZipMember<'_>> = names
            .iter()
            .map(|n| ZipMember {
                name: n,
                data: b"x",
                encrypted: false,
            })
            .collect();
        let listing = list(&stored_zip(&members), 10).unwrap();
        assert_eq!(listing.names.len(), 10);
    }

    #[test]
    fn what_is_not_a_zip() {
        assert!(list(b"PK\x03\x04 truncated", 10).is_none());
        assert!(list(b"", 10).is_none());
    }
}

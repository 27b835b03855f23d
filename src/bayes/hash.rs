//! The token hash: a fixed function from token text to a `u64`, stable
//! across runs, machines and Rust releases, because the hashes are the keys
//! of the stored token database.
//!
//! `std::hash::DefaultHasher` is documented as unstable across releases (and
//! `RandomState` is seeded per process), so it cannot key stored data. The
//! function here is FNV-1a over the bytes (seeded, so a ringwall database is
//! not keyed like every other FNV user's) followed by the MurmurHash3
//! 64-bit finaliser, which spreads FNV's weak high bits over the whole word:
//! the keys are then uniform enough to be their own hash-table hash (see
//! [`TokenHasher`]). A dependency such as `xxhash-rust` would be faster per
//! byte, but tokens are a few bytes long, where FNV-1a is as fast, and
//! twenty lines need no crate.

use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a's 64-bit offset basis, xored with a seed of our own ("ringwall"
/// in ASCII). Changing it invalidates every stored database.
const SEED: u64 = 0xcbf2_9ce4_8422_2325 ^ 0x7269_6e67_7761_6c6c;
/// FNV-1a's 64-bit prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An incremental token hash: feed the prefix, then the folded word, then
/// [`TokenHash::finish`].
#[derive(Debug, Clone, Copy)]
pub(super) struct TokenHash(u64);

impl TokenHash {
    /// A hash of nothing yet.
    pub(super) fn new() -> TokenHash {
        TokenHash(SEED)
    }

    /// Feeds `bytes`: feeding `a` then `b` equals feeding `ab`.
    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(PRIME);
        }
    }

    /// The token's key.
    pub(super) fn finish(self) -> u64 {
        fmix64(self.0)
    }
}

/// The hash of a word pair, from the two words' hashes.
pub(super) fn pair(first: u64, second: u64) -> u64 {
    let mut h = TokenHash::new();
    h.bytes(b"\xffpair\xff");
    h.bytes(&first.to_le_bytes());
    h.bytes(&second.to_le_bytes());
    h.finish()
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// A `Hasher` for maps keyed by token hashes: the key is already a uniform
/// 64-bit hash, so hashing it again (SipHash, the std default) would only
/// cost time.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokenHasher(u64);

impl Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is meant to be called (the keys are `u64`); any
        // other key type still gets a correct, if slow, hash.
        let mut h = TokenHash(self.0 ^ SEED);
        h.bytes(bytes);
        self.0 = h.finish();
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

/// Builds [`TokenHasher`]s, for `HashMap<u64, _, TokenHashBuilder>`.
pub type TokenHashBuilder = BuildHasherDefault<TokenHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(text: &str) -> u64 {
        let mut h = TokenHash::new();
        h.bytes(text.as_bytes());
        h.finish()
    }

    #[test]
    fn hashes_are_fixed_values() {
        // Stored databases are keyed by these: a change here is a format
        // change and must be deliberate.
        assert_eq!(hash(""), fmix64(SEED));
        assert_eq!(hash("viagra"), 0x930a_9c23_46d1_cf11);
        assert_eq!(pair(1, 2), 0x92e7_0b33_7795_7dd8);
    }

    #[test]
    fn incremental_feeding_equals_one_feed() {
        let mut h = TokenHash::new();
        h.bytes(b"s:");
        h.bytes(b"free");
        assert_eq!(h.finish(), hash("s:free"));
        assert_ne!(hash("s:free"), hash("free"));
    }
}

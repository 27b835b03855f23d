//! A stable hash: the same bytes give the same number on every run, build
//! and machine.
//!
//! The emulator decides whether a name is listed, and which queries to drop,
//! from this hash instead of a random source, so the same IP or domain
//! always gets the same answer and a benchmark or a failing test can be
//! replayed exactly. `std`'s hasher is randomly keyed per process, which is
//! the opposite of what is wanted here.

/// FNV-1a's 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a's 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Hashes `parts` as one sequence, with a separator between parts so that
/// `["ab", "c"]` and `["a", "bc"]` differ.
///
/// FNV-1a walks the bytes; its high bits mix poorly for short, similar keys
/// (IPs that differ in one digit), so a final avalanche step (MurmurHash3's
/// 64-bit finaliser) spreads every input bit over the whole result.
pub(crate) fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut hash = FNV_OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash = (hash ^ 0xff).wrapping_mul(FNV_PRIME);
        }
        for &byte in *part {
            hash = (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// Maps a hash to `[0, 1)`, with the 53 bits an `f64` holds, for comparing
/// against a rate.
pub(crate) fn unit(hash: u64) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    (hash >> 11) as f64 * SCALE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_input_same_hash_and_parts_are_separated() {
        assert_eq!(
            stable_hash(&[b"zen.test", b"2.0.0.127"]),
            stable_hash(&[b"zen.test", b"2.0.0.127"])
        );
        assert_ne!(stable_hash(&[b"ab", b"c"]), stable_hash(&[b"a", b"bc"]));
        assert_ne!(stable_hash(&[b"abc"]), stable_hash(&[b"ab", b"c"]));
    }

    #[test]
    fn pinned_values_never_change() {
        // Listing decisions must survive refactors: a changed hash would
        // silently list other names in recorded benchmarks.
        assert_eq!(stable_hash(&[]), 0xefd0_1f60_ba99_2926);
        assert_eq!(
            stable_hash(&[b"zen.test", b"2.0.0.127"]),
            0xecc0_064b_cec9_ee3d
        );
        assert_eq!(
            stable_hash(&[b"dbl.test", b"example.com"]),
            0x04b5_ac7b_f6f0_20bc
        );
    }

    #[test]
    fn similar_keys_spread_evenly() {
        let below_half = (0..10_000u32)
            .map(|n| format!("{}.{}.0.10", n % 256, n / 256))
            .filter(|key| unit(stable_hash(&[b"zen.test", key.as_bytes()])) < 0.5)
            .count();
        assert!((4_750..5_250).contains(&below_half), "{below_half}");
    }
}

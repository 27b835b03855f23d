//! A tiny seeded random source (SplitMix64) for failure injection.
//!
//! The sink only needs cheap, reproducible uniform draws; a full RNG crate
//! would be a dependency for ten lines of well-known arithmetic.

/// Golden-ratio increment of SplitMix64: consecutive states stay far apart.
const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A reproducible stream of pseudo-random numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A stream fully determined by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for one `stream` id under `seed`: each session
    /// gets its own, so its draws do not depend on what other sessions did.
    pub(crate) fn for_stream(seed: u64, stream: u64) -> Self {
        Self::new(mix(seed ^ mix(stream.wrapping_add(GAMMA))))
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A uniform draw in `[0, 1)`, with the 53 bits an `f64` can hold.
    pub(crate) fn next_f64(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }
}

/// SplitMix64's output function: spreads every input bit over the output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = SplitMix64::for_stream(1, 42);
        let mut b = SplitMix64::for_stream(1, 42);
        let mut c = SplitMix64::for_stream(1, 43);
        let (xa, xb, xc) = (a.next_u64(), b.next_u64(), c.next_u64());
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn draws_stay_in_unit_interval() {
        let mut dice = SplitMix64::new(0);
        for _ in 0..10_000 {
            let x = dice.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}

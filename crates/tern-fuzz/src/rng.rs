// SPDX-License-Identifier: MIT OR Apache-2.0
//! The fuzzer's PRNG: SplitMix64, fixed forever so that a seed replays the same choices.

/// Finalizer of SplitMix64: a good 64-bit mixing function.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    #[cfg(test)]
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for (`a`, `b`) under `seed`, e.g. one per process and thread.
    pub fn derive(seed: u64, a: u64, b: u64) -> Rng {
        Rng(mix(seed
            ^ mix(a.wrapping_add(0x1000))
            ^ mix(b.wrapping_add(0x2000_0000))))
    }

    /// Next 64 random bits.
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Next 32 random bits.
    pub fn u32(&mut self) -> u32 {
        (self.u64() >> 32) as u32
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// A random element (None for an empty slice).
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            None
        } else {
            v.get(self.below(v.len() as u64) as usize)
        }
    }

    /// Index chosen with the given weights (0 when all are zero).
    pub fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u64 = w.iter().map(|&x| u64::from(x)).sum();
        let mut r = self.below(total);
        for (i, &x) in w.iter().enumerate() {
            if r < u64::from(x) {
                return i;
            }
            r -= u64::from(x);
        }
        0
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let w = self.u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }

    /// A value that is often interesting at a boundary: 0, 1, all ones, powers of two and
    /// their neighbours, or plain random bits.
    pub fn edgy(&mut self) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => 1u64 << self.below(64),
            4 => (1u64 << self.below(64)).wrapping_sub(1),
            5 => (1u64 << self.below(64)).wrapping_add(1),
            6 => self.below(4096),
            _ => self.u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(0x1234);
        let mut b = Rng::new(0x1234);
        let xs: Vec<u64> = (0..100).map(|_| a.u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(1).u64(), Rng::new(2).u64());
    }

    #[test]
    fn stream_is_fixed_forever() {
        // SplitMix64 reference values for seed 0: a replay must not depend on the version.
        let mut r = Rng::new(0);
        assert_eq!(r.u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn derived_streams_differ_and_replay() {
        let x = Rng::derive(7, 0, 0).u64();
        assert_eq!(x, Rng::derive(7, 0, 0).u64());
        assert_ne!(x, Rng::derive(7, 0, 1).u64());
        assert_ne!(x, Rng::derive(7, 1, 0).u64());
    }

    #[test]
    fn bounds_hold() {
        let mut r = Rng::new(99);
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            assert!(r.weighted(&[0, 3, 0, 1]) % 2 == 1);
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.pick::<u8>(&[]), None);
    }
}

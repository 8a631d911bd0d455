//! CPython's `random` module, as far as the original scripts use it (`random.seed(int)`,
//! `random.sample`, `random.shuffle`, `random.random`), so that the official validation splits
//! come out exactly as the original drew them.
//!
//! The generator is MT19937 (the `rand_mt` crate), seeded the way CPython seeds it from an
//! integer (`init_by_array` over the 32-bit words of |seed|); the draws follow CPython 3.9's
//! `_randbelow_with_getrandbits`, `sample` (pool- or set-based) and `shuffle`.

use rand_mt::Mt;

/// A CPython-compatible random stream.
pub struct PythonRandom {
    mt: Mt,
}

impl PythonRandom {
    /// `random.seed(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> Self {
        let mut key: Vec<u32> = Vec::new();
        let mut rest = seed;
        while rest > 0 {
            key.push(rest as u32);
            rest >>= 32;
        }
        if key.is_empty() {
            key.push(0);
        }
        PythonRandom {
            mt: Mt::new_with_key(key),
        }
    }

    /// `random.getrandbits(k)` for 1 <= k <= 32.
    fn bits(&mut self, k: u32) -> u32 {
        self.mt.next_u32() >> (32 - k)
    }

    /// `random._randbelow(n)`: uniform in `0..n` by rejection on `bit_length(n)` bits.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let k = usize::BITS - n.leading_zeros();
        assert!(k <= 32, "populations above 2^32 are not drawn here");
        loop {
            let r = self.bits(k) as usize;
            if r < n {
                return r;
            }
        }
    }

    /// `random.random()`: 53 random bits in [0, 1).
    pub fn random(&mut self) -> f64 {
        let a = (self.mt.next_u32() >> 5) as f64;
        let b = (self.mt.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `random.shuffle(items)`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `random.sample(range(n), k)`: the drawn indices, in drawing order.
    pub fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        assert!(k <= n, "sample larger than population");
        let mut setsize = 21usize;
        if k > 5 {
            // 4 ** ceil(log(3k, 4)), with CPython's floating-point logarithm.
            let exponent = ((k * 3) as f64).ln() / 4f64.ln();
            setsize += 4usize.pow(exponent.ceil() as u32);
        }
        let mut result = Vec::with_capacity(k);
        if n <= setsize {
            let mut pool: Vec<usize> = (0..n).collect();
            for i in 0..k {
                let j = self.below(n - i);
                result.push(pool[j]);
                pool[j] = pool[n - i - 1];
            }
        } else {
            let mut selected = std::collections::HashSet::new();
            for _ in 0..k {
                let mut j = self.below(n);
                while selected.contains(&j) {
                    j = self.below(n);
                }
                selected.insert(j);
                result.push(j);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split lists of original-system.md §2, computed there with CPython.
    #[test]
    fn isles_split_of_the_official_case_ids_with_seed_0() {
        let mut ids: Vec<String> = (1..=94).map(|i| format!("case_{i}")).collect();
        ids.sort();
        let mut rng = PythonRandom::new(0);
        let mut val: Vec<usize> = rng
            .sample_indices(ids.len(), 20)
            .into_iter()
            .map(|i| ids[i][5..].parse().unwrap())
            .collect();
        val.sort();
        assert_eq!(
            val,
            [4, 14, 20, 25, 34, 39, 42, 44, 50, 54, 56, 58, 65, 66, 68, 69, 71, 77, 81, 91]
        );
    }

    #[test]
    fn wmh_split_indices_with_seed_0() {
        let mut rng = PythonRandom::new(0);
        assert_eq!(
            rng.sample_indices(60, 10),
            [54, 24, 48, 56, 26, 2, 16, 32, 31, 25]
        );
    }

    #[test]
    fn acdc_split_with_seed_0() {
        let mut ids: Vec<usize> = (1..=100).collect();
        PythonRandom::new(0).shuffle(&mut ids);
        let mut val = ids[..25].to_vec();
        val.sort();
        assert_eq!(
            val,
            [
                2, 3, 7, 8, 9, 11, 12, 14, 17, 20, 24, 25, 42, 48, 49, 53, 55, 60, 64, 67, 79, 81,
                88, 92, 95
            ]
        );
    }

    #[test]
    fn random_matches_cpython_for_seed_42() {
        // python3 -c "import random; random.seed(42); print(random.random())"
        let x = PythonRandom::new(42).random();
        assert_eq!(x, 0.6394267984578837);
        // A seed over 32 bits is split into words, low word first.
        assert_eq!(
            PythonRandom::new((1 << 40) + 5).random(),
            0.5043802970418443
        );
    }
}

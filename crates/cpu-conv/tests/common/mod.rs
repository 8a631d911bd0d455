//! What the brute-force tests share.

/// Reproducible values in [-1, 1) from a small linear congruential generator.
pub fn values(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// [`values`] as `f32`.
pub fn values_f32(len: usize, seed: u64) -> Vec<f32> {
    values(len, seed).iter().map(|&v| v as f32).collect()
}

/// Asserts that `run` gives the same result in pools of 1, 2 and 5 threads.
pub fn assert_same_for_any_thread_count<R: PartialEq + std::fmt::Debug + Send>(
    run: impl Fn() -> R + Send + Sync,
) {
    let in_pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(&run)
    };
    let one = in_pool(1);
    assert_eq!(one, in_pool(2));
    assert_eq!(one, in_pool(5));
}

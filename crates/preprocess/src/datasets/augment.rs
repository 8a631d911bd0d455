//! Augmentation: each case draws its flips from its own seeded stream.

use ndarray::Axis;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A stable per-case random stream for augmentation, independent of thread scheduling (the
/// original's forked workers all drew the same flips).
pub(crate) fn case_rng(seed: u64, id: &str) -> ChaCha8Rng {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hash)
}

/// The original's `augment_arr`: with probability 1/2 flip both axes, with probability 1/2
/// flip left-right. Returns (flip both, flip columns).
pub(crate) fn draw_flips(rng: &mut ChaCha8Rng) -> (bool, bool) {
    (rng.random_bool(0.5), rng.random_bool(0.5))
}

/// Applies [`draw_flips`]'s flips to the last two axes of a view (no copy).
pub(crate) fn flip_view<A, D: ndarray::Dimension>(
    mut view: ndarray::ArrayView<'_, A, D>,
    (both, columns): (bool, bool),
) -> ndarray::ArrayView<'_, A, D> {
    let n = view.ndim();
    if both {
        view.invert_axis(Axis(n - 2));
        view.invert_axis(Axis(n - 1));
    }
    if columns {
        view.invert_axis(Axis(n - 1));
    }
    view
}

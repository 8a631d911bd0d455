//! Random tensors on the CPU backend draw the generator's words as `rand`'s samplers do one value
//! at a time: the flex patch draws Bernoulli masks (dropout) in bulk, and a training run's
//! dropout masks, hence its results for a given seed, must not depend on how they are drawn.

use burn::tensor::{Device, Distribution, Tensor};
use burn_rand::distr::{Bernoulli, StandardUniform};
use burn_rand::{RngExt, SeedableRng};

#[test]
fn bernoulli_and_uniform_tensors_follow_the_seeded_sequence() {
    let seed = 1234;
    let device = Device::flex();
    device.seed(seed);
    // Odd sizes, so that the bulk draws end halfway through a generator block.
    let shapes = [[3, 5, 7], [2, 17, 33], [1, 1, 1]];
    let mut reference = burn_rand::rngs::StdRng::seed_from_u64(seed);
    for (k, shape) in shapes.into_iter().enumerate() {
        let p = [0.5, 0.9, 0.1][k];
        let mask = Tensor::<3>::random(shape, Distribution::Bernoulli(p), &device);
        let uniform = Tensor::<3>::random(shape, Distribution::Default, &device);
        let count: usize = shape.iter().product();
        let bernoulli = Bernoulli::new(p).unwrap();
        let expected_mask: Vec<f32> = (0..count)
            .map(|_| {
                if reference.sample(bernoulli) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let expected_uniform: Vec<f32> = (0..count)
            .map(|_| reference.sample(StandardUniform))
            .collect();
        assert_eq!(
            mask.into_data().try_to_vec::<f32>().unwrap(),
            expected_mask,
            "Bernoulli({p}) mask of {shape:?}"
        );
        assert_eq!(
            uniform.into_data().try_to_vec::<f32>().unwrap(),
            expected_uniform,
            "uniform values of {shape:?} after the mask"
        );
    }
    certain_bernoulli_draws_nothing();
}

/// Called by the test above: both seed the backend's one generator, so they run in sequence.
fn certain_bernoulli_draws_nothing() {
    let device = Device::flex();
    device.seed(7);
    let ones = Tensor::<1>::random([10], Distribution::Bernoulli(1.0), &device);
    let after = Tensor::<1>::random([4], Distribution::Default, &device);
    let mut reference = burn_rand::rngs::StdRng::seed_from_u64(7);
    let expected: Vec<f32> = (0..4).map(|_| reference.sample(StandardUniform)).collect();
    assert_eq!(ones.into_data().try_to_vec::<f32>().unwrap(), vec![1.0; 10]);
    assert_eq!(after.into_data().try_to_vec::<f32>().unwrap(), expected);
}

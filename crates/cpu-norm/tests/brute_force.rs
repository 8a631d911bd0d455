//! Batch normalisation against its definition: direct loops in `f64` for the statistics, the
//! output and the gradients, central finite differences for the gradients, random shapes,
//! thread-count independence and refused inputs.

use cpu_norm::{BatchNorm, ShapeError, Statistics};
use proptest::prelude::*;

const EPSILON: f64 = 1e-5;

/// Reproducible values in `[offset - 1, offset + 1)` (a linear congruential generator).
fn values(len: usize, seed: u64, offset: f64) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            offset + ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Indices of channel `c`'s values, sample by sample.
fn channel_indices(norm: &BatchNorm, c: usize) -> Vec<usize> {
    (0..norm.batch)
        .flat_map(|n| {
            let start = (n * norm.channels + c) * norm.plane;
            start..start + norm.plane
        })
        .collect()
}

/// The definition, term by term: mean, biased variance, `y = (x - mean) / std * gamma + beta`.
fn reference_forward(
    norm: &BatchNorm,
    x: &[f64],
    gamma: &[f64],
    beta: &[f64],
) -> (Vec<f64>, Statistics<f64>) {
    let mut y = vec![0.0; x.len()];
    let mut statistics = Statistics {
        mean: vec![],
        variance: vec![],
    };
    for c in 0..norm.channels {
        let indices = channel_indices(norm, c);
        let count = indices.len() as f64;
        let mean = indices.iter().map(|&i| x[i]).sum::<f64>() / count;
        let variance = indices.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / count;
        let std = (variance + EPSILON).sqrt();
        for &i in &indices {
            y[i] = (x[i] - mean) / std * gamma[c] + beta[c];
        }
        statistics.mean.push(mean);
        statistics.variance.push(variance);
    }
    (y, statistics)
}

/// `L = sum(weights * y)` for the training-mode forward pass.
fn loss(norm: &BatchNorm, x: &[f64], gamma: &[f64], beta: &[f64], weights: &[f64]) -> f64 {
    let (y, _) = reference_forward(norm, x, gamma, beta);
    y.iter().zip(weights).map(|(y, w)| y * w).sum()
}

fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance * (1.0 + e.abs()),
            "{what}[{k}]: {a} != {e}"
        );
    }
}

/// The kernels in f64 against the definition; the gradients against finite differences of the
/// definition at a few coordinates; the kernels in f32 against the f64 definition.
fn check(shape: &[usize], seed: u64, offset: f64) {
    let norm = BatchNorm::from_shape(shape).unwrap();
    let x = values(norm.len(), seed, offset);
    let gamma = values(norm.channels, seed + 1, 1.0);
    let beta = values(norm.channels, seed + 2, 0.0);
    let weights = values(norm.len(), seed + 3, 0.0);

    let (y, statistics) = norm.train(&x, &gamma, &beta, EPSILON).unwrap();
    let (expected_y, expected) = reference_forward(&norm, &x, &gamma, &beta);
    assert_close(&statistics.mean, &expected.mean, 1e-12, "mean");
    assert_close(&statistics.variance, &expected.variance, 1e-12, "variance");
    assert_close(&y, &expected_y, 1e-10, "output");

    // dL/dy = weights, so the gradients are those of L = sum(weights * y).
    let grads = norm
        .backward(&x, &gamma, &statistics, EPSILON, &weights)
        .unwrap();
    let h = 1e-6;
    let difference = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
    let probes = [0, norm.len() / 3, norm.len() / 2, norm.len() - 1];
    for &i in &probes {
        let numeric = difference(&|step| {
            let mut moved = x.clone();
            moved[i] += step;
            loss(&norm, &moved, &gamma, &beta, &weights)
        });
        assert_close(&[grads.input[i]], &[numeric], 1e-5, "input gradient");
    }
    for c in 0..norm.channels {
        let numeric_gamma = difference(&|step| {
            let mut moved = gamma.clone();
            moved[c] += step;
            loss(&norm, &x, &moved, &beta, &weights)
        });
        let numeric_beta = difference(&|step| {
            let mut moved = beta.clone();
            moved[c] += step;
            loss(&norm, &x, &gamma, &moved, &weights)
        });
        assert_close(&[grads.gamma[c]], &[numeric_gamma], 1e-5, "gamma gradient");
        assert_close(&[grads.beta[c]], &[numeric_beta], 1e-5, "beta gradient");
    }

    // f32: the f64 computation on the same (rounded) inputs, within a tolerance scaled by the
    // terms that rounding to f32 perturbs: values relative to the spread, and the cancelling
    // terms of the input gradient.
    let to_f32 = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let to_f64 = |v: &[f32]| v.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let (x32, gamma32, beta32, dy32) =
        (to_f32(&x), to_f32(&gamma), to_f32(&beta), to_f32(&weights));
    let (x, gamma, beta, dy) = (
        to_f64(&x32),
        to_f64(&gamma32),
        to_f64(&beta32),
        to_f64(&dy32),
    );
    let (expected_y, expected) = reference_forward(&norm, &x, &gamma, &beta);
    let expected_grads = norm.backward(&x, &gamma, &expected, EPSILON, &dy).unwrap();
    let max = |v: &[f64]| v.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let gain = (0..norm.channels)
        .map(|c| gamma[c].abs() / (expected.variance[c] + EPSILON).sqrt())
        .fold(0.0f64, f64::max);
    let inv_std = (0..norm.channels)
        .map(|c| 1.0 / (expected.variance[c] + EPSILON).sqrt())
        .fold(0.0f64, f64::max);
    let output_scale = 1.0 + gain * max(&x);
    let gradient_scale = gain * max(&dy) * (1.0 + max(&x) * inv_std).powi(2);

    let (y32, statistics32) = norm.train(&x32, &gamma32, &beta32, EPSILON).unwrap();
    assert_within(
        &to_f64(&y32),
        &expected_y,
        1e-5 * output_scale,
        "f32 output",
    );
    let grads32 = norm
        .backward(&x32, &gamma32, &statistics32, EPSILON, &dy32)
        .unwrap();
    assert_within(
        &to_f64(&grads32.input),
        &expected_grads.input,
        1e-5 * gradient_scale,
        "f32 input gradient",
    );
    let count = (norm.batch * norm.plane) as f64;
    assert_within(
        &to_f64(&grads32.gamma),
        &expected_grads.gamma,
        1e-5 * count * max(&dy) * (1.0 + max(&x) * inv_std),
        "f32 gamma gradient",
    );
    assert_within(
        &to_f64(&grads32.beta),
        &expected_grads.beta,
        1e-5 * count * max(&dy),
        "f32 beta gradient",
    );
}

fn assert_within(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance,
            "{what}[{k}]: {a} != {e} (tolerance {tolerance})"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]
    #[test]
    fn kernels_match_the_definition(
        batch in 1usize..4,
        channels in 1usize..5,
        spatial in proptest::collection::vec(1usize..8, 0..3),
        seed in 0u64..1000,
    ) {
        let mut shape = vec![batch, channels];
        shape.extend(spatial);
        // A single value per channel has no spread: the gradient is ill-conditioned there.
        prop_assume!(shape.iter().product::<usize>() / channels > 1);
        check(&shape, seed, 0.0);
    }
}

#[test]
fn network_shapes_match_the_definition() {
    check(&[2, 3, 17, 23], 7, 0.0);
    check(&[2, 2, 5, 6, 7], 8, 0.0);
    check(&[5, 4], 9, 0.0);
}

#[test]
fn a_large_mean_keeps_its_precision() {
    // Values 1000 +- 1: the variance (~1/3) is a small difference of large numbers.
    check(&[2, 3, 9, 11], 11, 1000.0);
}

#[test]
fn results_are_the_same_for_any_thread_count() {
    // Planes smaller and larger than one parallel task.
    for shape in [[3usize, 5, 30, 41], [2, 3, 160, 130]] {
        let norm = BatchNorm::from_shape(&shape).unwrap();
        let x: Vec<f32> = values(norm.len(), 3, 0.5)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let dy: Vec<f32> = values(norm.len(), 4, 0.0)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let gamma = vec![1.5f32; norm.channels];
        let beta = vec![-0.25f32; norm.channels];
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let (y, statistics) = norm.train(&x, &gamma, &beta, EPSILON).unwrap();
                let grads = norm
                    .backward(&x, &gamma, &statistics, EPSILON, &dy)
                    .unwrap();
                (y, statistics, grads)
            })
        };
        let one = run(1);
        for threads in [2, 5] {
            assert!(
                run(threads) == one,
                "{threads} threads differ from 1 on {shape:?}"
            );
        }
    }
}

#[test]
fn empty_batches_give_nan_statistics_and_empty_outputs() {
    let norm = BatchNorm::from_shape(&[0, 3, 4]).unwrap();
    let (y, statistics) = norm
        .train::<f32>(&[], &[1.0; 3], &[0.0; 3], EPSILON)
        .unwrap();
    assert!(y.is_empty());
    assert!(statistics
        .mean
        .iter()
        .chain(&statistics.variance)
        .all(|v| v.is_nan()));
}

#[test]
fn bad_inputs_are_refused() {
    assert_eq!(BatchNorm::from_shape(&[4]), Err(ShapeError::Rank(1)));
    let norm = BatchNorm::from_shape(&[2, 3, 4]).unwrap();
    let x = vec![0.0f32; 24];
    assert_eq!(
        norm.statistics(&x[..23]),
        Err(ShapeError::Length {
            name: "input",
            found: 23,
            expected: 24
        })
    );
    let error = norm.train(&x, &[1.0; 2], &[0.0; 3], EPSILON).unwrap_err();
    assert_eq!(error.to_string(), "gamma has 2 values, expected 3");
    let statistics = norm.statistics(&x).unwrap();
    let error = norm
        .backward(&x, &[1.0; 3], &statistics, EPSILON, &x[..20])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "output gradient has 20 values, expected 24"
    );
}

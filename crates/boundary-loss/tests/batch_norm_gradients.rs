//! The CPU backend's batch normalisation (patches/burn-flex routes it to the `cpu-norm` crate)
//! as the networks reach it: their `BatchNorm` module in training mode with autodiff, checked
//! against direct loops over the definition for the output, the running statistics and the
//! gradients of the input, scale and shift; and in inference mode with running statistics.
//! 2-D and 3-D activations, and an input that is a permuted (non-contiguous) view. (PyTorch's own
//! values: tests/batch_norm_reference.rs.)

use boundary_loss::nets::BatchNorm;
use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

const EPSILON: f64 = 1e-5;

fn values(len: usize, seed: u32, offset: f32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| {
            let h =
                (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)).wrapping_mul(2246822519);
            offset + (h >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// Row-major indices of channel `c` of a `[batch, channels, plane]` tensor.
fn channel(shape: &[usize], c: usize) -> impl Iterator<Item = usize> + '_ {
    let plane: usize = shape[2..].iter().product();
    (0..shape[0]).flat_map(move |n| {
        let start = (n * shape[1] + c) * plane;
        start..start + plane
    })
}

fn close(actual: Vec<f32>, expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (*a as f64 - e).abs() <= 2e-4 * (1.0 + e.abs()),
            "{what}[{k}]: {a} != {e}"
        );
    }
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Training mode: output, gradients (of `sum(y * g)`) and running statistics.
fn check_training<const D: usize>(shape: [usize; D], permuted: bool) {
    let channels = shape[1];
    let len: usize = shape.iter().product();
    let (x, g) = (values(len, 1, 0.5), values(len, 2, 0.0));
    let (gamma, beta) = (values(channels, 3, 1.0), values(channels, 4, 0.0));
    let count = (len / channels) as f64;

    let mut y = vec![0f64; len];
    let mut dx = vec![0f64; len];
    let (mut dgamma, mut dbeta) = (vec![0f64; channels], vec![0f64; channels]);
    let (mut running_mean, mut running_var) = (vec![0f64; channels], vec![0f64; channels]);
    for c in 0..channels {
        let mean = channel(&shape, c).map(|i| x[i] as f64).sum::<f64>() / count;
        let var = channel(&shape, c)
            .map(|i| (x[i] as f64 - mean).powi(2))
            .sum::<f64>()
            / count;
        let std = (var + EPSILON).sqrt();
        let x_hat = |i: usize| (x[i] as f64 - mean) / std;
        for i in channel(&shape, c) {
            y[i] = x_hat(i) * gamma[c] as f64 + beta[c] as f64;
            dgamma[c] += g[i] as f64 * x_hat(i);
            dbeta[c] += g[i] as f64;
        }
        for i in channel(&shape, c) {
            dx[i] = gamma[c] as f64 / std
                * (g[i] as f64 - dbeta[c] / count - x_hat(i) * dgamma[c] / count);
        }
        // Momentum 0.1 from (0, 1), with the batch's unbiased variance (PyTorch's).
        running_mean[c] = 0.1 * mean;
        running_var[c] = 0.9 + 0.1 * var * count / (count - 1.0);
    }

    let device = Device::flex().autodiff();
    let mut norm = BatchNorm::new(channels, &device);
    norm.gamma = Param::from_data(TensorData::new(gamma.clone(), [channels]), &device);
    norm.beta = Param::from_data(TensorData::new(beta.clone(), [channels]), &device);
    let xt = if permuted {
        // The same values, reached through a view with the batch and channel axes swapped.
        let mut swapped_shape = shape;
        swapped_shape.swap(0, 1);
        let mut swapped = vec![0f32; len];
        let plane = len / (shape[0] * channels);
        for n in 0..shape[0] {
            for c in 0..channels {
                for p in 0..plane {
                    swapped[(c * shape[0] + n) * plane + p] = x[(n * channels + c) * plane + p];
                }
            }
        }
        Tensor::<D>::from_data(TensorData::new(swapped, swapped_shape), &device).swap_dims(0, 1)
    } else {
        Tensor::<D>::from_data(TensorData::new(x.clone(), shape), &device)
    }
    .require_grad();
    let gt = Tensor::<D>::from_data(TensorData::new(g, shape), &device);
    let yt = norm.forward(xt.clone());
    let grads = yt.clone().mul(gt).sum().backward();
    close(read(yt), &y, "output");
    close(read(xt.grad(&grads).unwrap()), &dx, "input gradient");
    close(
        read(norm.gamma.grad(&grads).unwrap()),
        &dgamma,
        "gamma gradient",
    );
    close(
        read(norm.beta.grad(&grads).unwrap()),
        &dbeta,
        "beta gradient",
    );
    close(
        read(norm.running_mean.value_sync()),
        &running_mean,
        "running mean",
    );
    close(
        read(norm.running_var.value_sync()),
        &running_var,
        "running variance",
    );
}

#[test]
fn training_mode_matches_the_definition() {
    check_training([2, 3, 9, 11], false);
    check_training([4, 5, 16, 16], true);
    check_training([2, 2, 3, 4, 5], false);
    check_training([6, 4], false);
}

#[test]
fn inference_mode_uses_the_running_statistics() {
    let shape = [2, 3, 5, 7];
    let len: usize = shape.iter().product();
    let x = values(len, 5, 2.0);
    let (gamma, beta) = (values(3, 6, 1.0), values(3, 7, 0.0));
    let (mean, var) = (values(3, 8, 2.0), values(3, 9, 1.5));
    let mut y = vec![0f64; len];
    for c in 0..3 {
        for i in channel(&shape, c) {
            y[i] = (x[i] as f64 - mean[c] as f64) / (var[c] as f64 + EPSILON).sqrt()
                * gamma[c] as f64
                + beta[c] as f64;
        }
    }
    let device = Device::flex();
    let mut norm = BatchNorm::new(3, &device);
    let param = |v: &[f32]| Param::from_data(TensorData::new(v.to_vec(), [3]), &device);
    norm.gamma = param(&gamma);
    norm.beta = param(&beta);
    norm.running_mean =
        burn::module::RunningState::new(Tensor::from_data(TensorData::new(mean, [3]), &device));
    norm.running_var =
        burn::module::RunningState::new(Tensor::from_data(TensorData::new(var, [3]), &device));
    let yt = norm.forward(Tensor::<4>::from_data(TensorData::new(x, shape), &device));
    close(read(yt), &y, "inference output");
}

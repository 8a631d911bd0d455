//! boundary-loss patch: batch normalisation through the `cpu-norm` crate: with given statistics
//! (inference), with the batch's own (training), and the training form's gradients. Burn's
//! defaults compute the statistics after swapping the batch and channel axes (a transposed copy
//! of the activation, twice forward and twice backward) and chain broadcast element-wise
//! operations; here each pass reads its inputs at most twice and writes its output once. f32 and
//! f64 run natively; f16 and bf16 go through f32.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::Element;
use burn_std::{Bytes, Shape};
use cpu_norm::{BatchNorm, Float, Statistics};

use super::module::by_dtype;
use crate::{FlexTensor, Layout};

fn layout(shape: &Shape) -> BatchNorm {
    BatchNorm::from_shape(shape).unwrap_or_else(|error| panic!("batch_norm: {error}"))
}

fn tensor<T: bytemuck::Pod + Element>(data: Vec<T>, shape: Shape) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(shape),
        T::dtype(),
    )
}

fn channels<T: bytemuck::Pod + Element>(data: Vec<T>) -> FlexTensor {
    let len = data.len();
    tensor(data, Shape::new([len]))
}

fn statistics<T: Float + bytemuck::Pod + Element>(
    mean: &FlexTensor,
    variance: &FlexTensor,
) -> Statistics<T> {
    Statistics {
        mean: mean.storage::<T>().to_vec(),
        variance: variance.storage::<T>().to_vec(),
    }
}

fn panic_on<T>(result: Result<T, cpu_norm::ShapeError>) -> T {
    result.unwrap_or_else(|error| panic!("batch_norm: {error}"))
}

/// `[x, gamma, beta, mean, variance]` -> `[output]`.
fn normalize_typed<T: Float + bytemuck::Pod + Element>(
    t: &[FlexTensor],
    epsilon: f64,
) -> [FlexTensor; 1] {
    let shape = t[0].layout().shape().clone();
    let output = panic_on(layout(&shape).normalize(
        t[0].storage::<T>(),
        t[1].storage::<T>(),
        t[2].storage::<T>(),
        &statistics::<T>(&t[3], &t[4]),
        epsilon,
    ));
    [tensor(output, shape)]
}

/// Batch normalisation with the given per-channel statistics.
pub fn batch_norm(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let [output] = by_dtype(
        "batch_norm",
        vec![x, gamma, beta, mean, variance],
        |t| normalize_typed::<f32>(t, epsilon),
        |t| normalize_typed::<f64>(t, epsilon),
    );
    output
}

/// `[x, gamma, beta]` -> `[output, mean, variance]`.
fn train_typed<T: Float + bytemuck::Pod + Element>(
    t: &[FlexTensor],
    epsilon: f64,
) -> [FlexTensor; 3] {
    let shape = t[0].layout().shape().clone();
    let (output, statistics) = panic_on(layout(&shape).train(
        t[0].storage::<T>(),
        t[1].storage::<T>(),
        t[2].storage::<T>(),
        epsilon,
    ));
    [
        tensor(output, shape),
        channels(statistics.mean),
        channels(statistics.variance),
    ]
}

/// Batch normalisation with the batch's statistics: `[output, mean, biased variance]`.
pub fn batch_norm_train(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> [FlexTensor; 3] {
    by_dtype(
        "batch_norm_train",
        vec![x, gamma, beta],
        |t| train_typed::<f32>(t, epsilon),
        |t| train_typed::<f64>(t, epsilon),
    )
}

/// `[x, gamma, mean, variance, output_grad]` -> `[x_grad, gamma_grad, beta_grad]`.
fn backward_typed<T: Float + bytemuck::Pod + Element>(
    t: &[FlexTensor],
    epsilon: f64,
) -> [FlexTensor; 3] {
    let shape = t[0].layout().shape().clone();
    let gradients = panic_on(layout(&shape).backward(
        t[0].storage::<T>(),
        t[1].storage::<T>(),
        &statistics::<T>(&t[2], &t[3]),
        epsilon,
        t[4].storage::<T>(),
    ));
    [
        tensor(gradients.input, shape),
        channels(gradients.gamma),
        channels(gradients.beta),
    ]
}

/// Gradients of [`batch_norm_train`]: `[x_grad, gamma_grad, beta_grad]`.
pub fn batch_norm_train_backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> [FlexTensor; 3] {
    by_dtype(
        "batch_norm_train_backward",
        vec![x, gamma, mean, variance, output_grad],
        |t| backward_typed::<f32>(t, epsilon),
        |t| backward_typed::<f64>(t, epsilon),
    )
}

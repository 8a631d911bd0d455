//! boundary-loss patch: 2-D convolutions and their input and weight gradients through the
//! `cpu-conv` crate (im2col over bands of output rows in NCHW, one `gemm` call per band, bands in
//! parallel) instead of flex's 3-D path and Burn's default gradients (a transposed convolution,
//! and a convolution whose kernel is the whole output gradient); and 3-D convolutions with both
//! gradients (one such 2-D convolution per output depth). f32 and f64 run natively; f16 and
//! bf16 go through f32, as flex's own bf16 convolutions do.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::Element;
use burn_backend::ops::ConvOptions;
use burn_std::{Bytes, Shape};
use cpu_conv::{Conv2d, Conv3d, Scalar};

use super::module::by_dtype;
use crate::{FlexTensor, Layout};

fn geometry(x: &Shape, weight: &Shape, options: &ConvOptions<2>) -> Conv2d {
    Conv2d {
        batch: x[0],
        channels_in: x[1],
        channels_out: weight[0],
        groups: options.groups,
        input: [x[2], x[3]],
        kernel: [weight[2], weight[3]],
        stride: options.stride,
        padding_begin: options.padding_begin(),
        padding_end: options.padding_end(),
        dilation: options.dilation,
    }
    .validated()
    .unwrap_or_else(|error| panic!("conv2d: {error}"))
}

fn tensor<T: bytemuck::Pod + Element, const N: usize>(
    data: Vec<T>,
    shape: [usize; N],
) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::from(shape.to_vec())),
        T::dtype(),
    )
}

fn forward_typed<T: Scalar + bytemuck::Pod + Element>(
    tensors: &[FlexTensor],
    options: &ConvOptions<2>,
) -> FlexTensor {
    let conv = geometry(
        tensors[0].layout().shape(),
        tensors[1].layout().shape(),
        options,
    );
    let out = conv.forward_new::<T>(
        tensors[0].storage(),
        tensors[1].storage(),
        tensors.get(2).map(|bias| bias.storage()),
    );
    let [h, w] = conv.output();
    tensor(out, [conv.batch, conv.channels_out, h, w])
}

/// The forward convolution (with bias when given).
pub fn conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let mut tensors = vec![x, weight];
    tensors.extend(bias);
    let [out] = by_dtype(
        "conv2d",
        tensors,
        |t| [forward_typed::<f32>(t, options)],
        |t| [forward_typed::<f64>(t, options)],
    );
    out
}

fn input_grad_typed<T: Scalar + bytemuck::Pod + Element>(
    tensors: &[FlexTensor],
    x_shape: &Shape,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let conv = geometry(x_shape, tensors[0].layout().shape(), options);
    let grad = conv.input_grad_new::<T>(tensors[0].storage(), tensors[1].storage());
    let [h, w] = conv.input;
    tensor(grad, [conv.batch, conv.channels_in, h, w])
}

/// The gradient with respect to the input `x` (only its shape is used).
pub fn conv2d_x_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let x_shape = x.layout().shape().clone();
    let [grad] = by_dtype(
        "conv2d_x_backward",
        vec![weight, output_grad],
        |t| [input_grad_typed::<f32>(t, &x_shape, options)],
        |t| [input_grad_typed::<f64>(t, &x_shape, options)],
    );
    grad
}

fn weight_grad_typed<T: Scalar + bytemuck::Pod + Element>(
    tensors: &[FlexTensor],
    weight_shape: &Shape,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let conv = geometry(tensors[0].layout().shape(), weight_shape, options);
    let mut grad = vec![T::default(); conv.weight_len()];
    conv.weight_grad::<T>(tensors[0].storage(), tensors[1].storage(), &mut grad);
    let [kh, kw] = conv.kernel;
    tensor(
        grad,
        [conv.channels_out, conv.channels_in / conv.groups, kh, kw],
    )
}

/// The gradient with respect to the weight (only its shape is used).
pub fn conv2d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let weight_shape = weight.layout().shape().clone();
    let [grad] = by_dtype(
        "conv2d_weight_backward",
        vec![x, output_grad],
        |t| [weight_grad_typed::<f32>(t, &weight_shape, options)],
        |t| [weight_grad_typed::<f64>(t, &weight_shape, options)],
    );
    grad
}

fn geometry_3d(x: &Shape, weight: &Shape, options: &ConvOptions<3>) -> Conv3d {
    Conv3d {
        batch: x[0],
        channels_in: x[1],
        channels_out: weight[0],
        groups: options.groups,
        input: [x[2], x[3], x[4]],
        kernel: [weight[2], weight[3], weight[4]],
        stride: options.stride,
        padding_begin: options.padding_begin(),
        padding_end: options.padding_end(),
        dilation: options.dilation,
    }
    .validated()
    .unwrap_or_else(|error| panic!("conv3d: {error}"))
}

fn forward_3d_typed<T: Scalar + bytemuck::Pod + Element>(
    tensors: &[FlexTensor],
    options: &ConvOptions<3>,
) -> FlexTensor {
    let conv = geometry_3d(
        tensors[0].layout().shape(),
        tensors[1].layout().shape(),
        options,
    );
    let out = conv.forward_new::<T>(
        tensors[0].storage(),
        tensors[1].storage(),
        tensors.get(2).map(|bias| bias.storage()),
    );
    let [d, h, w] = conv.output();
    tensor(out, [conv.batch, conv.channels_out, d, h, w])
}

/// The forward 3-D convolution (with bias when given); asymmetric padding is native.
pub fn conv3d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<3>,
) -> FlexTensor {
    let mut tensors = vec![x, weight];
    tensors.extend(bias);
    let [out] = by_dtype(
        "conv3d",
        tensors,
        |t| [forward_3d_typed::<f32>(t, options)],
        |t| [forward_3d_typed::<f64>(t, options)],
    );
    out
}

fn input_grad_3d_typed<T: Scalar + bytemuck::Pod + Element>(
    tensors: &[FlexTensor],
    x_shape: &Shape,
    options: &ConvOptions<3>,
) -> FlexTensor {
    let conv = geometry_3d(x_shape, tensors[0].layout().shape(), options);
    let grad = conv.input_grad_new::<T>(tensors[0].storage(), tensors[1].storage());
    let [d, h, w] = conv.input;
    tensor(grad, [conv.batch, conv.channels_in, d, h, w])
}

/// The gradient of a 3-D convolution with respect to the input `x` (only its shape is used).
pub fn conv3d_x_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<3>,
) -> FlexTensor {
    let x_shape = x.layout().shape().clone();
    let [grad] = by_dtype(
        "conv3d_x_backward",
        vec![weight, output_grad],
        |t| [input_grad_3d_typed::<f32>(t, &x_shape, options)],
        |t| [input_grad_3d_typed::<f64>(t, &x_shape, options)],
    );
    grad
}

fn weight_grad_3d_typed<T: Scalar + bytemuck::Pod + Element>(
    tensors: &[FlexTensor],
    weight_shape: &Shape,
    options: &ConvOptions<3>,
) -> FlexTensor {
    let conv = geometry_3d(tensors[0].layout().shape(), weight_shape, options);
    let mut grad = vec![T::default(); conv.weight_len()];
    conv.weight_grad::<T>(tensors[0].storage(), tensors[1].storage(), &mut grad);
    let [kd, kh, kw] = conv.kernel;
    let group_in = conv.channels_in / conv.groups;
    tensor(grad, [conv.channels_out, group_in, kd, kh, kw])
}

/// The gradient of a 3-D convolution with respect to the weight (only its shape is used).
pub fn conv3d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<3>,
) -> FlexTensor {
    let weight_shape = weight.layout().shape().clone();
    let [grad] = by_dtype(
        "conv3d_weight_backward",
        vec![x, output_grad],
        |t| [weight_grad_3d_typed::<f32>(t, &weight_shape, options)],
        |t| [weight_grad_3d_typed::<f64>(t, &weight_shape, options)],
    );
    grad
}

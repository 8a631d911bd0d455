//! boundary-loss patch: 2-D convolutions and their input and weight gradients through the
//! `cpu-conv` crate (im2col over bands of output rows in NCHW, one `gemm` call per band, bands in
//! parallel) instead of flex's 3-D path and Burn's default gradients (a transposed convolution,
//! and a convolution whose kernel is the whole output gradient); and 3-D convolutions with both
//! gradients (one such 2-D convolution per output depth). f32 and f64 run natively; f16 and
//! bf16 go through f32, as flex's own bf16 convolutions do.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::Element;
use burn_backend::ops::{ConvOptions, ConvTransposeOptions};
use burn_std::{Bytes, ElementAdd, Shape};
use cpu_conv::{Conv2d, Conv3d, Scalar};

use super::conv_common::add_bias;
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

fn input_grad_3d_typed<T: Scalar + bytemuck::Pod + Element + ElementAdd>(
    tensors: &[FlexTensor],
    x_shape: &Shape,
    options: &ConvOptions<3>,
) -> FlexTensor {
    let conv = geometry_3d(x_shape, tensors[0].layout().shape(), options);
    input_grad_3d::<T>(&conv, &tensors[0], &tensors[1], None)
}

/// `conv`'s input gradient from `weight` and `grad_out` as a tensor, plus `bias` per channel.
fn input_grad_3d<T: Scalar + bytemuck::Pod + Element + ElementAdd>(
    conv: &Conv3d,
    weight: &FlexTensor,
    grad_out: &FlexTensor,
    bias: Option<&FlexTensor>,
) -> FlexTensor {
    let mut grad = conv.input_grad_new::<T>(weight.storage(), grad_out.storage());
    let [d, h, w] = conv.input;
    if let Some(bias) = bias {
        add_bias(
            &mut grad,
            bias.storage(),
            conv.batch,
            conv.channels_in,
            d * h * w,
        );
    }
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

/// The convolution whose input gradient a 3-D transposed convolution of `x` (NCDHW) with
/// `weight` (`C_in, C_out, k...`) is: from the transposed convolution's output size back to
/// `x`'s, with the same weight (output padding adds positions at the end, which the
/// convolution's last window does not reach). `None` with groups (flex's own path then).
fn transposed_as_gradient(
    x: &Shape,
    weight: &Shape,
    options: &ConvTransposeOptions<3>,
) -> Option<Conv3d> {
    if options.groups != 1 {
        return None;
    }
    let input: [usize; 3] = core::array::from_fn(|axis| {
        ((x[axis + 2] - 1) * options.stride[axis]
            + options.dilation[axis] * (weight[axis + 2] - 1)
            + 1
            + options.padding_out[axis])
            .saturating_sub(2 * options.padding[axis])
    });
    let conv = Conv3d {
        batch: x[0],
        channels_in: weight[1],
        channels_out: weight[0],
        groups: 1,
        input,
        kernel: [weight[2], weight[3], weight[4]],
        stride: options.stride,
        padding_begin: options.padding,
        padding_end: options.padding,
        dilation: options.dilation,
    }
    .validated()
    .ok()?;
    (conv.output() == [x[2], x[3], x[4]]).then_some(conv)
}

/// boundary-loss patch: a 3-D transposed convolution through `cpu-conv`, as the input
/// gradient of the convolution it is the adjoint of (UNet3D's decoder computes nearest x2
/// upsampling followed by a 3x3x3 convolution as one, at stride 2 with 4-wide kernels, which
/// `cpu-conv` runs by parity); `Err` gives the arguments back where that does not apply.
#[allow(clippy::type_complexity)]
pub fn conv_transpose3d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvTransposeOptions<3>,
) -> Result<FlexTensor, (FlexTensor, FlexTensor, Option<FlexTensor>)> {
    let Some(conv) = transposed_as_gradient(x.layout().shape(), weight.layout().shape(), options)
    else {
        return Err((x, weight, bias));
    };
    let mut tensors = vec![x, weight];
    tensors.extend(bias);
    let [out] = by_dtype(
        "conv_transpose3d",
        tensors,
        |t| [input_grad_3d::<f32>(&conv, &t[1], &t[0], t.get(2))],
        |t| [input_grad_3d::<f64>(&conv, &t[1], &t[0], t.get(2))],
    );
    Ok(out)
}

/// boundary-loss patch: the weight gradient of a 3-D transposed convolution is the weight
/// gradient of the convolution it is the adjoint of, from the output gradient back to `x`
/// (Burn's default builds it from a convolution whose kernel is the whole output gradient).
pub fn conv_transpose3d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvTransposeOptions<3>,
) -> FlexTensor {
    conv3d_weight_backward(
        output_grad,
        weight,
        x,
        &ConvOptions::new(
            options.stride,
            options.padding,
            options.dilation,
            options.groups,
        ),
    )
}

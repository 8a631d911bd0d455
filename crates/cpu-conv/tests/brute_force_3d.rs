//! The 3-D passes (forward, input and weight gradients) against direct loops over the
//! convolution's definition, on random geometries (strides, dilations, asymmetric padding,
//! groups, 1x1x1 and non-cubic kernels).

mod common;
use common::{assert_same_for_any_thread_count, values, values_f32};
use cpu_conv::Conv3d;
use proptest::prelude::*;

/// `out[b, o, z, y, x] = bias[o] + sum w[o, c, k, i, j] *
/// in[b, g*cg + c, z*s + k*d - p, y*s + i*d - p, x*s + j*d - p]`, as index triples (output
/// index, input index, weight index) for every term of the sum.
fn terms(conv: &Conv3d) -> Vec<(usize, usize, usize)> {
    let out_shape = conv.output();
    let (cg_in, cg_out) = (
        conv.channels_in / conv.groups,
        conv.channels_out / conv.groups,
    );
    let flat = |sizes: [usize; 3], at: [usize; 3], outer: usize| {
        ((outer * sizes[0] + at[0]) * sizes[1] + at[1]) * sizes[2] + at[2]
    };
    let mut all = Vec::new();
    for b in 0..conv.batch {
        for o in 0..conv.channels_out {
            let g = o / cg_out;
            for oz in 0..out_shape[0] {
                for oy in 0..out_shape[1] {
                    for ox in 0..out_shape[2] {
                        let out = flat(out_shape, [oz, oy, ox], b * conv.channels_out + o);
                        for c in 0..cg_in {
                            for k in 0..conv.kernel[0] {
                                for i in 0..conv.kernel[1] {
                                    for j in 0..conv.kernel[2] {
                                        let at: Vec<isize> = [(oz, k), (oy, i), (ox, j)]
                                            .iter()
                                            .enumerate()
                                            .map(|(a, &(o, t))| {
                                                (o * conv.stride[a] + t * conv.dilation[a]) as isize
                                                    - conv.padding_begin[a] as isize
                                            })
                                            .collect();
                                        if at
                                            .iter()
                                            .zip(conv.input)
                                            .any(|(&p, n)| p < 0 || p >= n as isize)
                                        {
                                            continue;
                                        }
                                        let at = [at[0] as usize, at[1] as usize, at[2] as usize];
                                        let input = flat(
                                            conv.input,
                                            at,
                                            b * conv.channels_in + g * cg_in + c,
                                        );
                                        let weight = flat(conv.kernel, [k, i, j], o * cg_in + c);
                                        all.push((out, input, weight));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    all
}

fn assert_close(actual: &[f64], expected: &[f64], what: &str, conv: &Conv3d) {
    assert_eq!(actual.len(), expected.len());
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-10 * (1.0 + e.abs()),
            "{what}[{k}]: {a} != {e} ({conv:?})"
        );
    }
}

fn check(conv: Conv3d, seed: u64) {
    let conv = conv.validated().expect("valid geometry");
    let x = values(conv.input_len(), seed);
    let w = values(conv.weight_len(), seed + 1);
    let bias = values(conv.channels_out, seed + 2);
    let g = values(conv.output_len(), seed + 3);
    let plane: usize = conv.output().iter().product();
    let mut expected = vec![0.0; conv.output_len()];
    for (k, value) in expected.iter_mut().enumerate() {
        *value = bias[k / plane % conv.channels_out];
    }
    let mut expected_no_bias = vec![0.0; conv.output_len()];
    let mut expected_dx = vec![0.0; conv.input_len()];
    let mut expected_dw = vec![0.0; conv.weight_len()];
    for (out, input, weight) in terms(&conv) {
        expected[out] += w[weight] * x[input];
        expected_no_bias[out] += w[weight] * x[input];
        expected_dx[input] += w[weight] * g[out];
        expected_dw[weight] += x[input] * g[out];
    }
    let out = conv.forward_new(&x, &w, Some(&bias));
    assert_close(&out, &expected, "forward", &conv);
    // Without a bias: the products alone.
    assert_close(
        &conv.forward_new(&x, &w, None),
        &expected_no_bias,
        "no bias",
        &conv,
    );
    assert_close(
        &conv.input_grad_new(&w, &g),
        &expected_dx,
        "input gradient",
        &conv,
    );
    let mut dw = vec![f64::NAN; conv.weight_len()];
    conv.weight_grad(&x, &g, &mut dw);
    assert_close(&dw, &expected_dw, "weight gradient", &conv);
    // f32 follows the same path.
    let to32 = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let out32 = conv.forward_new(&to32(&x), &to32(&w), Some(&to32(&bias)));
    let dx32 = conv.input_grad_new(&to32(&w), &to32(&g));
    let mut dw32 = vec![f32::NAN; conv.weight_len()];
    conv.weight_grad(&to32(&x), &to32(&g), &mut dw32);
    for (got, want) in [
        (out32, &expected),
        (dx32, &expected_dx),
        (dw32, &expected_dw),
    ] {
        for (a, e) in got.iter().zip(want) {
            assert!(
                (*a as f64 - e).abs() < 1e-4 * (1.0 + e.abs()),
                "f32 {a} {e}"
            );
        }
    }
}

#[test]
fn the_networks_layers() {
    // UNet3D's 3x3x3 stride 1 and 2 (padding 1), a 1x1x1 head, Dimwit3D's 2x2x2 stride 2.
    for (kernel, stride, padding) in [(3, 1, 1), (3, 2, 1), (1, 1, 0), (2, 2, 0)] {
        check(
            Conv3d {
                batch: 2,
                channels_in: 3,
                channels_out: 4,
                groups: 1,
                input: [6, 5, 7],
                kernel: [kernel; 3],
                stride: [stride; 3],
                padding_begin: [padding; 3],
                padding_end: [padding; 3],
                dilation: [1; 3],
            },
            kernel as u64 * 10 + stride as u64,
        );
    }
}

/// Stride 2, 4-wide kernels, padding 1 and even inputs: the input gradient runs by parity
/// (UNet3D's upsample-then-convolve as a transposed convolution; [16, 12, 16] and the deep
/// [34, 10, 8]), the other passes as usual; small outputs, odd inputs and other paddings keep
/// the general path, checked alike.
#[test]
fn transposed_upsampling_geometry() {
    for (input, padding, seed) in [
        ([16, 12, 16], 1, 1),
        ([34, 10, 8], 1, 2),
        ([6, 4, 8], 1, 3),
        ([2, 2, 2], 1, 4),
        ([7, 6, 4], 1, 5),
        ([16, 12, 16], 0, 6),
    ] {
        check(
            Conv3d {
                batch: 2,
                channels_in: 3,
                channels_out: 5,
                groups: 1,
                input,
                kernel: [4; 3],
                stride: [2; 3],
                padding_begin: [padding; 3],
                padding_end: [padding; 3],
                dilation: [1; 3],
            },
            600 + seed,
        );
    }
}

/// Deeper than one forward task's depths (16): the tasks' plane caches start again at their
/// first depth, with strides and dilations that make the planes of one depth skip.
#[test]
fn deep_volumes_span_several_tasks() {
    for (stride, dilation, padding) in [(1, 1, 1), (2, 1, 1), (1, 2, 2), (3, 3, 0)] {
        check(
            Conv3d {
                batch: 2,
                channels_in: 2,
                channels_out: 3,
                groups: 1,
                input: [37, 4, 5],
                kernel: [3, 3, 2],
                stride: [stride, 1, 1],
                padding_begin: [padding, 1, 0],
                padding_end: [padding, 1, 1],
                dilation: [dilation, 1, 1],
            },
            (stride * 100 + dilation * 10 + padding) as u64,
        );
    }
}

/// The weight gradient's partial sums take fixed runs of tasks: the same bits for any number
/// of threads (a deep volume, so there are many tasks and several partial sums).
#[test]
fn weight_gradient_is_the_same_for_any_thread_count() {
    let conv = Conv3d {
        batch: 2,
        channels_in: 4,
        channels_out: 5,
        groups: 1,
        input: [40, 9, 11],
        kernel: [3; 3],
        stride: [1; 3],
        padding_begin: [1; 3],
        padding_end: [1; 3],
        dilation: [1; 3],
    }
    .validated()
    .unwrap();
    let x = values_f32(conv.input_len(), 11);
    let g = values_f32(conv.output_len(), 12);
    assert_same_for_any_thread_count(|| {
        let mut dw = vec![0f32; conv.weight_len()];
        conv.weight_grad(&x, &g, &mut dw);
        dw
    });
}

fn geometry() -> impl Strategy<Value = Conv3d> {
    (
        (
            1usize..3,
            1usize..4,
            1usize..4,
            prop_oneof![Just(1usize), Just(2)],
        ),
        (1usize..7, 1usize..7, 1usize..7),
        (1usize..4, 1usize..4, 1usize..4),
        (1usize..3, 1usize..3, 1usize..3),
        (0usize..3, 0usize..3, 0usize..2, 0usize..2),
        (1usize..3, 1usize..3),
    )
        .prop_filter_map(
            "valid geometry",
            |((batch, cin, cout, groups), input, kernel, stride, pad, dilation)| {
                Conv3d {
                    batch,
                    channels_in: cin * groups,
                    channels_out: cout * groups,
                    groups,
                    input: [input.0, input.1, input.2],
                    kernel: [kernel.0, kernel.1, kernel.2],
                    stride: [stride.0, stride.1, stride.2],
                    padding_begin: [pad.0, pad.1, pad.2],
                    padding_end: [pad.3, pad.2, pad.1],
                    dilation: [dilation.0, dilation.1, dilation.0],
                }
                .validated()
                .ok()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn the_three_passes_are_the_definition(conv in geometry(), seed in 0u64..1000) {
        check(conv, seed);
    }
}

//! The 3-D forward pass against direct loops over the convolution's definition, on random
//! geometries (strides, dilations, asymmetric padding, groups, 1x1x1 and non-cubic kernels).

mod common;
use common::values;
use cpu_conv::Conv3d;
use proptest::prelude::*;

/// `out[b, o, z, y, x] = bias[o] + sum w[o, c, k, i, j] *
/// in[b, g*cg + c, z*s + k*d - p, y*s + i*d - p, x*s + j*d - p]`, term by term.
// Indices spell out the definition.
#[allow(clippy::needless_range_loop)]
fn definition(conv: &Conv3d, x: &[f64], w: &[f64], bias: &[f64]) -> Vec<f64> {
    let out_shape = conv.output();
    let (cg_in, cg_out) = (
        conv.channels_in / conv.groups,
        conv.channels_out / conv.groups,
    );
    let mut out = vec![0.0; conv.output_len()];
    let mut index = 0;
    for b in 0..conv.batch {
        for o in 0..conv.channels_out {
            let g = o / cg_out;
            for oz in 0..out_shape[0] {
                for oy in 0..out_shape[1] {
                    for ox in 0..out_shape[2] {
                        let mut sum = bias[o];
                        for c in 0..cg_in {
                            for k in 0..conv.kernel[0] {
                                for i in 0..conv.kernel[1] {
                                    for j in 0..conv.kernel[2] {
                                        let at = [(oz, k), (oy, i), (ox, j)]
                                            .iter()
                                            .enumerate()
                                            .map(|(a, &(o, t))| {
                                                (o * conv.stride[a] + t * conv.dilation[a]) as isize
                                                    - conv.padding_begin[a] as isize
                                            })
                                            .collect::<Vec<_>>();
                                        if at
                                            .iter()
                                            .zip(conv.input)
                                            .any(|(&p, n)| p < 0 || p >= n as isize)
                                        {
                                            continue;
                                        }
                                        let input = (((b * conv.channels_in + g * cg_in + c)
                                            * conv.input[0]
                                            + at[0] as usize)
                                            * conv.input[1]
                                            + at[1] as usize)
                                            * conv.input[2]
                                            + at[2] as usize;
                                        let weight = (((o * cg_in + c) * conv.kernel[0] + k)
                                            * conv.kernel[1]
                                            + i)
                                            * conv.kernel[2]
                                            + j;
                                        sum += w[weight] * x[input];
                                    }
                                }
                            }
                        }
                        out[index] = sum;
                        index += 1;
                    }
                }
            }
        }
    }
    out
}

fn check(conv: Conv3d, seed: u64) {
    let conv = conv.validated().expect("valid geometry");
    let x = values(conv.input_len(), seed);
    let w = values(conv.weight_len(), seed + 1);
    let bias = values(conv.channels_out, seed + 2);
    let expected = definition(&conv, &x, &w, &bias);
    let out = conv.forward_new(&x, &w, Some(&bias));
    assert_eq!(out.len(), expected.len());
    for (k, (a, e)) in out.iter().zip(&expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-10 * (1.0 + e.abs()),
            "forward[{k}]: {a} != {e} ({conv:?})"
        );
    }
    // Without a bias: the products alone.
    let zero = vec![0.0; conv.channels_out];
    let no_bias = conv.forward_new(&x, &w, None);
    let expected = definition(&conv, &x, &w, &zero);
    for (a, e) in no_bias.iter().zip(&expected) {
        assert!((a - e).abs() <= 1e-10 * (1.0 + e.abs()));
    }
    // f32 follows the same path.
    let to32 = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let out32 = conv.forward_new(&to32(&x), &to32(&w), Some(&to32(&bias)));
    for (a, e) in out32.iter().zip(&out) {
        assert!(
            (*a as f64 - e).abs() < 1e-4 * (1.0 + e.abs()),
            "f32 {a} {e}"
        );
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
    fn the_forward_pass_is_the_definition(conv in geometry(), seed in 0u64..1000) {
        check(conv, seed);
    }
}

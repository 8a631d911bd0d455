//! The three passes against direct loops over the convolution's definition, on random
//! geometries (strides, dilations, asymmetric padding, groups, 1x1 and non-square kernels).

mod common;
use common::{assert_same_for_any_thread_count, values, values_f32};
use cpu_conv::Conv2d;
use proptest::prelude::*;

/// `out[b, o, y, x] = bias[o] + sum w[o, c, i, j] * in[b, g*cg + c, y*s + i*d - p, x*s + j*d - p]`,
/// as index triples (output index, input index, weight index) for every term of the sum.
fn terms(conv: &Conv2d) -> Vec<(usize, usize, usize)> {
    let [out_h, out_w] = conv.output();
    let [in_h, in_w] = conv.input;
    let (cg_in, cg_out) = (
        conv.channels_in / conv.groups,
        conv.channels_out / conv.groups,
    );
    let mut all = Vec::new();
    for b in 0..conv.batch {
        for o in 0..conv.channels_out {
            let g = o / cg_out;
            for y in 0..out_h {
                for x in 0..out_w {
                    let out = ((b * conv.channels_out + o) * out_h + y) * out_w + x;
                    for c in 0..cg_in {
                        for i in 0..conv.kernel[0] {
                            for j in 0..conv.kernel[1] {
                                let row = (y * conv.stride[0] + i * conv.dilation[0]) as isize
                                    - conv.padding_begin[0] as isize;
                                let col = (x * conv.stride[1] + j * conv.dilation[1]) as isize
                                    - conv.padding_begin[1] as isize;
                                if row < 0
                                    || col < 0
                                    || row >= in_h as isize
                                    || col >= in_w as isize
                                {
                                    continue;
                                }
                                let input = ((b * conv.channels_in + g * cg_in + c) * in_h
                                    + row as usize)
                                    * in_w
                                    + col as usize;
                                let weight =
                                    ((o * cg_in + c) * conv.kernel[0] + i) * conv.kernel[1] + j;
                                all.push((out, input, weight));
                            }
                        }
                    }
                }
            }
        }
    }
    all
}

fn assert_close(actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len());
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 1e-10 * (1.0 + e.abs()),
            "{what}[{k}]: {a} != {e}"
        );
    }
}

fn check(conv: Conv2d, seed: u64) {
    let conv = conv.validated().expect("valid geometry");
    let x = values(conv.input_len(), seed);
    let w = values(conv.weight_len(), seed + 1);
    let bias = values(conv.channels_out, seed + 2);
    let g = values(conv.output_len(), seed + 3);
    let terms = terms(&conv);
    let [out_h, out_w] = conv.output();

    let mut expected = vec![0.0; conv.output_len()];
    for (k, value) in expected.iter_mut().enumerate() {
        *value = bias[k / (out_h * out_w) % conv.channels_out];
    }
    let mut expected_dx = vec![0.0; conv.input_len()];
    let mut expected_dw = vec![0.0; conv.weight_len()];
    for &(out, input, weight) in &terms {
        expected[out] += w[weight] * x[input];
        expected_dx[input] += w[weight] * g[out];
        expected_dw[weight] += x[input] * g[out];
    }

    let mut out = vec![f64::NAN; conv.output_len()];
    conv.forward(&x, &w, Some(&bias), &mut out);
    assert_close(&out, &expected, "forward");
    let mut dx = vec![f64::NAN; conv.input_len()];
    conv.input_grad(&w, &g, &mut dx);
    assert_close(&dx, &expected_dx, "input gradient");
    let mut dw = vec![f64::NAN; conv.weight_len()];
    conv.weight_grad(&x, &g, &mut dw);
    assert_close(&dw, &expected_dw, "weight gradient");
    // Into new (never zero-filled) vectors: the same values, bit for bit.
    assert!(conv.forward_new(&x, &w, Some(&bias)) == out, "forward_new");
    assert!(conv.input_grad_new(&w, &g) == dx, "input_grad_new");

    // f32 follows the same path: close to the f64 result.
    let to32 = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
    let mut out32 = vec![0f32; conv.output_len()];
    conv.forward(&to32(&x), &to32(&w), Some(&to32(&bias)), &mut out32);
    for (a, e) in out32.iter().zip(&expected) {
        assert!(
            (*a as f64 - e).abs() < 1e-4 * (1.0 + e.abs()),
            "f32 forward {a} {e}"
        );
    }
}

fn geometry() -> impl Strategy<Value = Conv2d> {
    (
        1usize..3,
        1usize..4,
        1usize..4,
        prop_oneof![Just(1usize), Just(2)],
        (1usize..12, 1usize..12),
        (1usize..4, 1usize..4),
        (1usize..3, 1usize..3),
        (0usize..3, 0usize..3, 0usize..3, 0usize..3),
        (1usize..3, 1usize..3),
    )
        .prop_filter_map(
            "valid geometry",
            |(batch, cin, cout, groups, input, kernel, stride, pad, dilation)| {
                Conv2d {
                    batch,
                    channels_in: cin * groups,
                    channels_out: cout * groups,
                    groups,
                    input: [input.0, input.1],
                    kernel: [kernel.0, kernel.1],
                    stride: [stride.0, stride.1],
                    padding_begin: [pad.0, pad.1],
                    padding_end: [pad.2, pad.3],
                    dilation: [dilation.0, dilation.1],
                }
                .validated()
                .ok()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn passes_match_the_definition(conv in geometry(), seed in 0u64..1000) {
        check(conv, seed);
    }
}

fn layer(
    cin: usize,
    cout: usize,
    side: usize,
    kernel: [usize; 2],
    stride: usize,
    pad: [usize; 2],
    dilation: usize,
) -> Conv2d {
    Conv2d {
        batch: 2,
        channels_in: cin,
        channels_out: cout,
        groups: 1,
        input: [side, side],
        kernel,
        stride: [stride; 2],
        padding_begin: pad,
        padding_end: pad,
        dilation: [dilation; 2],
    }
}

#[test]
fn network_layers_match_the_definition() {
    // Bands of several rows, several bands per image and the pointwise path, at sizes the
    // networks use (ENet's asymmetric and dilated kernels, UNet's strided 3x3).
    check(layer(6, 5, 40, [3, 3], 1, [1, 1], 1), 1);
    check(layer(4, 8, 33, [3, 3], 2, [1, 1], 1), 2);
    check(layer(5, 3, 30, [1, 5], 1, [0, 2], 1), 3);
    check(layer(5, 3, 30, [5, 1], 1, [2, 0], 1), 4);
    check(layer(3, 4, 36, [3, 3], 1, [4, 4], 4), 5);
    check(layer(7, 6, 48, [1, 1], 1, [0, 0], 1), 6);
    check(layer(2, 3, 20, [2, 2], 2, [0, 0], 1), 7);
}

#[test]
fn weight_gradient_is_the_same_for_any_thread_count() {
    let conv = layer(8, 8, 64, [3, 3], 1, [1, 1], 1).validated().unwrap();
    let x = values_f32(conv.input_len(), 9);
    let g = values_f32(conv.output_len(), 10);
    assert_same_for_any_thread_count(|| {
        let mut dw = vec![0f32; conv.weight_len()];
        conv.weight_grad(&x, &g, &mut dw);
        dw
    });
}

#[test]
fn bad_geometries_are_refused() {
    let mut conv = layer(4, 4, 8, [3, 3], 1, [0, 0], 1);
    conv.input = [2, 8];
    assert!(conv
        .validated()
        .unwrap_err()
        .to_string()
        .contains("larger than the padded input"));
    let mut conv = layer(4, 4, 8, [3, 3], 1, [1, 1], 1);
    conv.groups = 3;
    assert!(conv.validated().unwrap_err().to_string().contains("groups"));
    conv.groups = 1;
    conv.stride = [0, 1];
    assert!(conv
        .validated()
        .unwrap_err()
        .to_string()
        .contains("stride is zero"));
}

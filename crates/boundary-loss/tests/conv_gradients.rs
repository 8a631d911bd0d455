//! The CPU backend's 2-D convolution (patches/burn-flex routes it to the `cpu-conv` crate) as
//! the networks reach it: Burn's `conv2d` with autodiff, checked against direct loops over the
//! definition for the forward pass and the gradients of the input, weight and bias. Strides,
//! dilations, symmetric and asymmetric padding, groups, 1x1 and non-square kernels.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

struct Case {
    batch: usize,
    channels: [usize; 2],
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    /// (begin, end) per axis
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
    groups: usize,
}

fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| {
            let h =
                (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)).wrapping_mul(2246822519);
            (h >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

fn check(case: Case) {
    let [cin, cout] = case.channels;
    let (gin, gout) = (cin / case.groups, cout / case.groups);
    let [kh, kw] = case.kernel;
    let out: [usize; 2] = [0, 1].map(|a| {
        (case.input[a] + case.padding[a].0 + case.padding[a].1
            - case.dilation[a] * (case.kernel[a] - 1)
            - 1)
            / case.stride[a]
            + 1
    });
    let x = values(case.batch * cin * case.input[0] * case.input[1], 1);
    let w = values(cout * gin * kh * kw, 2);
    let b = values(cout, 3);
    let g = values(case.batch * cout * out[0] * out[1], 4);

    // Direct loops (f64 sums).
    let mut y = vec![0f64; g.len()];
    let mut dx = vec![0f64; x.len()];
    let mut dw = vec![0f64; w.len()];
    let mut db = vec![0f64; cout];
    for n in 0..case.batch {
        for o in 0..cout {
            for oy in 0..out[0] {
                for ox in 0..out[1] {
                    let yi = ((n * cout + o) * out[0] + oy) * out[1] + ox;
                    y[yi] += b[o] as f64;
                    db[o] += g[yi] as f64;
                    for c in 0..gin {
                        for i in 0..kh {
                            for j in 0..kw {
                                let iy = (oy * case.stride[0] + i * case.dilation[0]) as isize
                                    - case.padding[0].0 as isize;
                                let ix = (ox * case.stride[1] + j * case.dilation[1]) as isize
                                    - case.padding[1].0 as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= case.input[0] as isize
                                    || ix >= case.input[1] as isize
                                {
                                    continue;
                                }
                                let channel = o / gout * gin + c;
                                let xi = ((n * cin + channel) * case.input[0] + iy as usize)
                                    * case.input[1]
                                    + ix as usize;
                                let wi = ((o * gin + c) * kh + i) * kw + j;
                                y[yi] += w[wi] as f64 * x[xi] as f64;
                                dx[xi] += w[wi] as f64 * g[yi] as f64;
                                dw[wi] += x[xi] as f64 * g[yi] as f64;
                            }
                        }
                    }
                }
            }
        }
    }

    let device = Device::flex().autodiff();
    let tensor = |data: &[f32], shape: Vec<usize>| {
        Tensor::<4>::from_data(TensorData::new(data.to_vec(), shape), &device).require_grad()
    };
    let xt = tensor(&x, vec![case.batch, cin, case.input[0], case.input[1]]);
    let wt = tensor(&w, vec![cout, gin, kh, kw]);
    let bt = Tensor::<1>::from_data(TensorData::new(b.clone(), vec![cout]), &device).require_grad();
    let gt = Tensor::<4>::from_data(
        TensorData::new(g.clone(), vec![case.batch, cout, out[0], out[1]]),
        &device,
    );
    let options = ConvOptions {
        stride: case.stride,
        padding: case.padding,
        dilation: case.dilation,
        groups: case.groups,
    };
    let yt = conv2d(xt.clone(), wt.clone(), Some(bt.clone()), options);
    assert_eq!(yt.dims(), [case.batch, cout, out[0], out[1]]);
    let grads = yt.clone().mul(gt).sum().backward();
    let close = |actual: Vec<f32>, expected: &[f64], what: &str| {
        assert_eq!(actual.len(), expected.len(), "{what}");
        for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                (*a as f64 - e).abs() <= 1e-4 * (1.0 + e.abs()),
                "{what}[{k}]: {a} != {e}"
            );
        }
    };
    let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
    close(read(yt), &y, "forward");
    close(read(xt.grad(&grads).unwrap()), &dx, "input gradient");
    close(read(wt.grad(&grads).unwrap()), &dw, "weight gradient");
    close(
        bt.grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
        &db,
        "bias gradient",
    );
}

#[test]
fn network_shaped_convolutions_match_the_definition() {
    let base = || Case {
        batch: 2,
        channels: [3, 4],
        input: [19, 17],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [(1, 1), (1, 1)],
        dilation: [1, 1],
        groups: 1,
    };
    check(base());
    check(Case {
        stride: [2, 2],
        ..base()
    });
    check(Case {
        kernel: [1, 5],
        padding: [(0, 0), (2, 2)],
        ..base()
    });
    check(Case {
        kernel: [5, 1],
        padding: [(2, 2), (0, 0)],
        ..base()
    });
    check(Case {
        dilation: [4, 4],
        padding: [(4, 4), (4, 4)],
        ..base()
    });
    check(Case {
        kernel: [1, 1],
        padding: [(0, 0), (0, 0)],
        ..base()
    });
    check(Case {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [(0, 0), (0, 0)],
        ..base()
    });
    check(Case {
        padding: [(0, 2), (1, 0)],
        ..base()
    });
    check(Case {
        channels: [4, 6],
        groups: 2,
        ..base()
    });
    check(Case {
        input: [40, 300],
        channels: [2, 3],
        ..base()
    });
}

//! Burn's CPU backend reaches our kernels: a convolution and a batch normalisation, forward and
//! backward, and a 3-D convolution with its gradients, run through `cpu-conv` and `cpu-norm`.
//! This fails when `patches/burn-flex` is no longer in use (after a Burn upgrade Cargo only
//! warns "patch not used", and the speed-ups would vanish without another test failing).

use boundary_loss::nets::BatchNorm;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};

#[test]
fn convolutions_and_batch_norm_run_through_the_workspace_kernels() {
    let device = Device::flex().autodiff();
    let (conv_before, norm_before) = (cpu_conv::passes_run(), cpu_norm::passes_run());

    let conv = Conv2dConfig::new([2, 3], [3, 3]).init(&device);
    let norm = BatchNorm::new(3, &device);
    let x = Tensor::<4>::random([2, 2, 8, 8], Distribution::Default, &device).require_grad();
    let loss = norm.forward(conv.forward(x.clone())).powf_scalar(2.0).sum();
    let grads = loss.backward();
    assert!(x.grad(&grads).is_some());

    // Forward, input gradient and weight gradient; statistics, normalisation and gradients.
    let conv_passes = cpu_conv::passes_run() - conv_before;
    let norm_passes = cpu_norm::passes_run() - norm_before;
    assert!(
        conv_passes >= 3,
        "{conv_passes} convolution passes reached cpu-conv: is patches/burn-flex still used?"
    );
    assert!(
        norm_passes >= 3,
        "{norm_passes} batch-norm passes reached cpu-norm: is patches/burn-flex still used?"
    );
}

#[test]
// Indices spell out the definition.
#[allow(clippy::needless_range_loop)]
fn a_3d_convolution_and_its_gradients_run_through_the_workspace_kernels_and_are_the_definition() {
    use burn::nn::conv::Conv3dConfig;
    use burn::nn::PaddingConfig3d;
    let device = Device::flex().autodiff();
    let conv = Conv3dConfig::new([2, 3], [3, 3, 3])
        .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
        .init(&device);
    let [d, h, w] = [5usize, 6, 4];
    let x = Tensor::<5>::random([2, 2, d, h, w], Distribution::Default, &device).require_grad();
    let g = Tensor::<5>::random([2, 3, d, h, w], Distribution::Default, &device);
    let before = cpu_conv::passes_run();
    let out = conv.forward(x.clone());
    // d(sum(out * g))/d(out) = g: the gradients below are those of the output gradient g.
    let grads = (out.clone() * g.clone()).sum().backward();
    assert!(
        cpu_conv::passes_run() >= before + 3,
        "the 3-D convolution and its gradients did not reach cpu-conv: is patches/burn-flex still used?"
    );
    // Against the definition, in f64 from the same f32 values.
    let values = |t: Tensor<5>| t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
    let (xs, ws, gs) = (values(x.clone()), values(conv.weight.val()), values(g));
    let bs = conv
        .bias
        .as_ref()
        .unwrap()
        .val()
        .into_data()
        .convert::<f64>();
    let bs = bs.try_to_vec::<f64>().unwrap();
    let (mut want, mut want_dx, mut want_dw) = (
        vec![0.0; gs.len()],
        vec![0.0; xs.len()],
        vec![0.0; ws.len()],
    );
    for b in 0..2 {
        for o in 0..3 {
            for z in 0..d {
                for y in 0..h {
                    for xx in 0..w {
                        let out = (((b * 3 + o) * d + z) * h + y) * w + xx;
                        want[out] += bs[o];
                        for c in 0..2 {
                            for k in 0..3 {
                                for i in 0..3 {
                                    for j in 0..3 {
                                        let (iz, iy, ix) = (
                                            z as isize + k as isize - 1,
                                            y as isize + i as isize - 1,
                                            xx as isize + j as isize - 1,
                                        );
                                        if iz < 0
                                            || iy < 0
                                            || ix < 0
                                            || iz >= d as isize
                                            || iy >= h as isize
                                            || ix >= w as isize
                                        {
                                            continue;
                                        }
                                        let input =
                                            (((b * 2 + c) * d + iz as usize) * h + iy as usize) * w
                                                + ix as usize;
                                        let weight = (((o * 2 + c) * 3 + k) * 3 + i) * 3 + j;
                                        want[out] += ws[weight] * xs[input];
                                        want_dx[input] += ws[weight] * gs[out];
                                        want_dw[weight] += xs[input] * gs[out];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let dx = x.grad(&grads).unwrap().into_data().convert::<f64>();
    let dw = conv
        .weight
        .grad(&grads)
        .unwrap()
        .into_data()
        .convert::<f64>();
    for (what, got, want) in [
        ("forward", values(out), want),
        ("input gradient", dx.try_to_vec::<f64>().unwrap(), want_dx),
        ("weight gradient", dw.try_to_vec::<f64>().unwrap(), want_dw),
    ] {
        for (index, (a, e)) in got.iter().zip(&want).enumerate() {
            assert!(
                (a - e).abs() < 1e-4 * (1.0 + e.abs()),
                "{what}[{index}]: {a} {e}"
            );
        }
    }
}

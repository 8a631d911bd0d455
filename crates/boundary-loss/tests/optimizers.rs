//! The optimisers take the steps PyTorch takes with the original's settings (Adam betas 0.9,
//! 0.99 and PyTorch's epsilon 1e-8; SGD momentum 0.99, no dampening, weight decay 5e-4):
//! three steps on a fixed parameter vector with fixed gradients, against values computed with
//! torch by `tests/reference/make_optimizer_steps.py`.

use boundary_loss::train::optim::build_optimizer;
use boundary_loss::train::{OptimizerKind, RunConfig};
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

#[derive(Module, Debug)]
struct Parameters {
    values: Param<Tensor<1>>,
}

fn vector(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

/// The parameters after each step of `kind` (with `adam_epsilon`), the gradient of step `t`
/// being `gradients[t]`.
fn steps(kind: OptimizerKind, adam_epsilon: f64, lr: f64, reference: &Value) -> Vec<Vec<f32>> {
    let device = Device::flex().autodiff();
    let initial = vector(&reference["initial"]);
    let n = initial.len();
    let mut module = Parameters {
        values: Param::from_tensor(Tensor::from_data(TensorData::new(initial, [n]), &device)),
    };
    let mut optimizer = build_optimizer(kind, adam_epsilon);
    let mut after = Vec::new();
    for gradient in reference["gradients"].as_array().unwrap() {
        let g = Tensor::<1>::from_data(TensorData::new(vector(gradient), [n]), &device);
        let loss = module.values.val().mul(g).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &module);
        module = optimizer.step(lr, module, grads);
        after.push(module.values.val().into_data().try_to_vec::<f32>().unwrap());
    }
    after
}

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/optimizer_steps.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Largest difference between our steps and torch's, relative to max(1, |value|).
fn largest_difference(ours: &[Vec<f32>], torch: &Value) -> f64 {
    let mut worst = 0f64;
    for (step, expected) in ours.iter().zip(torch.as_array().unwrap()) {
        for (&a, b) in step.iter().zip(vector(expected)) {
            let scale = (b.abs() as f64).max(1.0);
            worst = worst.max((a as f64 - b as f64).abs() / scale);
        }
    }
    worst
}

#[test]
fn adam_steps_as_pytorch_with_the_run_file_default_epsilon() {
    let r = reference();
    let epsilon = RunConfig::default().optimiser.adam_epsilon;
    assert_eq!(epsilon, 1e-8);
    let lr = r["adam"]["lr"].as_f64().unwrap();
    let ours = steps(OptimizerKind::Adam, epsilon, lr, &r);
    let worst = largest_difference(&ours, &r["adam"]["steps"]);
    assert!(worst < 2e-7, "largest relative difference {worst:e}");
    // Burn's own default (1e-5) is measurably different on small gradients.
    let burn_default = steps(OptimizerKind::Adam, 1e-5, lr, &r);
    assert!(largest_difference(&burn_default, &r["adam"]["steps"]) > 1e-5);
}

#[test]
fn sgd_steps_as_pytorch() {
    let r = reference();
    let lr = r["sgd"]["lr"].as_f64().unwrap();
    let ours = steps(OptimizerKind::Sgd, 1e-8, lr, &r);
    let worst = largest_difference(&ours, &r["sgd"]["steps"]);
    assert!(worst < 2e-7, "largest relative difference {worst:e}");
}

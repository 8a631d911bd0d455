//! The networks' batch normalisation against PyTorch's own `nn.BatchNorm2d` and
//! `nn.BatchNorm3d` (tests/reference/batch_norm.json, written by make_batch_norm.py): outputs,
//! input gradients and running statistics over three training steps, then an evaluation-mode
//! output that reads the running statistics. PyTorch keeps the unbiased running variance; the
//! cases with few values per channel (batch 1, a 2x2x2 patch) would miss it by 14 % if we kept
//! the biased one.

use std::collections::BTreeMap;

use boundary_loss::nets::BatchNorm;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;

#[derive(Deserialize)]
struct TrainStep {
    input: Vec<f32>,
    upstream: Vec<f32>,
    output: Vec<f32>,
    input_grad: Vec<f32>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
}

#[derive(Deserialize)]
struct EvalStep {
    input: Vec<f32>,
    output: Vec<f32>,
}

#[derive(Deserialize)]
struct Case {
    shape: Vec<usize>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    train: Vec<TrainStep>,
    eval: EvalStep,
}

#[derive(Deserialize)]
struct Reference {
    cases: BTreeMap<String, Case>,
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Float32 agreement: both sides round differently, the definitions are the same.
fn close(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= 2e-5 * (1.0 + e.abs()),
            "{what}[{k}]: ours {a}, PyTorch {e}"
        );
    }
}

fn check<const D: usize>(name: &str, case: &Case) {
    let device = Device::flex().autodiff();
    let channels = case.shape[1];
    let mut norm = BatchNorm::new(channels, &device);
    let param = |v: &[f32]| Param::from_data(TensorData::new(v.to_vec(), [channels]), &device);
    norm.gamma = param(&case.gamma);
    norm.beta = param(&case.beta);
    let tensor = |v: &[f32], device: &Device| {
        Tensor::<D>::from_data(TensorData::new(v.to_vec(), case.shape.clone()), device)
    };
    for (i, step) in case.train.iter().enumerate() {
        let what = |field: &str| format!("{name}, training step {i}, {field}");
        let x = tensor(&step.input, &device).require_grad();
        let y = norm.forward(x.clone());
        let grads = y
            .clone()
            .mul(tensor(&step.upstream, &device))
            .sum()
            .backward();
        close(&read(y), &step.output, &what("output"));
        close(
            &read(x.grad(&grads).unwrap()),
            &step.input_grad,
            &what("input gradient"),
        );
        close(
            &read(norm.running_mean.value_sync()),
            &step.running_mean,
            &what("running mean"),
        );
        close(
            &read(norm.running_var.value_sync()),
            &step.running_var,
            &what("running variance"),
        );
    }
    // Evaluation mode is the network's `valid()` copy, as the trainer validates.
    let model = norm.valid();
    let device = Device::flex();
    let y = model.forward(tensor(&case.eval.input, &device));
    close(
        &read(y),
        &case.eval.output,
        &format!("{name}, evaluation output"),
    );
}

#[test]
fn batch_norm_matches_pytorch_in_training_and_evaluation() {
    let reference: Reference =
        serde_json::from_str(include_str!("reference/batch_norm.json")).unwrap();
    assert_eq!(reference.cases.len(), 4);
    for (name, case) in &reference.cases {
        match case.shape.len() {
            4 => check::<4>(name, case),
            5 => check::<5>(name, case),
            rank => panic!("{name}: rank {rank}"),
        }
    }
}

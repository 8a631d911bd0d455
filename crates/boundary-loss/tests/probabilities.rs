//! How the trainer turns logits into probabilities (the original's `softmax(T * logits)`; the
//! one-channel sigmoid) and builds its loss terms from the run file.

use boundary_loss::losses::{HausdorffLoss, Loss};
use boundary_loss::train::step::{build_loss, probabilities};
use boundary_loss::train::{Activation, LossKind, LossTerm};
use burn::tensor::{Device, Tensor, TensorData};

fn host(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn logits(shape: [usize; 4]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.3)
        .collect()
}

#[test]
fn softmax_of_temperature_times_logits() {
    let device = Device::flex();
    let shape = [1, 3, 2, 2];
    let values = logits(shape);
    let t = 2.5f32;
    let probs = host(probabilities(
        Tensor::from_data(TensorData::new(values.clone(), shape), &device),
        Activation::Softmax,
        t as f64,
    ));
    for pixel in 0..4 {
        let e: Vec<f64> = (0..3)
            .map(|k| ((t * values[k * 4 + pixel]) as f64).exp())
            .collect();
        let sum: f64 = e.iter().sum();
        for k in 0..3 {
            let got = probs[k * 4 + pixel] as f64;
            assert!(
                (got - e[k] / sum).abs() < 1e-6,
                "class {k}: {got} vs {}",
                e[k] / sum
            );
        }
    }
}

#[test]
fn a_sigmoid_channel_gives_background_and_foreground() {
    let device = Device::flex();
    let shape = [2, 1, 2, 2];
    let values = logits(shape);
    let probs = host(probabilities(
        Tensor::from_data(TensorData::new(values.clone(), shape), &device),
        Activation::Sigmoid,
        2.0,
    ));
    assert_eq!(probs.len(), 16, "(B, 2, H, W)");
    for b in 0..2 {
        for pixel in 0..4 {
            let p = 1.0 / (1.0 + (-2.0 * values[b * 4 + pixel] as f64).exp());
            let (bg, fg) = (probs[b * 8 + pixel] as f64, probs[b * 8 + 4 + pixel] as f64);
            assert!((fg - p).abs() < 1e-6 && (bg - (1.0 - p)).abs() < 1e-6);
        }
    }
}

#[test]
fn the_hausdorff_prediction_map_follows_the_run_truncation_unless_set() {
    let device = Device::flex();
    let shape = [1, 2, 12, 12];
    // Prediction: a diamond (non-integer distances inside); target: a square.
    let mut fg = vec![0f32; 144];
    let mut target = vec![0f32; 288];
    for y in 0..12i32 {
        for x in 0..12i32 {
            let i = (y * 12 + x) as usize;
            fg[i] = if (y - 6).abs() + (x - 5).abs() <= 4 {
                0.9
            } else {
                0.1
            };
            let inside = (3..9).contains(&y) && (3..9).contains(&x);
            target[i] = if inside { 0.0 } else { 1.0 };
            target[144 + i] = if inside { 1.0 } else { 0.0 };
        }
    }
    let probs: Vec<f32> = fg
        .iter()
        .map(|p| 1.0 - p)
        .chain(fg.iter().copied())
        .collect();
    let tensor = |v: &Vec<f32>| Tensor::<4>::from_data(TensorData::new(v.clone(), shape), &device);
    let value = |f: &dyn Fn(Tensor<4>, Tensor<4>) -> f32| f(tensor(&probs), tensor(&target));
    let direct = |truncate: bool| {
        let mut loss = HausdorffLoss::new(vec![1]);
        loss.truncate_prediction_map = truncate;
        value(&|p, t| loss.loss(p, t).unwrap().into_scalar::<f32>())
    };
    let (exact, truncated) = (direct(false), direct(true));
    assert_ne!(
        exact, truncated,
        "the test input must be sensitive to truncation"
    );
    let term = LossTerm::new(
        LossKind::Hausdorff {
            truncate_prediction_map: None,
        },
        vec![1],
        1.0,
        1,
    );
    let built = |term: &LossTerm, run_truncates: bool| {
        let loss = build_loss(term, true, run_truncates);
        value(&|p, t| loss(p, t).unwrap().into_scalar::<f32>())
    };
    assert_eq!(built(&term, false), exact);
    assert_eq!(built(&term, true), truncated);
    let mut explicit = term.clone();
    explicit.kind = LossKind::Hausdorff {
        truncate_prediction_map: Some(false),
    };
    assert_eq!(built(&explicit, true), exact);
}

//! The empty-slice gradient hole and the switches that close it.
//!
//! * GeneralizedDice's `batch` and `absent_weight = largest` against MONAI's own
//!   `GeneralizedDiceLoss` (tests/reference/monai_gdl.json, written by make_monai_gdl.py): loss
//!   values and gradients with respect to the probabilities.
//! * Through the loss API: on a slice without foreground, a false positive's gradient is about 0
//!   with the original's GDL and boundary maps, and clearly not with each switch.

use std::collections::BTreeMap;

use boundary_loss::losses::{AbsentClassWeight, BoundaryLoss, GeneralizedDice};
use burn::tensor::{Device, Tensor, TensorData};
use distmap::{distance_maps, AbsentClass, MapOptions};
use ndarray::{ArrayD, IxDyn};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    loss: f64,
    grad: Vec<f64>,
}

#[derive(Deserialize)]
struct Case {
    shape: Vec<usize>,
    idc: Vec<usize>,
    probs: Vec<f32>,
    target: Vec<f32>,
    expected: BTreeMap<String, Expected>,
}

#[derive(Deserialize)]
struct Reference {
    cases: BTreeMap<String, Case>,
}

fn tensor<const D: usize>(values: &[f32], shape: &[usize], device: &Device) -> Tensor<D> {
    Tensor::<D>::from_data(TensorData::new(values.to_vec(), shape.to_vec()), device)
}

/// The loss and its gradient with respect to the probabilities.
fn loss_and_gradient<const D: usize>(
    loss: &dyn Fn(Tensor<D>, Tensor<D>) -> Tensor<1>,
    probs: &[f32],
    second: &[f32],
    shape: &[usize],
) -> (f64, Vec<f32>) {
    let device = Device::flex().autodiff();
    let leaf = tensor::<D>(probs, shape, &device).require_grad();
    let value = loss(leaf.clone(), tensor(second, shape, &device));
    let scalar = value.clone().into_scalar::<f32>() as f64;
    let grads = value.backward();
    let gradient = leaf
        .grad(&grads)
        .expect("the probabilities are a leaf")
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    (scalar, gradient)
}

fn gdl(idc: &[usize], batch: bool, absent_weight: AbsentClassWeight) -> GeneralizedDice {
    let mut loss = GeneralizedDice::new(idc.to_vec());
    loss.batch = batch;
    loss.absent_weight = absent_weight;
    loss
}

fn check_against_monai<const D: usize>(name: &str, case: &Case) {
    for batch in [false, true] {
        let expected = &case.expected[&format!("batch={batch}")];
        let loss = gdl(&case.idc, batch, AbsentClassWeight::Largest);
        let (value, gradient) = loss_and_gradient::<D>(
            &|p, t| loss.forward(p, t).unwrap(),
            &case.probs,
            &case.target,
            &case.shape,
        );
        assert!(
            (value - expected.loss).abs() <= 1e-5 * expected.loss.abs().max(1.0),
            "{name} batch={batch}: loss {value}, MONAI {}",
            expected.loss
        );
        let scale = expected.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(
            scale > 0.0 || name.contains("all_absent"),
            "{name}: no gradient at all"
        );
        for (i, (&g, &want)) in gradient.iter().zip(&expected.grad).enumerate() {
            assert!(
                (g as f64 - want).abs() <= 1e-4 * scale + 1e-3 * want.abs() + 1e-12,
                "{name} batch={batch} element {i}: gradient {g}, MONAI {want}"
            );
        }
    }
}

#[test]
fn generalized_dice_switches_match_monai() {
    let reference: Reference =
        serde_json::from_str(include_str!("reference/monai_gdl.json")).unwrap();
    assert!(reference.cases.len() >= 4);
    for (name, case) in &reference.cases {
        match case.shape.len() {
            4 => check_against_monai::<4>(name, case),
            5 => check_against_monai::<5>(name, case),
            other => panic!("{name}: rank {other}"),
        }
    }
}

/// Two 16 x 16 slices, two classes: slice 0 holds a lesion, slice 1 none. The network predicts
/// the lesion on slice 0 and a false positive of `fp` pixels on slice 1, at the top left.
struct Batch {
    probs: Vec<f32>,
    target: Vec<f32>,
    labels: Vec<u8>,
}

const SIDE: usize = 16;
const SHAPE: [usize; 4] = [2, 2, SIDE, SIDE];

fn batch() -> Batch {
    let pixels = SIDE * SIDE;
    let mut labels = vec![0u8; 2 * pixels];
    for y in 6..10 {
        for x in 5..9 {
            labels[y * SIDE + x] = 1;
        }
    }
    let mut foreground = vec![0.05f32; 2 * pixels];
    for (p, &l) in foreground.iter_mut().zip(&labels) {
        if l == 1 {
            *p = 0.9;
        }
    }
    // The false positive on the empty slice.
    for y in 0..3 {
        for x in 0..3 {
            foreground[pixels + y * SIDE + x] = 0.8;
        }
    }
    let mut probs = vec![0.0f32; 2 * 2 * pixels];
    let mut target = vec![0.0f32; 2 * 2 * pixels];
    for b in 0..2 {
        for i in 0..pixels {
            let p = foreground[b * pixels + i];
            let l = labels[b * pixels + i] as usize;
            probs[(b * 2) * pixels + i] = 1.0 - p;
            probs[(b * 2 + 1) * pixels + i] = p;
            target[(b * 2 + l) * pixels + i] = 1.0;
        }
    }
    Batch {
        probs,
        target,
        labels,
    }
}

/// The gradient with respect to the foreground probability of the false-positive pixel (0, 0)
/// of the empty slice.
fn false_positive_gradient(gradient: &[f32]) -> f32 {
    gradient[(2 + 1) * SIDE * SIDE]
}

#[test]
fn original_gdl_has_no_gradient_on_an_empty_slice_and_the_switches_give_one() {
    let b = batch();
    let at = |batch: bool, absent: AbsentClassWeight| {
        let loss = gdl(&[0, 1], batch, absent);
        let (_, gradient) = loss_and_gradient::<4>(
            &|p, t| loss.forward(p, t).unwrap(),
            &b.probs,
            &b.target,
            &SHAPE,
        );
        false_positive_gradient(&gradient)
    };
    let original = at(false, AbsentClassWeight::Original);
    // The original: weight 1e20 on the absent class, the loss pinned at 1.0000.
    assert!(original.abs() < 1e-20, "original: {original}");
    for (batch, absent) in [
        (false, AbsentClassWeight::Largest),
        (true, AbsentClassWeight::Original),
        (true, AbsentClassWeight::Largest),
    ] {
        let g = at(batch, absent);
        // Raising a false positive's probability must raise the loss, visibly.
        assert!(g > 1e-5, "batch={batch} {absent:?}: {g}");
    }
}

#[test]
fn boundary_loss_penalises_a_false_positive_only_with_the_diagonal_map() {
    let b = batch();
    let spacing = [0.8, 1.25];
    let maps_with = |absent: AbsentClass| -> Vec<f32> {
        let mut all = Vec::new();
        for slice in b.labels.chunks(SIDE * SIDE) {
            let labels = ArrayD::from_shape_vec(IxDyn(&[SIDE, SIDE]), slice.to_vec()).unwrap();
            let options = MapOptions {
                absent,
                ..MapOptions::default()
            };
            let maps: ArrayD<f32> = distance_maps(labels.view(), 2, &spacing, &options).unwrap();
            all.extend(maps.iter().copied());
        }
        all
    };
    let loss = BoundaryLoss::new(vec![1]);
    let gradient_with = |absent| {
        let (_, g) = loss_and_gradient::<4>(
            &|p, d| loss.forward(p, d).unwrap(),
            &b.probs,
            &maps_with(absent),
            &SHAPE,
        );
        false_positive_gradient(&g)
    };
    assert_eq!(gradient_with(AbsentClass::Zeros), 0.0);
    // d/dp of mean(p * phi) is phi / (B * |idc| * pixels), with phi the diagonal in mm.
    let diagonal = ((SIDE as f64 * 0.8).powi(2) + (SIDE as f64 * 1.25).powi(2)).sqrt();
    let want = diagonal / (2 * SIDE * SIDE) as f64;
    let got = gradient_with(AbsentClass::Diagonal) as f64;
    assert!((got - want).abs() <= 1e-6 * want, "{got} vs {want}");
}

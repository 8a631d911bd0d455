//! Loss values against the original formulas (tests/reference/losses.json, written by
//! make_loss_references.py in float64 numpy), gradients against finite differences, and the
//! input checks.

use std::collections::BTreeMap;

use boundary_loss::losses::{
    BoundaryLoss, CrossEntropy, DiceLoss, FocalLoss, GeneralizedDice, HausdorffLoss, LossError,
};
use burn::tensor::{activation::softmax, Device, Tensor, TensorData};
use serde_json::Value;

fn device() -> Device {
    Device::flex()
}

struct Case {
    name: String,
    shape: Vec<usize>,
    probs: Vec<f32>,
    target: Vec<f32>,
    distance_maps: Vec<f32>,
    expected: BTreeMap<String, BTreeMap<String, f64>>,
}

fn cases() -> Vec<Case> {
    let text = include_str!("reference/losses.json");
    let all: BTreeMap<String, Value> = serde_json::from_str(text).unwrap();
    let floats = |v: &Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    all.into_iter()
        .map(|(name, case)| Case {
            name,
            shape: case["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect(),
            probs: floats(&case["probs"]),
            target: floats(&case["target"]),
            distance_maps: floats(&case["distance_maps"]),
            expected: serde_json::from_value(case["expected"].clone()).unwrap(),
        })
        .collect()
}

fn tensor<const D: usize>(values: &[f32], shape: &[usize], device: &Device) -> Tensor<D> {
    Tensor::<D>::from_data(TensorData::new(values.to_vec(), shape.to_vec()), device)
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

/// Every loss of a case, keyed like the reference file.
fn all_losses<const D: usize>(
    idc: &[usize],
    probs: Tensor<D>,
    target: Tensor<D>,
    maps: Tensor<D>,
) -> Result<BTreeMap<String, f64>, LossError> {
    let idc = idc.to_vec();
    let mut hd_truncated = HausdorffLoss::new(idc.clone());
    hd_truncated.truncate_prediction_map = true;
    Ok(BTreeMap::from([
        (
            "BoundaryLoss".into(),
            scalar(BoundaryLoss::new(idc.clone()).forward(probs.clone(), maps)?),
        ),
        (
            "GeneralizedDice".into(),
            scalar(GeneralizedDice::new(idc.clone()).forward(probs.clone(), target.clone())?),
        ),
        (
            "DiceLoss".into(),
            scalar(DiceLoss::new(idc.clone()).forward(probs.clone(), target.clone())?),
        ),
        (
            "CrossEntropy".into(),
            scalar(CrossEntropy::new(idc.clone()).forward(probs.clone(), target.clone())?),
        ),
        (
            "FocalLoss(gamma=2)".into(),
            scalar(FocalLoss::new(idc.clone(), 2.0).forward(probs.clone(), target.clone())?),
        ),
        (
            "HausdorffLoss".into(),
            scalar(HausdorffLoss::new(idc.clone()).forward(probs.clone(), target.clone())?),
        ),
        (
            "HausdorffLoss(truncated prediction map)".into(),
            scalar(hd_truncated.forward(probs, target)?),
        ),
    ]))
}

fn computed(case: &Case, idc: &[usize]) -> BTreeMap<String, f64> {
    let d = device();
    match case.shape.len() {
        4 => all_losses::<4>(
            idc,
            tensor(&case.probs, &case.shape, &d),
            tensor(&case.target, &case.shape, &d),
            tensor(&case.distance_maps, &case.shape, &d),
        ),
        5 => all_losses::<5>(
            idc,
            tensor(&case.probs, &case.shape, &d),
            tensor(&case.target, &case.shape, &d),
            tensor(&case.distance_maps, &case.shape, &d),
        ),
        other => panic!("rank {other}"),
    }
    .unwrap()
}

#[test]
fn values_match_the_original_formulas() {
    let cases = cases();
    assert_eq!(cases.len(), 3);
    let mut checked = 0;
    for case in &cases {
        for (idc_key, expected) in &case.expected {
            let idc: Vec<usize> = idc_key.split(',').map(|k| k.parse().unwrap()).collect();
            let got = computed(case, &idc);
            for (loss, &want) in expected {
                let value = got[loss];
                let tolerance = 1e-6 + 2e-5 * want.abs();
                assert!(
                    (value - want).abs() <= tolerance,
                    "{} idc {idc_key} {loss}: got {value}, reference {want}",
                    case.name
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 3 * 7);
}

#[test]
fn boundary_loss_is_negative_at_the_optimum() {
    for case in cases() {
        let d = device();
        let shape = &case.shape;
        let all: Vec<usize> = (0..shape[1]).collect();
        let (at_optimum, random) = match shape.len() {
            4 => {
                let loss = BoundaryLoss::new(all);
                let maps = tensor::<4>(&case.distance_maps, shape, &d);
                (
                    scalar(
                        loss.forward(tensor::<4>(&case.target, shape, &d), maps.clone())
                            .unwrap(),
                    ),
                    scalar(
                        loss.forward(tensor::<4>(&case.probs, shape, &d), maps)
                            .unwrap(),
                    ),
                )
            }
            _ => {
                let loss = BoundaryLoss::new(all);
                let maps = tensor::<5>(&case.distance_maps, shape, &d);
                (
                    scalar(
                        loss.forward(tensor::<5>(&case.target, shape, &d), maps.clone())
                            .unwrap(),
                    ),
                    scalar(
                        loss.forward(tensor::<5>(&case.probs, shape, &d), maps)
                            .unwrap(),
                    ),
                )
            }
        };
        assert!(at_optimum < 0.0, "{}: {at_optimum}", case.name);
        assert!(
            at_optimum < random,
            "{}: optimum {at_optimum} vs random {random}",
            case.name
        );
    }
}

/// Loss of softmax(logits) for one named loss.
fn loss_of_logits<const D: usize>(
    name: &str,
    logits: Tensor<D>,
    target: Tensor<D>,
    maps: Tensor<D>,
) -> Tensor<1> {
    let probs = softmax(logits, 1);
    let idc = vec![0, 1, 2];
    match name {
        "BoundaryLoss" => BoundaryLoss::new(idc).forward(probs, maps),
        "GeneralizedDice" => GeneralizedDice::new(idc).forward(probs, target),
        "DiceLoss" => DiceLoss::new(vec![1, 2]).forward(probs, target),
        "CrossEntropy" => CrossEntropy::new(idc).forward(probs, target),
        "FocalLoss" => FocalLoss::new(idc, 2.0).forward(probs, target),
        "HausdorffLoss" => HausdorffLoss::new(vec![1, 2]).forward(probs, target),
        other => panic!("{other}"),
    }
    .unwrap()
}

fn check_gradients<const D: usize>(case: &Case) {
    let shape = &case.shape;
    // Logits whose softmax is the case's probabilities.
    let logits: Vec<f32> = case.probs.iter().map(|p| p.ln()).collect();
    let plain = device();
    let differentiable = device().autodiff();
    for name in [
        "BoundaryLoss",
        "GeneralizedDice",
        "DiceLoss",
        "CrossEntropy",
        "FocalLoss",
        "HausdorffLoss",
    ] {
        let leaf = tensor::<D>(&logits, shape, &differentiable).require_grad();
        let loss = loss_of_logits(
            name,
            leaf.clone(),
            tensor(&case.target, shape, &differentiable),
            tensor(&case.distance_maps, shape, &differentiable),
        );
        let loss_value = loss.clone().into_scalar::<f32>().abs();
        let grads = loss.backward();
        let analytic: Vec<f32> = leaf
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let scale = analytic.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        let step = 1e-2f32;
        for index in [
            0,
            7,
            logits.len() / 3,
            logits.len() / 2 + 5,
            logits.len() - 1,
        ] {
            let at = |delta: f32| {
                let mut moved = logits.clone();
                moved[index] += delta;
                scalar(loss_of_logits(
                    name,
                    tensor::<D>(&moved, shape, &plain),
                    tensor(&case.target, shape, &plain),
                    tensor(&case.distance_maps, shape, &plain),
                ))
            };
            let numeric = ((at(step) - at(-step)) / (2.0 * step as f64)) as f32;
            // f32 rounding of the two loss values, divided by the step, bounds the numeric noise.
            let rounding = 8.0 * f32::EPSILON * loss_value / step;
            let tolerance = rounding + 2e-3 * scale + 2e-2 * analytic[index].abs();
            assert!(
                (numeric - analytic[index]).abs() <= tolerance,
                "{} {name} element {index}: autodiff {} vs finite difference {numeric}",
                case.name,
                analytic[index]
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences_rank_2_and_3() {
    for case in cases().iter().filter(|c| c.shape[1] == 3) {
        match case.shape.len() {
            4 => check_gradients::<4>(case),
            _ => check_gradients::<5>(case),
        }
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let d = device();
    let shape = [1, 2, 3, 3];
    let probs = tensor::<4>(&[0.5; 18], &shape, &d);
    let target: Vec<f32> = (0..18).map(|i| if i < 9 { 1.0 } else { 0.0 }).collect();
    let target = tensor::<4>(&target, &shape, &d);

    let not_normalised = tensor::<4>(&[0.7; 18], &shape, &d);
    let err = GeneralizedDice::new(vec![0, 1])
        .forward(not_normalised.clone(), target.clone())
        .unwrap_err();
    assert!(err.to_string().contains("sum to 1"), "{err}");
    let mut unchecked = GeneralizedDice::new(vec![0, 1]);
    unchecked.checks = false;
    assert!(
        unchecked.forward(not_normalised, target.clone()).is_ok(),
        "checks can be turned off"
    );

    let err = CrossEntropy::new(vec![0, 1])
        .forward(probs.clone(), probs.clone())
        .unwrap_err();
    assert!(err.to_string().contains("one-hot"), "{err}");

    let err = DiceLoss::new(vec![2])
        .forward(probs.clone(), target.clone())
        .unwrap_err();
    assert!(err.to_string().contains("class 2 in idc"), "{err}");

    let other_shape = tensor::<4>(&[0.0; 12], &[1, 2, 2, 3], &d);
    let err = BoundaryLoss::new(vec![1])
        .forward(probs.clone(), other_shape)
        .unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");

    let logits = tensor::<4>(&[3.0; 18], &shape, &d);
    let err = BoundaryLoss::new(vec![1])
        .forward(logits, target.clone())
        .unwrap_err();
    assert!(err.to_string().contains("softmax"), "{err}");

    let mut nan_maps = vec![0.0f32; 18];
    nan_maps[4] = f32::NAN;
    let err = BoundaryLoss::new(vec![1])
        .forward(probs, tensor::<4>(&nan_maps, &shape, &d))
        .unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
}

#[test]
fn configs_build_the_losses_with_the_original_defaults() {
    use boundary_loss::losses::{BoundaryLossConfig, FocalLossConfig, HausdorffLossConfig};
    // gamma has no default, as in the original.
    let focal = FocalLossConfig::new(vec![0, 1], 3.0).init();
    assert_eq!(
        (focal.gamma, focal.checks, focal.idc.clone()),
        (3.0, true, vec![0, 1])
    );
    let hausdorff = HausdorffLossConfig::new(vec![1])
        .with_truncate_prediction_map(true)
        .init();
    assert!(hausdorff.truncate_prediction_map && hausdorff.spacing.is_none());
    let unchecked = BoundaryLossConfig::new(vec![1]).with_checks(false).init();
    assert!(!unchecked.checks);
}

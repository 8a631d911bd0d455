//! The run file's options beyond the defaults, end to end on generated data: metric classes,
//! patient and resolution regexes, starting weights, saved training predictions, one patient per
//! batch, distance-map normalisation, the sigmoid output, and missing inputs.

use std::path::Path;

use boundary_loss::data::synthetic::generate;
use boundary_loss::data::{Dataset, Stream, StreamKind};
use ndarray::{Array2, Array3, ArrayD};
use ndarray_npy::{read_npy, write_npy};

mod common;
use common::{config, copy_dir, one_at_a_time, small_spec, streams, train_silently};

#[test]
fn empty_metric_classes_mean_every_class() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let mut run_config = config(&data, "Dimwit", None, 1);
    run_config.validation.metric_classes = vec![];
    let summary = train_silently(&run_config, &dir.path().join("run")).unwrap();
    assert_eq!(summary.metric_classes, vec![0, 1]);
    assert!(summary.best_val_dice.is_finite());
    assert!(dir.path().join("run/best.bpk").exists());
}

#[test]
fn the_patient_regex_must_match_the_start_of_every_stem() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let mut run_config = config(&data, "Dimwit", None, 1);
    // Found inside the stem, not at its start: Python's re.match fails, so do we.
    run_config.validation.patient_regex = r"(\d+_\d+)_\d+".into();
    let err = train_silently(&run_config, &dir.path().join("run"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("case_02_0_0000") && err.contains("patient_regex"),
        "{err}"
    );
    run_config.validation.patient_regex = r"case_\d+".into();
    let err = train_silently(&run_config, &dir.path().join("run2"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("capture group"), "{err}");
}

#[test]
fn a_run_starts_from_saved_weights() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let first = dir.path().join("first");
    train_silently(&config(&data, "Dimwit", None, 1), &first).unwrap();
    // Another seed (other initial weights), no learning: validation sees the loaded weights.
    let mut second_config = config(&data, "Dimwit", None, 1);
    second_config.run.seed = 99;
    second_config.optimiser.learning_rate = 0.0;
    let unloaded = dir.path().join("unloaded");
    train_silently(&second_config, &unloaded).unwrap();
    second_config.run.weights = Some(first.join("best.bpk"));
    let second = dir.path().join("second");
    train_silently(&second_config, &second).unwrap();
    let val = |run: &Path| -> Array3<f32> { read_npy(run.join("val_dice.npy")).unwrap() };
    assert_eq!(val(&first), val(&second));
    assert_ne!(val(&first), val(&unloaded));
    // Weights of another network: an error naming the file.
    let mut unet = config(&data, "UNet", Some(4), 1);
    unet.run.weights = Some(first.join("best.bpk"));
    let err = train_silently(&unet, &dir.path().join("unet"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("best.bpk"), "{err}");
}

#[test]
fn save_train_group_and_group_train() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let mut run_config = config(&data, "Dimwit", None, 1);
    run_config.run.save_train = true;
    run_config.validation.group = true;
    run_config.data.group_train = true;
    run_config.data.batch_size = 3;
    let run = dir.path().join("run");
    train_silently(&run_config, &run).unwrap();
    assert_eq!(
        std::fs::read_dir(run.join("iter000/train"))
            .unwrap()
            .count(),
        8
    );
    let loss_rows = |name: &str| -> usize {
        let a: Array3<f32> = read_npy(run.join(name)).unwrap();
        a.shape()[1]
    };
    // One batch per patient (2 + 2 patients), whatever the batch size.
    assert_eq!(loss_rows("tra_loss.npy"), 2);
    assert_eq!(loss_rows("val_loss.npy"), 2);
}

#[test]
fn distance_maps_can_be_normalised() {
    use boundary_loss::data::MapNormalization;
    let dir = tempfile::tempdir().unwrap();
    generate(&dir.path().join("data"), &small_spec()).unwrap();
    let read = |normalize: MapNormalization| -> Vec<f32> {
        let mut streams = streams();
        streams[2].normalize = normalize;
        let set = Dataset::open(&dir.path().join("data"), "train", streams, 2).unwrap();
        // A slice with lesion, so that both classes have a non-zero map.
        let index = (0..set.len())
            .find(|&i| set.read(i).unwrap().streams[1][256..].contains(&1.0))
            .unwrap();
        set.read(index).unwrap().streams[2].clone()
    };
    let raw = read(MapNormalization::None);
    let scaled = read(MapNormalization::Scale(4.0));
    for (r, s) in raw.iter().zip(&scaled) {
        assert!((r / 4.0 - s).abs() <= 1e-6 * r.abs().max(1.0));
    }
    let unit = read(MapNormalization::MaxAbs);
    for (class, (r, u)) in raw.chunks(256).zip(unit.chunks(256)).enumerate() {
        let largest = r.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(largest > 0.0, "class {class}");
        let unit_largest = u.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            (unit_largest - 1.0).abs() < 1e-6,
            "class {class}: {unit_largest}"
        );
        for (a, b) in r.iter().zip(u) {
            assert!((a / largest - b).abs() < 1e-6);
        }
    }
}

#[test]
fn binary_segmentation_with_one_sigmoid_channel() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let mut run_config = config(&data, "Dimwit", None, 2);
    run_config.network.activation = boundary_loss::train::Activation::Sigmoid;
    let run = dir.path().join("run");
    let summary = train_silently(&run_config, &run).unwrap();
    assert!(summary.best_val_dice.is_finite());
    let dice: Array3<f32> = read_npy(run.join("val_dice.npy")).unwrap();
    assert_eq!(dice.shape(), [2, 8, 2], "metrics as for K = 2");
    // The weights are those of a one-output-channel network.
    use boundary_loss::nets::{Architecture, BuildNetwork};
    use burn::module::Module;
    let one_channel = Architecture::Dimwit
        .build(2, 1, &burn::tensor::Device::flex())
        .unwrap();
    let record = burn::store::ModuleRecord::load(run.join("best.bpk")).unwrap();
    assert!(one_channel.try_load_record(record).is_ok());
}

/// HD95 as medpy (distmap's surface distances, checked against medpy in the distmap crate).
fn medpy_hd95(p: &ArrayD<bool>, t: &ArrayD<bool>, spacing: &[f64]) -> Option<f64> {
    segmentation_metrics::surface::SurfaceDistances::new(p.view(), t.view(), spacing)
        .unwrap()
        .map(|d| d.hd95_pooled())
}

#[test]
fn hd95_on_the_original_data_uses_the_pickle_slice_thickness() {
    let _turn = one_at_a_time();
    // The original's WMH validation slice, repeated as three slices of patient 100: a volume
    // whose slice thickness (3 mm in spacing_3d.pkl, keyed '100') enters the distances.
    let original = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/WMH");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("WMH");
    copy_dir(&original, &data);
    let mut spacing = serde_json::Map::new();
    for s in 0..3 {
        let stem = format!("100_00_{s:04}");
        for folder in ["in_npy", "gt_npy", "3d_distmap"] {
            let val = data.join("val").join(folder);
            if s > 0 {
                std::fs::copy(val.join("100_00_0000.npy"), val.join(format!("{stem}.npy")))
                    .unwrap();
            }
        }
        spacing.insert(
            stem,
            serde_json::json!([0.4949999889358878, 0.9599999785423279]),
        );
    }
    // The middle slice has no lesion: distances to the lesion cross slices.
    write_npy(
        data.join("val/gt_npy/100_00_0001.npy"),
        &Array2::<u8>::zeros((256, 256)),
    )
    .unwrap();
    std::fs::write(
        data.join("val/spacing.json"),
        serde_json::Value::Object(spacing).to_string(),
    )
    .unwrap();
    let mut run_config = config(&data, "Dimwit", None, 1);
    run_config.data.streams[2] = Stream::new("3d_distmap", StreamKind::Precomputed);
    run_config.validation.patient_regex = r"(\d+_\d+)_\d+".into();
    // Without the resolution regex, 'spacing_3d' has no entry '100_00': an error naming it.
    let err = train_silently(&run_config, &dir.path().join("no_regex"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'100_00'") && err.contains("spacing_3d"),
        "{err}"
    );
    run_config.validation.resolution_regex = Some(r"(\d+)_\d+_\d+".into());
    let run = dir.path().join("run");
    train_silently(&run_config, &run).unwrap();
    let hd95: Array3<f32> = read_npy(run.join("val_3d_hd95.npy")).unwrap();
    assert_eq!(hd95.shape(), [1, 1, 2]);
    let stack = |folder: &Path, ext: &str| -> ArrayD<u8> {
        let slices: Vec<Array2<u8>> = (0..3)
            .map(|s| {
                let path = folder.join(format!("100_00_{s:04}.{ext}"));
                volume_io::read_label_map(&path)
                    .unwrap()
                    .labels
                    .mapv(|v| v as u8)
                    .into_dimensionality()
                    .unwrap()
            })
            .collect();
        let views: Vec<_> = slices.iter().map(|s| s.view()).collect();
        ndarray::stack(ndarray::Axis(0), &views).unwrap().into_dyn()
    };
    let predicted = stack(&run.join("iter000/val"), "png");
    let truth = stack(&data.join("val/gt_npy"), "npy");
    // spacing_3d.pkl: (dx, dy, dz) = (0.495, 0.96, 3.0); the stack is (slices, x, y).
    let spacing = [3.0, 0.4949999889358878, 0.9599999785423279];
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let expected_hd95 = |p: &ArrayD<bool>, t: &ArrayD<bool>, spacing: &[f64]| {
        medpy_hd95(p, t, spacing).unwrap_or_else(|| {
            let (pe, te) = (!p.iter().any(|&v| v), !t.iter().any(|&v| v));
            if pe && te {
                0.0
            } else {
                boundary_loss::eval::diagonal(&[3, 256, 256], spacing)
            }
        })
    };
    let mut thickness_matters = false;
    for k in 0..2u8 {
        let (p, t) = (predicted.mapv(|v| v == k), truth.mapv(|v| v == k));
        let expected = expected_hd95(&p, &t, &spacing);
        let unit = expected_hd95(&p, &t, &[1.0, spacing[1], spacing[2]]);
        thickness_matters |= (unit - expected).abs() > 1e-3;
        let got = hd95[[0, 0, k as usize]] as f64;
        assert!(
            (got - expected).abs() <= 1e-4 * expected.max(1.0),
            "class {k}: {got} vs {expected} (metrics.csv:\n{csv})"
        );
    }
    assert!(
        thickness_matters,
        "the test volume must be sensitive to the slice thickness"
    );
}

#[test]
fn missing_inputs_name_the_file_and_the_run_file_field() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let run_config = config(&data, "Dimwit", None, 1);
    let error = |name: &str| {
        train_silently(&run_config, &dir.path().join(name))
            .unwrap_err()
            .to_string()
    };
    // The slice spacing, needed by the on-the-fly distance maps (use_spacing is on).
    std::fs::rename(
        data.join("train/spacing.json"),
        dir.path().join("spacing.json"),
    )
    .unwrap();
    let err = error("a");
    assert!(
        err.contains("use_spacing") && err.contains("train"),
        "{err}"
    );
    std::fs::rename(
        dir.path().join("spacing.json"),
        data.join("train/spacing.json"),
    )
    .unwrap();
    // A slice missing from the spacing table: named, with the table (the original's KeyError);
    // never 1 x 1 in silence.
    let table = data.join("train/spacing.json");
    let text = std::fs::read_to_string(&table).unwrap();
    let mut spacing: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).unwrap();
    let dropped = spacing.keys().nth(1).unwrap().clone();
    spacing.remove(&dropped);
    std::fs::write(&table, serde_json::to_string(&spacing).unwrap()).unwrap();
    let err = error("a2");
    assert!(
        err.contains(&format!("no entry for slice '{dropped}'"))
            && err.contains(&table.display().to_string()),
        "{err}"
    );
    // Without use_spacing the table is not read.
    let mut unit = run_config.clone();
    unit.data.use_spacing = false;
    train_silently(&unit, &dir.path().join("a3")).unwrap();
    std::fs::write(&table, text).unwrap();
    // The 3-D spacing, needed by the 3-D HD95.
    std::fs::rename(
        data.join("spacing_3d.json"),
        dir.path().join("spacing_3d.json"),
    )
    .unwrap();
    let err = error("b");
    assert!(err.contains("spacing_3d"), "{err}");
    std::fs::rename(
        dir.path().join("spacing_3d.json"),
        data.join("spacing_3d.json"),
    )
    .unwrap();
    // A stream's folder.
    std::fs::rename(data.join("val/gt_npy"), dir.path().join("gt_npy")).unwrap();
    let err = error("c");
    assert!(
        err.contains("streams[1].folder") && err.contains("val/gt_npy"),
        "{err}"
    );
}

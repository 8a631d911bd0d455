//! Training end to end on generated data: the run folder and its shapes, learning on a few
//! slices, and the data errors that name the file.

use std::path::Path;

use boundary_loss::data::synthetic::{self, generate, SyntheticSpec, PATIENT_REGEX};
use boundary_loss::data::{Dataset, Stream, StreamKind};
use boundary_loss::train::{
    resume, run, train, LossKind, LossTerm, RunConfig, RunSummary, Schedule, Silent, TrainError,
    TrainOptions,
};
use ndarray::{Array2, Array3, ArrayD};
use ndarray_npy::{read_npy, write_npy};

/// Burn's seeded random state is per process: tests that train take turns, so that one test's
/// draws do not interleave with another's (a run owns its process in real use).
static TRAINING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    TRAINING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn streams() -> Vec<Stream> {
    synthetic::streams()
}

fn config(dataset: &Path, network: &str, base: Option<usize>, epochs: usize) -> RunConfig {
    RunConfig {
        dataset: dataset.to_path_buf(),
        streams: streams(),
        network: network.parse().unwrap(),
        network_base: base,
        modalities: 2,
        classes: 2,
        losses: vec![
            LossTerm::new(LossKind::GeneralizedDice, vec![0, 1], 1.0, 1),
            LossTerm::new(LossKind::Boundary, vec![1], 0.0, 2),
        ],
        schedule: Schedule::Rebalance { step: 0.1 },
        learning_rate: 1e-3,
        epochs,
        batch_size: 4,
        metric_classes: vec![1],
        patient_regex: PATIENT_REGEX.into(),
        seed: 3,
        ..RunConfig::default()
    }
}

fn small_spec() -> SyntheticSpec {
    SyntheticSpec {
        train_patients: 2,
        val_patients: 2,
        slices_per_patient: 4,
        side: 16,
        modalities: 2,
        seed: 1,
    }
}

#[test]
fn dimwit_trains_two_epochs_and_writes_the_run_folder() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let run = dir.path().join("run");
    let summary = train(
        &config(&data, "Dimwit", None, 2),
        &run,
        &TrainOptions::default(),
        &mut Silent,
    )
    .unwrap();
    assert!(summary.best_epoch < 2);
    let (n_train, n_val, patients, classes, terms) = (8, 8, 2, 2, 2);
    let iterations = 2; // 8 slices, batches of 4
    let shape = |name: &str| -> Vec<usize> {
        let a: ArrayD<f32> = read_npy(run.join(name)).unwrap();
        a.shape().to_vec()
    };
    assert_eq!(shape("tra_loss.npy"), [2, iterations, terms]);
    assert_eq!(shape("val_loss.npy"), [2, iterations, terms]);
    assert_eq!(shape("tra_dice.npy"), [2, n_train, classes]);
    assert_eq!(shape("val_dice.npy"), [2, n_val, classes]);
    assert_eq!(shape("val_3d_dsc.npy"), [2, patients, classes]);
    assert_eq!(shape("val_3d_hd95.npy"), [2, patients, classes]);
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header + one row per epoch:\n{csv}");
    assert!(csv.starts_with("epoch,tra_loss,val_loss,tra_dice,val_dice"));
    assert_eq!(
        std::fs::read_to_string(run.join("val_3d_patients.txt")).unwrap(),
        "case_02_0\ncase_03_0\n"
    );
    for epoch in ["iter000", "iter001"] {
        assert_eq!(
            std::fs::read_dir(run.join(epoch).join("val"))
                .unwrap()
                .count(),
            n_val
        );
    }
    assert_eq!(
        std::fs::read_dir(run.join("best_epoch/val"))
            .unwrap()
            .count(),
        n_val
    );
    let best: usize = std::fs::read_to_string(run.join("best_epoch.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(best, summary.best_epoch);
    assert!(
        run.join("best.bpk").exists()
            && run.join("run.toml").exists()
            && run.join("version.txt").exists()
    );
    let resolved = RunConfig::from_file(&run.join("run.toml")).unwrap();
    assert_eq!(resolved.network, boundary_loss::nets::Architecture::Dimwit);
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(
        std::fs::read(run.join("best_epoch/val/case_02_0_0000.png")).unwrap(),
        std::fs::read(run.join(format!("iter{best:03}/val/case_02_0_0000.png"))).unwrap(),
        "best_epoch/ is a copy of the best iterNNN/"
    );
    // The original's logs: `weight * loss` per term; the CSV loss is their mean over iterations
    // and terms, the CSV Dice the mean of the last class.
    let tra_loss: Array3<f32> = read_npy(run.join("tra_loss.npy")).unwrap();
    assert!(
        tra_loss
            .slice(ndarray::s![0, .., 1])
            .iter()
            .all(|&v| v == 0.0),
        "epoch 0 weighs the boundary term 0: {tra_loss:?}"
    );
    assert!(tra_loss
        .slice(ndarray::s![1, .., 1])
        .iter()
        .any(|&v| v != 0.0));
    let tra_dice: Array3<f32> = read_npy(run.join("tra_dice.npy")).unwrap();
    for epoch in 0..2 {
        let row: Vec<&str> = csv.lines().nth(epoch + 1).unwrap().split(',').collect();
        let loss = tra_loss.index_axis(ndarray::Axis(0), epoch).mean().unwrap();
        assert_eq!(row[1], format!("{loss:.4}"), "{csv}");
        let dice = tra_dice.slice(ndarray::s![epoch, .., 1]).mean().unwrap();
        assert_eq!(row[3], format!("{dice:.4}"), "{csv}");
    }
    // The rebalancing schedule: alpha 1.0 then 0.9.
    assert!(
        csv.lines().nth(1).unwrap().ends_with("1.000;0.000"),
        "{csv}"
    );
    assert!(
        csv.lines().nth(2).unwrap().ends_with("0.900;0.100"),
        "{csv}"
    );
}

#[test]
fn a_small_unet_overfits_a_few_slices() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spec = SyntheticSpec {
        train_patients: 1,
        val_patients: 1,
        slices_per_patient: 4,
        side: 16,
        modalities: 2,
        seed: 5,
    };
    generate(&data, &spec).unwrap();
    // Validate on the training slices: over-fitting them is the point.
    std::fs::remove_dir_all(data.join("val")).unwrap();
    copy_dir(&data.join("train"), &data.join("val"));
    let mut run_config = config(&data, "UNet", Some(4), 40);
    // Cross-entropy: smooth, and it can approach 0 on every slice (the generalized Dice of a
    // slice without lesion stays near 1 unless the prediction there is exactly empty).
    run_config.losses = vec![LossTerm::new(LossKind::CrossEntropy, vec![0, 1], 1.0, 1)];
    run_config.schedule = Schedule::None;
    run_config.learning_rate = 1e-2;
    let run = dir.path().join("run");
    train(&run_config, &run, &TrainOptions::default(), &mut Silent).unwrap();
    let losses: ArrayD<f32> = read_npy(run.join("tra_loss.npy")).unwrap();
    let dice: ArrayD<f32> = read_npy(run.join("tra_dice.npy")).unwrap();
    let first_loss = losses.index_axis(ndarray::Axis(0), 0).mean().unwrap();
    let last_loss = losses.index_axis(ndarray::Axis(0), 39).mean().unwrap();
    let lesion_dice = |epoch: usize| {
        dice.index_axis(ndarray::Axis(0), epoch)
            .index_axis(ndarray::Axis(1), 1)
            .mean()
            .unwrap()
    };
    assert!(
        last_loss < 0.6 * first_loss,
        "loss falls: {first_loss} -> {last_loss}"
    );
    assert!(
        lesion_dice(39) > lesion_dice(0) + 0.2,
        "Dice rises: {} -> {}",
        lesion_dice(0),
        lesion_dice(39)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// One-slice data set whose files a test then breaks.
fn one_slice(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    for folder in ["in_npy", "gt_npy"] {
        std::fs::create_dir_all(data.join("train").join(folder)).unwrap();
    }
    write_npy(
        data.join("train/in_npy/case_1_0.npy"),
        &Array3::<f32>::from_elem((2, 8, 8), 0.5),
    )
    .unwrap();
    write_npy(
        data.join("train/gt_npy/case_1_0.npy"),
        &Array2::<u8>::zeros((8, 8)),
    )
    .unwrap();
    data
}

fn read_error(data: &Path) -> String {
    let dataset = Dataset::open(data, "train", streams(), 2);
    match dataset {
        Err(e) => e.to_string(),
        Ok(d) => d.read(0).unwrap_err().to_string(),
    }
}

#[test]
fn bad_data_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = one_slice(dir.path());
    assert!(Dataset::open(&data, "train", streams(), 2)
        .unwrap()
        .read(0)
        .is_ok());

    write_npy(
        data.join("train/gt_npy/case_1_0.npy"),
        &Array2::<u8>::from_elem((8, 8), 2),
    )
    .unwrap();
    let err = read_error(&data);
    assert!(
        err.contains("gt_npy/case_1_0.npy") && err.contains("label 2"),
        "{err}"
    );

    write_npy(
        data.join("train/gt_npy/case_1_0.npy"),
        &Array2::<u8>::zeros((8, 6)),
    )
    .unwrap();
    let err = read_error(&data);
    assert!(
        err.contains("gt_npy/case_1_0.npy") && err.contains("8x6"),
        "{err}"
    );

    write_npy(
        data.join("train/gt_npy/case_1_0.npy"),
        &Array2::<u8>::zeros((8, 8)),
    )
    .unwrap();
    write_npy(
        data.join("train/in_npy/case_1_0.npy"),
        &Array3::<f32>::from_elem((2, 8, 8), 1.5),
    )
    .unwrap();
    let err = read_error(&data);
    assert!(
        err.contains("in_npy/case_1_0.npy") && err.contains("outside [0, 1]"),
        "{err}"
    );

    write_npy(
        data.join("train/in_npy/case_1_0.npy"),
        &Array3::<f32>::from_elem((2, 8, 8), f32::NAN),
    )
    .unwrap();
    let err = read_error(&data);
    assert!(
        err.contains("in_npy/case_1_0.npy") && err.contains("NaN"),
        "{err}"
    );

    write_npy(
        data.join("train/in_npy/case_1_0.npy"),
        &Array3::<f32>::from_elem((2, 8, 8), 0.5),
    )
    .unwrap();
    write_npy(
        data.join("train/in_npy/case_1_1.npy"),
        &Array3::<f32>::from_elem((2, 8, 8), 0.5),
    )
    .unwrap();
    let err = read_error(&data);
    assert!(err.contains("case_1_1") && err.contains("missing"), "{err}");
}

#[test]
fn trains_on_data_prepared_by_the_original() {
    let _turn = one_at_a_time();
    // One training and one validation slice of WMH as the original's slice_wmh.py wrote them
    // (in_npy float32 (2, 256, 256), gt_npy uint8, 3d_distmap float32, spacing pickles).
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/WMH");
    let mut run_config = config(&data, "Dimwit", None, 1);
    run_config.streams[2] = Stream::new("3d_distmap", StreamKind::Precomputed);
    run_config.patient_regex = r"(\d+_\d+)_\d+".into();
    run_config.resolution_regex = Some(r"(\d+)_\d+_\d+".into());
    let dir = tempfile::tempdir().unwrap();
    let summary = train(
        &run_config,
        dir.path(),
        &TrainOptions::default(),
        &mut Silent,
    )
    .unwrap();
    assert_eq!(summary.best_epoch, 0);
    let dice: ArrayD<f32> = read_npy(dir.path().join("val_dice.npy")).unwrap();
    assert_eq!(dice.shape(), [1, 1, 2]);
    let val = Dataset::open(&data, "val", streams(), 2).unwrap();
    assert_eq!(
        val.spacing_of(0).len(),
        2,
        "spacing.pkl of the original is read"
    );
}

/// Every file of a run folder (but the checkpoint), path -> bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if name.starts_with("checkpoint") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_resumed_run_ends_with_the_files_of_an_uninterrupted_one() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let run_config = config(&data, "UNet", Some(4), 3);
    let whole = dir.path().join("whole");
    run(
        &run_config,
        &whole,
        &TrainOptions::default(),
        false,
        &mut Silent,
    )
    .unwrap();
    let interrupted = dir.path().join("interrupted");
    let stop = TrainOptions {
        stop_after: Some(2),
        ..TrainOptions::default()
    };
    run(&run_config, &interrupted, &stop, false, &mut Silent).unwrap();
    // A kill during epoch 2 can leave part of its predictions behind; resuming redoes it.
    std::fs::create_dir_all(interrupted.join("iter002/val")).unwrap();
    std::fs::write(
        interrupted.join("iter002/val/case_02_0_0000.png"),
        b"partial",
    )
    .unwrap();
    resume(&interrupted, &TrainOptions::default(), &mut Silent).unwrap();
    let (a, b) = (files(&whole), files(&interrupted));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    // Weight files embed random parameter ids: compare the weights they hold instead.
    let differing: Vec<&String> = a
        .iter()
        .filter(|(name, bytes)| !name.ends_with(".bpk") && *bytes != &b[*name])
        .map(|(n, _)| n)
        .collect();
    assert!(differing.is_empty(), "differ after resuming: {differing:?}");
    let trained = weights(Some(&whole.join("best.bpk")));
    assert_eq!(trained, weights(Some(&interrupted.join("best.bpk"))));
    assert_ne!(trained, weights(None), "the weight file was really loaded");
}

/// Every parameter and running statistic of a UNet(2, 2, base 4), loaded from a weight file or
/// freshly initialised, in module order.
fn weights(path: Option<&Path>) -> Vec<f32> {
    use boundary_loss::nets::Architecture;
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::tensor::{Device, Tensor};
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .extend(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let net = Architecture::UNet
        .build_with_base(2, 2, Some(4), &Device::flex())
        .unwrap();
    let net = match path {
        Some(path) => net.load_record(burn::store::ModuleRecord::load(path).unwrap()),
        None => net,
    };
    let mut collect = Collect(Vec::new());
    net.visit(&mut collect);
    assert!(!collect.0.is_empty());
    collect.0
}

fn train_silently(config: &RunConfig, dir: &Path) -> Result<RunSummary, TrainError> {
    train(config, dir, &TrainOptions::default(), &mut Silent)
}

#[test]
fn empty_metric_classes_mean_every_class() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&data, &small_spec()).unwrap();
    let mut run_config = config(&data, "Dimwit", None, 1);
    run_config.metric_classes = vec![];
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
    run_config.patient_regex = r"(\d+_\d+)_\d+".into();
    let err = train_silently(&run_config, &dir.path().join("run"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("case_02_0_0000") && err.contains("patient_regex"),
        "{err}"
    );
    run_config.patient_regex = r"case_\d+".into();
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
    second_config.seed = 99;
    second_config.learning_rate = 0.0;
    let unloaded = dir.path().join("unloaded");
    train_silently(&second_config, &unloaded).unwrap();
    second_config.weights = Some(first.join("best.bpk"));
    let second = dir.path().join("second");
    train_silently(&second_config, &second).unwrap();
    let val = |run: &Path| -> Array3<f32> { read_npy(run.join("val_dice.npy")).unwrap() };
    assert_eq!(val(&first), val(&second));
    assert_ne!(val(&first), val(&unloaded));
    // Weights of another network: an error naming the file.
    let mut unet = config(&data, "UNet", Some(4), 1);
    unet.weights = Some(first.join("best.bpk"));
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
    run_config.save_train = true;
    run_config.group = true;
    run_config.group_train = true;
    run_config.batch_size = 3;
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
    run_config.activation = boundary_loss::train::Activation::Sigmoid;
    let run = dir.path().join("run");
    let summary = train_silently(&run_config, &run).unwrap();
    assert!(summary.best_val_dice.is_finite());
    let dice: Array3<f32> = read_npy(run.join("val_dice.npy")).unwrap();
    assert_eq!(dice.shape(), [2, 8, 2], "metrics as for K = 2");
    // The weights are those of a one-output-channel network.
    use boundary_loss::nets::Architecture;
    use burn::module::Module;
    let one_channel = Architecture::Dimwit
        .build(2, 1, &burn::tensor::Device::flex())
        .unwrap();
    let record = burn::store::ModuleRecord::load(run.join("best.bpk")).unwrap();
    assert!(one_channel.try_load_record(record).is_ok());
}

/// HD95 as medpy (distmap's surface distances, checked against medpy in the distmap crate).
fn medpy_hd95(p: &ArrayD<bool>, t: &ArrayD<bool>, spacing: &[f64]) -> Option<f64> {
    distmap::surface::SurfaceDistances::new(p.view(), t.view(), spacing)
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
    run_config.streams[2] = Stream::new("3d_distmap", StreamKind::Precomputed);
    run_config.patient_regex = r"(\d+_\d+)_\d+".into();
    // Without the resolution regex, 'spacing_3d' has no entry '100_00': an error naming it.
    let err = train_silently(&run_config, &dir.path().join("no_regex"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'100_00'") && err.contains("spacing_3d"),
        "{err}"
    );
    run_config.resolution_regex = Some(r"(\d+)_\d+_\d+".into());
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

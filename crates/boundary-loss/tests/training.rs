//! Training end to end on generated data: the run folder and its shapes, learning on a few
//! slices, and the data errors that name the file.

use std::path::Path;

use boundary_loss::data::synthetic::{generate, SyntheticSpec};
use boundary_loss::data::{Dataset, Stream, StreamKind};
use boundary_loss::train::{
    resume, run, train, LossKind, LossTerm, RunConfig, Schedule, Silent, TrainOptions,
};
use ndarray::{Array2, Array3, ArrayD};
use ndarray_npy::{read_npy, write_npy};

mod common;
use common::{config, copy_dir, one_at_a_time, small_spec, streams};

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
    assert_eq!(
        resolved.network.architecture,
        boundary_loss::nets::Architecture::Dimwit
    );
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
    run_config.losses.terms = vec![LossTerm::new(LossKind::CrossEntropy, vec![0, 1], 1.0, 1)];
    run_config.schedule.loss_weights = Schedule::None;
    run_config.optimiser.learning_rate = 1e-2;
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
    run_config.data.streams[2] = Stream::new("3d_distmap", StreamKind::Precomputed);
    run_config.validation.patient_regex = r"(\d+_\d+)_\d+".into();
    run_config.validation.resolution_regex = Some(r"(\d+)_\d+_\d+".into());
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
    use boundary_loss::nets::{Architecture, BuildNetwork};
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

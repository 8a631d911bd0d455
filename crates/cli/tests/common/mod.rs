//! Helpers shared by the command-line tests: the binary, and a small synthetic data set with a
//! run file next to it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use boundary_loss::data::synthetic::{generate, SyntheticSpec};

/// Runs `boundary-loss ARGS` to completion.
pub fn boundary_loss(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boundary-loss"))
        .args(args)
        .output()
        .unwrap()
}

/// The standard output of a run that must succeed (else the test fails showing both streams).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one `error:` line of a run that must fail with status 1.
pub fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

/// A Dimwit run file (GDL + boundary loss, rebalanced) for the data set of [`prepared`].
pub const RUN_FILE: &str = r#"
dataset = "data"
network = "Dimwit"
modalities = 2
classes = 2
epochs = 5
batch_size = 4
metric_classes = [1]
patient_regex = '(case_\d+_\d+)_\d+'
use_spacing = true

[[streams]]
folder = "in_npy"
kind = "image_npy"

[[streams]]
folder = "gt_npy"
kind = "one_hot"

[[streams]]
folder = "gt_npy"
kind = "distance_map"

[schedule]
kind = "rebalance"
step = 0.01

[[losses]]
name = "GeneralizedDice"
idc = [0, 1]
weight = 1.0
stream = 1

[[losses]]
name = "BoundaryLoss"
idc = [1]
weight = 0.0
stream = 2
"#;

/// `dir/data`: a synthetic data set (16x16 slices, 4 per patient); `dir/run.toml`: `run_file`.
pub fn prepared(dir: &Path, run_file: &str, train_patients: usize, val_patients: usize) -> PathBuf {
    let spec = SyntheticSpec {
        train_patients,
        val_patients,
        slices_per_patient: 4,
        side: 16,
        modalities: 2,
        seed: 0,
    };
    generate(&dir.join("data"), &spec).unwrap();
    let path = dir.join("run.toml");
    std::fs::write(&path, run_file).unwrap();
    path
}

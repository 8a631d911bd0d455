//! The run folder's format, in one place: what `train` writes and evaluation reads.
//!
//! | file | content |
//! |---|---|
//! | `run.toml` | the resolved run file |
//! | `version.txt` | the code version |
//! | `metrics.csv` | per epoch: the original's `tra_loss, val_loss, tra_dice, val_dice` (loss: mean of `weight * loss` over iterations and terms; Dice: the last class), then ours ([`CSV_HEADER`]) |
//! | `tra_loss.npy`, `val_loss.npy` | `(epochs, iterations, terms)` float32, `weight * loss` per term |
//! | `tra_dice.npy`, `val_dice.npy` | `(epochs, images, K)` |
//! | `val_3d_dsc.npy`, `val_3d_hd95.npy` | `(epochs, patients, K)`, rows in `val_3d_patients.txt` order |
//! | `val_metrics.json` | what each `val_<metric>.npy` holds: definition, units, empty-mask rule, row file |
//! | `val_3d_hd.npy`, `val_3d_assd.npy` | written by `metrics`: `(epochs, patients, K)` |
//! | `val_hd.npy`, `val_boundary.npy`, `val_boundary_mm.npy`, `val_slices.txt` | written by `metrics`: `(epochs, slices, K)`, rows in `val_slices.txt` order |
//! | `iterNNN/val/<slice>.png` | predicted class maps (gray level = class); `iterNNN/train/` with `save_train` |
//! | `best_epoch/` | a copy of the best epoch's `iterNNN/` |
//! | `best_epoch.txt`, `best.bpk` | the best epoch (0-based) and its weights (Burn record) |
//! | `checkpoint/` | `model.bpk`, `optimizer.bpk`, `state.json`: what `--resume` needs |
//!
//! Every file is written to a temporary name and renamed, so a killed run leaves complete files.
//! The weights and the checkpoint are Burn records, written and read by `boundary-loss`'s
//! `train::run_folder`; everything else about the folder is here.

use std::path::{Path, PathBuf};

use ndarray::Array3;
use volume_io::{write_npy_atomically, FileError, StagedDir};

pub const RUN_FILE: &str = "run.toml";
pub const VERSION_FILE: &str = "version.txt";
pub const METRICS_CSV: &str = "metrics.csv";
pub const PATIENTS_FILE: &str = "val_3d_patients.txt";
pub const BEST_EPOCH_DIR: &str = "best_epoch";
pub const BEST_EPOCH_FILE: &str = "best_epoch.txt";
pub const BEST_WEIGHTS: &str = "best.bpk";
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// Where a checkpoint is written before it replaces `checkpoint/`.
pub const CHECKPOINT_TEMP: &str = "checkpoint.tmp";
/// metrics.csv's header: the original's five columns, then ours.
pub const CSV_HEADER: &str = "epoch,tra_loss,val_loss,tra_dice,val_dice,tra_dice_metric,val_dice_metric,val_3d_dsc,val_3d_hd95,val_3d_hd95_empty,learning_rate,weights";

/// The run's best epoch (0-based) from `best_epoch.txt`, if it has one.
pub fn best_epoch(run_dir: &Path) -> Option<usize> {
    std::fs::read_to_string(run_dir.join(BEST_EPOCH_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `iterNNN/` of an epoch (0-based).
pub fn iteration_dir(run_dir: &Path, epoch: usize) -> PathBuf {
    run_dir.join(format!("iter{epoch:03}"))
}

/// The epochs a run folder has saved (its `iterNNN/` folders), in increasing order.
pub fn saved_epochs(run_dir: &Path) -> Result<Vec<usize>, FileError> {
    let entries = std::fs::read_dir(run_dir).map_err(|e| FileError::new(run_dir, e))?;
    let mut numbers: Vec<usize> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let digits = name.strip_prefix("iter")?;
            (digits.len() >= 3 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse().ok())
                .flatten()
        })
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// The validation prediction of slice `stem` at `epoch`: `iterNNN/val/<stem>.png`.
pub fn val_prediction(run_dir: &Path, epoch: usize, stem: &str) -> PathBuf {
    iteration_dir(run_dir, epoch)
        .join("val")
        .join(format!("{stem}.png"))
}

/// Whether `dir` holds (part of) a run.
pub fn holds_run(dir: &Path) -> bool {
    [RUN_FILE, METRICS_CSV, CHECKPOINT_DIR, CHECKPOINT_TEMP]
        .iter()
        .any(|f| dir.join(f).exists())
}

/// The code version written next to every run: the package version, and `git describe` of the
/// checkout it was built from when there was one (`boundary-loss 0.1.0 (git 1074ba5-dirty)`).
pub fn version() -> String {
    let package = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));
    match option_env!("BOUNDARY_LOSS_GIT_DESCRIBE") {
        Some(describe) => format!("{package} (git {describe})"),
        None => package.to_string(),
    }
}

pub fn write_text(path: &Path, text: &str) -> Result<(), FileError> {
    volume_io::write_text_atomically(path, text)
}

/// One array of the history: per epoch, rows (iterations, images or patients) of values.
pub type PerEpoch = Vec<Vec<Vec<f32>>>;

/// The per-epoch arrays, kept in memory and written out after every epoch.
pub struct History {
    pub classes: usize,
    pub terms: usize,
    pub tra_loss: PerEpoch,
    pub val_loss: PerEpoch,
    pub tra_dice: PerEpoch,
    pub val_dice: PerEpoch,
    pub val_3d_dsc: PerEpoch,
    pub val_3d_hd95: PerEpoch,
    /// metrics.csv, header included.
    pub csv: String,
}

fn stack(epochs: &[Vec<Vec<f32>>], inner: usize) -> Array3<f32> {
    let rows = epochs.first().map_or(0, |e| e.len());
    Array3::from_shape_fn((epochs.len(), rows, inner), |(e, r, c)| epochs[e][r][c])
}

fn unstack(array: Array3<f32>) -> PerEpoch {
    array
        .outer_iter()
        .map(|epoch| epoch.outer_iter().map(|row| row.to_vec()).collect())
        .collect()
}

impl History {
    pub fn new(classes: usize, terms: usize) -> Self {
        History {
            classes,
            terms,
            tra_loss: vec![],
            val_loss: vec![],
            tra_dice: vec![],
            val_dice: vec![],
            val_3d_dsc: vec![],
            val_3d_hd95: vec![],
            csv: format!("{CSV_HEADER}\n"),
        }
    }

    fn arrays(&self) -> [(&'static str, &PerEpoch, usize); 6] {
        let (k, t) = (self.classes, self.terms);
        [
            ("tra_loss.npy", &self.tra_loss, t),
            ("val_loss.npy", &self.val_loss, t),
            ("tra_dice.npy", &self.tra_dice, k),
            ("val_dice.npy", &self.val_dice, k),
            ("val_3d_dsc.npy", &self.val_3d_dsc, k),
            ("val_3d_hd95.npy", &self.val_3d_hd95, k),
        ]
    }

    /// The history of the first `epochs` epochs of a run folder.
    pub fn load(&mut self, dir: &Path, epochs: usize) -> Result<(), FileError> {
        let read = |name: &str| -> Result<PerEpoch, FileError> {
            let path = dir.join(name);
            volume_io::guard::check_npy_file(&path)?;
            let array: Array3<f32> =
                ndarray_npy::read_npy(&path).map_err(|e| FileError::new(&path, e))?;
            let mut epochs_read = unstack(array);
            if epochs_read.len() < epochs {
                return Err(FileError::new(
                    &path,
                    format!(
                        "holds {} epochs, the checkpoint {epochs}",
                        epochs_read.len()
                    ),
                ));
            }
            epochs_read.truncate(epochs);
            Ok(epochs_read)
        };
        self.tra_loss = read("tra_loss.npy")?;
        self.val_loss = read("val_loss.npy")?;
        self.tra_dice = read("tra_dice.npy")?;
        self.val_dice = read("val_dice.npy")?;
        self.val_3d_dsc = read("val_3d_dsc.npy")?;
        self.val_3d_hd95 = read("val_3d_hd95.npy")?;
        let csv_path = dir.join(METRICS_CSV);
        let csv = std::fs::read_to_string(&csv_path).map_err(|e| FileError::new(&csv_path, e))?;
        self.csv = csv
            .lines()
            .take(epochs + 1)
            .map(|l| format!("{l}\n"))
            .collect();
        Ok(())
    }

    pub fn save(&self, dir: &Path) -> Result<(), FileError> {
        for (name, epochs, inner) in self.arrays() {
            write_npy_atomically(&dir.join(name), &stack(epochs, inner))?;
        }
        write_text(&dir.join(METRICS_CSV), &self.csv)
    }
}

/// What `train --resume` needs besides the run file and the files of the finished epochs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub epochs_done: usize,
    pub learning_rate: f64,
    pub best_epoch: usize,
    /// None until an epoch has a defined Dice, and for NaN entries below.
    pub best_dice: Option<f64>,
    #[serde(default)]
    pub best_dice_per_class: Vec<Option<f64>>,
    pub best_3d_dsc: Vec<Option<f64>>,
    pub best_3d_hd95: Vec<Option<f64>>,
    pub last_change: usize,
}

pub fn finite(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect()
}

pub fn or_nan(values: &[Option<f64>]) -> Vec<f64> {
    values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

/// The folder holding the latest complete checkpoint of `run_dir` (`checkpoint/`, or
/// `checkpoint.tmp/` when a kill came between replacing one by the other), if any.
pub fn checkpoint_dir(run_dir: &Path) -> Option<PathBuf> {
    [run_dir.join(CHECKPOINT_DIR), run_dir.join(CHECKPOINT_TEMP)]
        .into_iter()
        .find(|d| d.join("state.json").exists())
}

/// What a killed run may leave behind: temporary files (`.tmp-*`, `.*.tmp`), temporary folders
/// (`*.tmp`), and the `iterNNN/` folders of epochs at or after `epochs_done`, which a resumed run
/// writes again. Removes them so that the resumed run ends with exactly the files of an
/// uninterrupted one.
pub fn remove_leftovers(run_dir: &Path, epochs_done: usize) -> Result<(), FileError> {
    let entries = std::fs::read_dir(run_dir).map_err(|e| FileError::new(run_dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| FileError::new(run_dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let unfinished_epoch = name
            .strip_prefix("iter")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|epoch| epoch >= epochs_done);
        let temporary = name.starts_with(".tmp-") || name.ends_with(".tmp");
        if path.is_dir() {
            if temporary || unfinished_epoch {
                std::fs::remove_dir_all(&path).map_err(|e| FileError::new(&path, e))?;
            } else {
                remove_leftovers(&path, usize::MAX)?;
            }
        } else if temporary {
            std::fs::remove_file(&path).map_err(|e| FileError::new(&path, e))?;
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), FileError> {
    std::fs::create_dir_all(to).map_err(|e| FileError::new(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| FileError::new(from, e))? {
        let entry = entry.map_err(|e| FileError::new(from, e))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(|e| FileError::new(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Copies the folder `from` (recursively) to `to` through a temporary folder, replacing `to`.
pub fn replace_dir(from: &Path, to: &Path) -> Result<(), FileError> {
    let staged = StagedDir::create(to, to.with_extension("tmp"))?;
    copy_tree(from, staged.dir())?;
    staged.finish(true)
}

//! Training (the original `main.py`): a run file in, a run folder out.
//!
//! This module owns the epoch loop (weighted loss terms, weight schedules, optimiser and
//! learning-rate rule), validation, and the run folder: `metrics.csv`, `tra_loss.npy`
//! `(epochs, iterations, terms)`, `val_loss.npy`, `tra_dice.npy` / `val_dice.npy`
//! `(epochs, images, K)`, `val_3d_dsc.npy` and `val_3d_hd95.npy` `(epochs, patients, K)` with
//! `val_3d_patients.txt`, `iterNNN/val/<slice>.png` predicted class maps, `best_epoch/`,
//! `best_epoch.txt`, `best.bpk` weights, `run.toml` (the resolved run file) and `version.txt`.
//! Every file is written to a temporary name and renamed, after every epoch, so an interrupted
//! run leaves complete files of the epochs it finished.

pub mod config;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array3;
use regex::Regex;
use volume_io::{write_atomically, write_npy_atomically, write_png_u8, FileError};

pub use config::{weights_at, LossTerm, LrHalving, OptimizerKind, RunConfig, Schedule};

use crate::data::{Batch, DataError, Dataset, Loader, SliceCache, StreamKind};
use crate::device::DeviceError;
use crate::eval::{group_patients, hd95, Overlap};
use crate::losses::{
    argmax_classes, BoundaryLoss, CrossEntropy, DiceLoss, FocalLoss, GeneralizedDice,
    HausdorffLoss, Loss, LossError,
};
use crate::nets::{Architecture, NetError, Network};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("run file: {0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Loss(#[from] LossError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    File(#[from] FileError),
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    /// 0-based epoch with the best mean validation Dice over the metric classes.
    pub best_epoch: usize,
    pub best_val_dice: f64,
    /// At the best epoch: mean over patients of the 3-D Dice, per class.
    pub best_val_3d_dsc: Vec<f64>,
    /// At the best epoch: mean over patients (where defined) of the 3-D HD95 in mm, per class.
    pub best_val_3d_hd95: Vec<f64>,
}

/// What `train --resume` needs besides the run file and the files of the finished epochs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    epochs_done: usize,
    learning_rate: f64,
    best_epoch: usize,
    /// None until an epoch has a defined Dice, and for NaN entries below.
    best_dice: Option<f64>,
    best_3d_dsc: Vec<Option<f64>>,
    best_3d_hd95: Vec<Option<f64>>,
    last_change: usize,
}

fn finite(values: &[f64]) -> Vec<Option<f64>> {
    values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect()
}

fn or_nan(values: &[Option<f64>]) -> Vec<f64> {
    values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

/// The code version written next to every run.
pub const VERSION: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));

type LossFn = Box<dyn Fn(Tensor<4>, Tensor<4>) -> Result<Tensor<1>, LossError>>;

fn build_loss(term: &LossTerm, checks: bool) -> Result<LossFn, TrainError> {
    fn boxed<L: Loss + 'static>(loss: L, checks: bool) -> LossFn {
        let loss = loss.with_checks(checks);
        Box::new(move |probs, second| loss.loss(probs, second))
    }
    let idc = term.idc.clone();
    Ok(match term.name.as_str() {
        "BoundaryLoss" | "SurfaceLoss" => boxed(BoundaryLoss::new(idc), checks),
        "GeneralizedDice" => boxed(GeneralizedDice::new(idc), checks),
        "DiceLoss" => boxed(DiceLoss::new(idc), checks),
        "CrossEntropy" => boxed(CrossEntropy::new(idc), checks),
        "FocalLoss" => boxed(FocalLoss::new(idc, term.gamma.unwrap_or(2.0)), checks),
        "HausdorffLoss" => boxed(HausdorffLoss::new(idc), checks),
        other => {
            return Err(TrainError::Config(format!(
                "unknown loss '{other}' (BoundaryLoss, SurfaceLoss, GeneralizedDice, DiceLoss, CrossEntropy, FocalLoss, HausdorffLoss)"
            )))
        }
    })
}

fn build_optimizer(kind: OptimizerKind) -> ModuleOptimizer {
    match kind {
        OptimizerKind::Adam => AdamConfig::new().with_beta_1(0.9).with_beta_2(0.99).init(),
        OptimizerKind::Sgd => SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: 0.99,
                dampening: 0.0,
                nesterov: false,
            }))
            .with_weight_decay(Some(WeightDecayConfig::new(5e-4)))
            .init(),
    }
}

/// A batch stream as a `(B, C, H, W)` tensor.
fn to_tensor(batch: &Batch, stream: usize, device: &Device) -> Tensor<4> {
    let shape = [
        batch.indices.len(),
        batch.channels[stream],
        batch.size[0],
        batch.size[1],
    ];
    Tensor::<4>::from_data(
        TensorData::new(batch.streams[stream].clone(), shape),
        device,
    )
}

/// Predicted (arg-max of `probs`) and true (arg-max of the one-hot stream) class maps of a
/// batch, image after image, and the pixels of one image.
fn class_maps(
    probs: Tensor<4>,
    batch: &Batch,
    truth_stream: usize,
    classes: usize,
) -> (Vec<u8>, Vec<u8>, usize) {
    let pixels = batch.size[0] * batch.size[1];
    let probs = probs
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 probabilities");
    let predicted = argmax_classes(&probs, classes, pixels);
    let truth = argmax_classes(&batch.streams[truth_stream], classes, pixels);
    (predicted, truth, pixels)
}

/// Per-epoch records, written out after every epoch.
struct History {
    classes: usize,
    terms: usize,
    tra_loss: Vec<Vec<Vec<f32>>>,
    val_loss: Vec<Vec<Vec<f32>>>,
    tra_dice: Vec<Vec<Vec<f32>>>,
    val_dice: Vec<Vec<Vec<f32>>>,
    val_3d_dsc: Vec<Vec<Vec<f32>>>,
    val_3d_hd95: Vec<Vec<Vec<f32>>>,
    csv: String,
}

fn stack(epochs: &[Vec<Vec<f32>>], inner: usize) -> Array3<f32> {
    let rows = epochs.first().map_or(0, |e| e.len());
    Array3::from_shape_fn((epochs.len(), rows, inner), |(e, r, c)| epochs[e][r][c])
}

fn unstack(array: Array3<f32>) -> Vec<Vec<Vec<f32>>> {
    array
        .outer_iter()
        .map(|epoch| epoch.outer_iter().map(|row| row.to_vec()).collect())
        .collect()
}

impl History {
    /// The history of the first `epochs` epochs of a run folder.
    fn load(&mut self, dir: &Path, epochs: usize) -> Result<(), FileError> {
        let read = |name: &str| -> Result<Vec<Vec<Vec<f32>>>, FileError> {
            let path = dir.join(name);
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
        let csv_path = dir.join("metrics.csv");
        let csv = std::fs::read_to_string(&csv_path).map_err(|e| FileError::new(&csv_path, e))?;
        self.csv = csv
            .lines()
            .take(epochs + 1)
            .map(|l| format!("{l}\n"))
            .collect();
        Ok(())
    }

    fn save(&self, dir: &Path) -> Result<(), FileError> {
        let k = self.classes;
        write_npy_atomically(
            &dir.join("tra_loss.npy"),
            &stack(&self.tra_loss, self.terms),
        )?;
        write_npy_atomically(
            &dir.join("val_loss.npy"),
            &stack(&self.val_loss, self.terms),
        )?;
        write_npy_atomically(&dir.join("tra_dice.npy"), &stack(&self.tra_dice, k))?;
        write_npy_atomically(&dir.join("val_dice.npy"), &stack(&self.val_dice, k))?;
        write_npy_atomically(&dir.join("val_3d_dsc.npy"), &stack(&self.val_3d_dsc, k))?;
        write_npy_atomically(&dir.join("val_3d_hd95.npy"), &stack(&self.val_3d_hd95, k))?;
        write_text(&dir.join("metrics.csv"), &self.csv)
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), FileError> {
    write_atomically(path, |out| {
        out.write_all(text.as_bytes()).map_err(|e| e.to_string())
    })
}

fn mean_over(values: &[f64], classes: &[usize]) -> f64 {
    let picked: Vec<f64> = classes
        .iter()
        .map(|&k| values[k])
        .filter(|v| !v.is_nan())
        .collect();
    if picked.is_empty() {
        f64::NAN
    } else {
        picked.iter().sum::<f64>() / picked.len() as f64
    }
}

/// Writes `checkpoint.tmp/` (weights, optimiser state, then state.json last) and renames it to
/// `checkpoint/`; resuming accepts either, whichever holds a state.json.
fn save_checkpoint(
    run_dir: &Path,
    net: &Network,
    optimizer: &ModuleOptimizer,
    state: &Checkpoint,
) -> Result<(), FileError> {
    let temp = run_dir.join("checkpoint.tmp");
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).map_err(|e| FileError::new(&temp, e))?;
    let model = temp.join("model.bpk");
    net.clone()
        .into_record()
        .save(&model)
        .map_err(|e| FileError::new(&model, format!("{e:?}")))?;
    let optim = temp.join("optimizer.bpk");
    optimizer
        .to_record()
        .save(&optim)
        .map_err(|e| FileError::new(&optim, format!("{e:?}")))?;
    write_text(
        &temp.join("state.json"),
        &serde_json::to_string_pretty(state).expect("plain state"),
    )?;
    let done = run_dir.join("checkpoint");
    let _ = std::fs::remove_dir_all(&done);
    std::fs::rename(&temp, &done).map_err(|e| FileError::new(&done, e))
}

/// Copies `from` to `to` through a temporary folder, replacing `to`.
fn replace_dir(from: &Path, to: &Path) -> Result<(), FileError> {
    let temp = to.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).map_err(|e| FileError::new(&temp, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| FileError::new(from, e))? {
        let entry = entry.map_err(|e| FileError::new(from, e))?;
        std::fs::copy(entry.path(), temp.join(entry.file_name()))
            .map_err(|e| FileError::new(entry.path(), e))?;
    }
    let _ = std::fs::remove_dir_all(to);
    std::fs::rename(&temp, to).map_err(|e| FileError::new(to, e))
}

/// How a run is driven (not part of the run file).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    pub show_progress: bool,
    /// Stop after this many epochs have finished (as if the run were killed there); the run
    /// folder can then be resumed.
    pub stop_after: Option<usize>,
}

/// Trains as `config` says, writing the run folder `run_dir`.
pub fn train(
    config: &RunConfig,
    run_dir: &Path,
    show_progress: bool,
) -> Result<RunSummary, TrainError> {
    let options = TrainOptions {
        show_progress,
        stop_after: None,
    };
    run(config, run_dir, &options, false)
}

/// Continues the run in `run_dir` (killed at any point) from its last finished epoch, with its
/// own `run.toml`; ends with the same files as an uninterrupted run with the same seed on CPU.
pub fn resume(run_dir: &Path, options: &TrainOptions) -> Result<RunSummary, TrainError> {
    let config = RunConfig::from_file(&run_dir.join("run.toml")).map_err(TrainError::Config)?;
    run(&config, run_dir, options, true)
}

/// Trains from scratch, or from the checkpoint of `run_dir` when `resuming`.
pub fn run(
    config: &RunConfig,
    run_dir: &Path,
    options: &TrainOptions,
    resuming: bool,
) -> Result<RunSummary, TrainError> {
    let show_progress = options.show_progress;
    config.validate().map_err(TrainError::Config)?;
    let architecture = Architecture::parse(&config.network)?;
    if architecture.spatial_rank() != 2 {
        return Err(TrainError::Config(format!(
            "{} is a 3-D network; training runs on 2-D slices",
            architecture.name()
        )));
    }
    let base_device = crate::device::parse(&config.device)?;
    let device = base_device.clone().autodiff();
    let open = |split: &str| -> Result<Arc<Dataset>, TrainError> {
        let mut dataset = Dataset::open(
            &config.dataset,
            split,
            config.streams.clone(),
            config.classes,
        )?;
        dataset.check_image_range = config.check_image_range;
        dataset.map_options.truncate = config.truncate_distance_maps;
        if !config.use_spacing {
            dataset.spacing.clear();
        }
        if config.debug {
            dataset.names.truncate(10);
        }
        Ok(Arc::new(dataset))
    };
    let (train_set, val_set) = (open("train")?, open("val")?);
    let truth_stream = config
        .streams
        .iter()
        .position(|s| s.kind == StreamKind::OneHot)
        .ok_or_else(|| TrainError::Config("Dice needs a one_hot stream".into()))?;
    let pattern =
        Regex::new(&config.patient_regex).map_err(|e| TrainError::Config(e.to_string()))?;
    let val_stems: Vec<String> = val_set
        .names
        .iter()
        .map(|n| crate::data::slice_stem(n).to_string())
        .collect();
    let patients = group_patients(&val_stems, &pattern);
    let spacing_3d = crate::data::read_spacing(&config.dataset, "spacing_3d")?;

    let mut net: Network = architecture.build_with_base(
        config.modalities,
        config.classes,
        config.network_base,
        &device,
    )?;
    let mut optimizer = build_optimizer(config.optimizer);
    let losses: Vec<LossFn> = config
        .losses
        .iter()
        .map(|t| build_loss(t, config.check_loss_inputs))
        .collect::<Result<_, _>>()?;
    let initial_weights: Vec<f64> = config.losses.iter().map(|t| t.weight).collect();

    std::fs::create_dir_all(run_dir).map_err(|e| FileError::new(run_dir, e))?;
    if !resuming {
        write_text(&run_dir.join("run.toml"), &config.to_toml())?;
        write_text(&run_dir.join("version.txt"), &format!("{VERSION}\n"))?;
    }

    let classes = config.classes;
    let mut history = History {
        classes,
        terms: losses.len(),
        tra_loss: vec![],
        val_loss: vec![],
        tra_dice: vec![],
        val_dice: vec![],
        val_3d_dsc: vec![],
        val_3d_hd95: vec![],
        csv: "epoch,tra_loss,val_loss,tra_dice,val_dice,val_3d_dsc,val_3d_hd95,learning_rate,weights\n".into(),
    };
    let caches = config.in_memory.then(|| {
        (
            Arc::new(SliceCache::default()),
            Arc::new(SliceCache::default()),
        )
    });
    let mut learning_rate = config.learning_rate;
    let (mut best_epoch, mut best_dice) = (0usize, f64::NEG_INFINITY);
    let mut best_3d = (vec![f64::NAN; classes], vec![f64::NAN; classes]);
    let mut last_change = 0usize;
    let mut start = 0usize;
    if resuming {
        let checkpoint_dir = [run_dir.join("checkpoint"), run_dir.join("checkpoint.tmp")]
            .into_iter()
            .find(|d| d.join("state.json").exists())
            .ok_or_else(|| {
                TrainError::Config(format!(
                    "{}: no checkpoint to resume from",
                    run_dir.display()
                ))
            })?;
        let state_path = checkpoint_dir.join("state.json");
        let text =
            std::fs::read_to_string(&state_path).map_err(|e| FileError::new(&state_path, e))?;
        let state: Checkpoint =
            serde_json::from_str(&text).map_err(|e| FileError::new(&state_path, e))?;
        let model_path = checkpoint_dir.join("model.bpk");
        let record = burn::store::ModuleRecord::load(&model_path)
            .map_err(|e| FileError::new(&model_path, format!("{e:?}")))?;
        net = net.load_record(record);
        let optimizer_path = checkpoint_dir.join("optimizer.bpk");
        let record = burn::optim::OptimizerRecord::load(&optimizer_path)
            .map_err(|e| FileError::new(&optimizer_path, format!("{e:?}")))?;
        optimizer = optimizer.load_record(record);
        history.load(run_dir, state.epochs_done)?;
        learning_rate = state.learning_rate;
        best_epoch = state.best_epoch;
        best_dice = state.best_dice.unwrap_or(f64::NEG_INFINITY);
        best_3d = (or_nan(&state.best_3d_dsc), or_nan(&state.best_3d_hd95));
        last_change = state.last_change;
        start = state.epochs_done;
    }

    for epoch in start..config.epochs {
        if options.stop_after.is_some_and(|n| epoch >= n) {
            break;
        }
        // Per-epoch seed (dropout): a resumed run draws what an uninterrupted one would.
        device.seed(config.seed.wrapping_add(1 + epoch as u64));
        let weights = weights_at(config.schedule, &initial_weights, epoch);
        // Training.
        let bar = if show_progress {
            ProgressBar::new(train_set.len().div_ceil(config.batch_size) as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} {msg}")
                .expect("static template"),
        );
        bar.set_prefix(format!("epoch {epoch:>3} train"));
        let mut tra_loss = Vec::new();
        let mut tra_dice = vec![vec![0f32; classes]; train_set.len()];
        let epoch_started = std::time::Instant::now();
        let mut loader = Loader::new(
            train_set.clone(),
            config.batch_size,
            Some(config.seed.wrapping_add(epoch as u64)),
            2,
            caches.as_ref().map(|c| c.0.clone()),
        );
        let (mut running_loss, mut running_dice, mut seen) = (0.0, 0.0, 0usize);
        for batch in loader.by_ref() {
            let batch = batch?;
            let images = to_tensor(&batch, 0, &device);
            let logits = net.forward_2d(config.modalities, images)?;
            let probs = softmax(logits.div_scalar(config.temperature), 1);
            let mut total: Option<Tensor<1>> = None;
            let mut values = Vec::with_capacity(losses.len());
            for ((loss, term), &w) in losses.iter().zip(&config.losses).zip(&weights) {
                let value = loss(probs.clone(), to_tensor(&batch, term.stream, &device))?;
                values.push(value.clone().into_scalar::<f32>());
                let weighted = value.mul_scalar(w);
                total = Some(match total {
                    Some(t) => t.add(weighted),
                    None => weighted,
                });
            }
            let total = total.expect("at least one loss term");
            let grads = GradientsParams::from_grads(total.backward(), &net);
            net = optimizer.step(learning_rate, net, grads);

            let (predicted, truth, pixels) = class_maps(probs, &batch, truth_stream, classes);
            for (b, &index) in batch.indices.iter().enumerate() {
                let image = b * pixels..(b + 1) * pixels;
                let dice = Overlap::of(&predicted[image.clone()], &truth[image], classes).dice();
                tra_dice[index] = dice.iter().map(|&d| d as f32).collect();
                running_dice += mean_over(&dice, &config.metric_classes);
            }
            seen += batch.indices.len();
            running_loss += values
                .iter()
                .zip(&weights)
                .map(|(v, w)| *v as f64 * w)
                .sum::<f64>();
            tra_loss.push(values);
            bar.set_message(format!(
                "loss {:.4} dice {:.3}",
                running_loss / tra_loss.len() as f64,
                running_dice / seen as f64
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let (train_seconds, data_wait) = (
            epoch_started.elapsed().as_secs_f64(),
            loader.waited().as_secs_f64(),
        );
        drop(loader);

        // Validation.
        let model = net.valid();
        let iter_dir = run_dir.join(format!("iter{epoch:03}")).join("val");
        std::fs::create_dir_all(&iter_dir).map_err(|e| FileError::new(&iter_dir, e))?;
        let mut val_loss = Vec::new();
        let mut val_dice = vec![vec![0f32; classes]; val_set.len()];
        let mut predictions: Vec<Vec<u8>> = vec![Vec::new(); val_set.len()];
        let mut truths: Vec<Vec<u8>> = vec![Vec::new(); val_set.len()];
        let mut size = [0usize; 2];
        for batch in Loader::new(
            val_set.clone(),
            config.batch_size,
            None,
            2,
            caches.as_ref().map(|c| c.1.clone()),
        ) {
            let batch = batch?;
            size = batch.size;
            let logits = model.forward_2d(config.modalities, to_tensor(&batch, 0, &base_device))?;
            let probs = softmax(logits.div_scalar(config.temperature), 1);
            let mut values = Vec::with_capacity(losses.len());
            for (loss, term) in losses.iter().zip(&config.losses) {
                values.push(
                    loss(probs.clone(), to_tensor(&batch, term.stream, &base_device))?
                        .into_scalar::<f32>(),
                );
            }
            val_loss.push(values);
            let (predicted, truth, pixels) = class_maps(probs, &batch, truth_stream, classes);
            for (b, &index) in batch.indices.iter().enumerate() {
                let (p, t) = (
                    &predicted[b * pixels..(b + 1) * pixels],
                    &truth[b * pixels..(b + 1) * pixels],
                );
                val_dice[index] = Overlap::of(p, t, classes)
                    .dice()
                    .iter()
                    .map(|&d| d as f32)
                    .collect();
                let stem = crate::data::slice_stem(&val_set.names[index]);
                write_png_u8(
                    &iter_dir.join(format!("{stem}.png")),
                    p,
                    batch.size[0],
                    batch.size[1],
                )?;
                predictions[index] = p.to_vec();
                truths[index] = t.to_vec();
            }
        }
        // 3-D metrics per patient, slices in natural order.
        let mut dsc_3d = Vec::with_capacity(patients.len());
        let mut hd95_3d = Vec::with_capacity(patients.len());
        for (patient, slices) in &patients {
            let mut overlap = Overlap::new(classes);
            let (mut p3, mut t3) = (Vec::new(), Vec::new());
            for &i in slices {
                overlap.add(&predictions[i], &truths[i]);
                p3.extend_from_slice(&predictions[i]);
                t3.extend_from_slice(&truths[i]);
            }
            dsc_3d.push(
                overlap
                    .dice()
                    .iter()
                    .map(|&d| d as f32)
                    .collect::<Vec<f32>>(),
            );
            let in_plane = val_set.spacing_of(slices[0]);
            // spacing_3d holds (axis 0, axis 1, slice axis) as the original's pickle; the stack
            // is (slices, axis 0, axis 1).
            let spacing = spacing_3d
                .get(patient)
                .filter(|s| s.len() == 3)
                .map(|s| [s[2], s[0], s[1]])
                .unwrap_or([1.0, in_plane[0], in_plane[1]]);
            let shape = [slices.len(), size[0], size[1]];
            hd95_3d.push(
                (0..classes)
                    .map(|k| hd95(&p3, &t3, shape, &spacing, k as u8) as f32)
                    .collect::<Vec<f32>>(),
            );
        }
        let column_mean = |rows: &[Vec<f32>]| -> Vec<f64> {
            (0..classes)
                .map(|k| {
                    let defined: Vec<f64> = rows
                        .iter()
                        .map(|r| r[k] as f64)
                        .filter(|v| !v.is_nan())
                        .collect();
                    if defined.is_empty() {
                        f64::NAN
                    } else {
                        defined.iter().sum::<f64>() / defined.len() as f64
                    }
                })
                .collect()
        };
        let mean_loss = |rows: &[Vec<f32>]| {
            rows.iter()
                .map(|r| {
                    r.iter()
                        .zip(&weights)
                        .map(|(v, w)| *v as f64 * w)
                        .sum::<f64>()
                })
                .sum::<f64>()
                / rows.len().max(1) as f64
        };
        let val_dice_mean = mean_over(&column_mean(&val_dice), &config.metric_classes);
        let tra_dice_mean = mean_over(&column_mean(&tra_dice), &config.metric_classes);
        let dsc_mean = column_mean(&dsc_3d);
        let hd_mean = column_mean(&hd95_3d);
        history.csv.push_str(&format!(
            "{epoch},{:.6},{:.6},{:.6},{:.6},{:.6},{:.4},{learning_rate:e},{}\n",
            mean_loss(&tra_loss),
            mean_loss(&val_loss),
            tra_dice_mean,
            val_dice_mean,
            mean_over(&dsc_mean, &config.metric_classes),
            mean_over(&hd_mean, &config.metric_classes),
            weights
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect::<Vec<_>>()
                .join(";"),
        ));
        history.tra_loss.push(tra_loss.clone());
        history.val_loss.push(val_loss.clone());
        history.tra_dice.push(tra_dice);
        history.val_dice.push(val_dice);
        history.val_3d_dsc.push(dsc_3d);
        history.val_3d_hd95.push(hd95_3d);
        history.save(run_dir)?;
        write_text(
            &run_dir.join("val_3d_patients.txt"),
            &patients
                .iter()
                .map(|(p, _)| format!("{p}\n"))
                .collect::<String>(),
        )?;

        let improved = val_dice_mean > best_dice;
        if improved {
            best_dice = val_dice_mean;
            best_epoch = epoch;
            best_3d = (dsc_mean.clone(), hd_mean.clone());
            replace_dir(&iter_dir, &run_dir.join("best_epoch"))?;
            write_text(&run_dir.join("best_epoch.txt"), &format!("{epoch}\n"))?;
            let temp = run_dir.join(".best.bpk.tmp");
            net.clone()
                .into_record()
                .save(&temp)
                .map_err(|e| FileError::new(&temp, format!("{e:?}")))?;
            std::fs::rename(&temp, run_dir.join("best.bpk"))
                .map_err(|e| FileError::new(run_dir.join("best.bpk"), e))?;
        }
        println!(
            "epoch {epoch:>3}: train loss {:.4} dice {:.3} ({train_seconds:.1} s, {:.0} ms waiting for data) | val loss {:.4} dice {:.3} 3-D dice {:.3} HD95 {:.2} mm{}",
            mean_loss(&history.tra_loss[epoch]),
            tra_dice_mean,
            data_wait * 1e3,
            mean_loss(&history.val_loss[epoch]),
            val_dice_mean,
            mean_over(&dsc_mean, &config.metric_classes),
            mean_over(&hd_mean, &config.metric_classes),
            if improved { " (best)" } else { "" }
        );
        let halve = match config.lr_halving {
            LrHalving::Never => false,
            LrHalving::Plateau => epoch >= best_epoch.max(last_change) + 20,
            LrHalving::Original => epoch % (best_epoch + 20) == 0,
        };
        if halve {
            learning_rate *= 0.5;
            last_change = epoch;
        }
        let state = Checkpoint {
            epochs_done: epoch + 1,
            learning_rate,
            best_epoch,
            best_dice: best_dice.is_finite().then_some(best_dice),
            best_3d_dsc: finite(&best_3d.0),
            best_3d_hd95: finite(&best_3d.1),
            last_change,
        };
        save_checkpoint(run_dir, &net, &optimizer, &state)?;
    }
    Ok(RunSummary {
        run_dir: run_dir.to_path_buf(),
        best_epoch,
        best_val_dice: best_dice,
        best_val_3d_dsc: best_3d.0,
        best_val_3d_hd95: best_3d.1,
    })
}

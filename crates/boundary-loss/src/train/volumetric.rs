//! 3-D training (a run file with `[patches]`): patches of whole volumes through a 3-D network
//! (Dimwit3D, UNet3D), every loss over the extra axis (the losses take any rank: the boundary
//! loss is the mean over `(B, K, X, Y, Z)` of probabilities times pre-computed 3-D maps);
//! validation on whole volumes by sliding windows with blended probabilities, the Dice and HD95
//! of each volume straight from it (no slice regrouping), its prediction saved per epoch as
//! `iterNNN/val/<case>.npy` (uint8, the volume's grid and axes).
//!
//! The run folder is the 2-D one: `metrics.csv`, the arrays (rows: training patches, validation
//! volumes), best epoch, checkpoints and `--resume`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor, TensorData};
use segmentation_metrics::{diagonal, ClassSurfaces, Hd95Definition, SurfaceMeasure};
use volume_io::{write_npy_atomically, FileError};

use super::epoch::PhaseLog;
use super::epochs::{run_epochs, EpochInputs, EpochSteps, RunPlace, Trained, Validated};
use super::observer::{Observer, Phase};
use super::step::{class_maps, probabilities, weighted_losses};
use super::{RunConfig, RunSummary, TrainError, TrainOptions, DEBUG_SLICES, PREFETCH_BATCHES};
use crate::device::ToDevice;
use crate::eval::{Overlap, VolumeMetrics};
use crate::nets::Network;
use crate::volumes::patches::{cut_window, plan_epoch};
use crate::volumes::{
    Blender, PatchBatch, PatchLoader, PatchOptions, SlidingWindows, StreamVolume, Volume, VolumeSet,
};

/// The `(B, C, X, Y, Z)` tensor of stream `stream` of a batch.
fn batch_tensor(batch: &PatchBatch, stream: usize, device: &Device) -> Tensor<5> {
    let [x, y, z] = batch.size;
    let shape = [batch.placements.len(), batch.channels[stream], x, y, z];
    Tensor::<5>::from_data(
        TensorData::new(batch.streams[stream].clone(), shape),
        device,
    )
}

/// The whole-volume tensor `(1, C, X, Y, Z)` of one stream (labels as their one-hot).
fn volume_tensor(volume: &Volume, stream: usize, classes: usize, device: &Device) -> Tensor<5> {
    let [x, y, z] = volume.shape();
    let (values, channels) = match &volume.streams[stream] {
        StreamVolume::Channels { values, .. } => (
            values.as_slice().expect("standard layout").to_vec(),
            values.shape()[0],
        ),
        StreamVolume::Labels(labels) => {
            let n = x * y * z;
            let mut one_hot = vec![0f32; classes * n];
            for (v, &l) in labels.iter().enumerate() {
                one_hot[l as usize * n + v] = 1.0;
            }
            (one_hot, classes)
        }
    };
    Tensor::<5>::from_data(TensorData::new(values, [1, channels, x, y, z]), device)
}

/// The blended class probabilities `(K, X, Y, Z)` of a whole volume: overlapping windows of the
/// patch size, `batch_size` at a time.
pub fn sliding_window_probabilities(
    net: &Network,
    volume: &Volume,
    patches: &PatchOptions,
    config: &RunConfig,
    device: &Device,
) -> Result<Vec<f32>, TrainError> {
    let shape = volume.shape();
    let classes = config.network.classes;
    let windows = SlidingWindows::new(shape, patches.size, patches.overlap);
    let mut blender = Blender::new(shape, patches.size, classes, patches.blending);
    let n = patches.voxels();
    let channels = volume.streams[0].channels(classes);
    let [px, py, pz] = patches.size;
    for chunk in windows.positions().chunks(config.data.batch_size.max(1)) {
        let input: Vec<f32> = chunk
            .iter()
            .flat_map(|&start| cut_window(volume, start, patches.size, classes, 0))
            .collect();
        let x = Tensor::<5>::from_data(
            TensorData::new(input, [chunk.len(), channels, px, py, pz]),
            device,
        );
        let probs = probabilities(
            net.forward_3d(x)?,
            config.network.activation,
            config.network.temperature,
        );
        let (host, _) = class_maps(probs, classes);
        for (w, &start) in chunk.iter().enumerate() {
            blender.add(start, &host[w * classes * n..(w + 1) * classes * n]);
        }
    }
    Ok(blender.finish())
}

/// The volumes of a 3-D run and how its patches are drawn.
struct PatchSteps<'a> {
    config: &'a RunConfig,
    patches: &'a PatchOptions,
    /// The base device (validation) and its autodiff twin (training).
    devices: (&'a Device, &'a Device),
    train_volumes: Arc<Vec<Arc<Volume>>>,
    val_set: VolumeSet,
    /// Training patches per epoch.
    per_epoch: usize,
}

impl EpochSteps<5> for PatchSteps<'_> {
    fn train(
        &mut self,
        inputs: &EpochInputs<'_, 5>,
        mut net: Network,
        optimizer: &mut ModuleOptimizer,
        observer: &mut dyn Observer,
    ) -> Result<Trained, TrainError> {
        let (config, patches, device) = (self.config, self.patches, self.devices.1);
        let classes = config.network.classes;
        // This epoch's patches, drawn from the seed and the epoch.
        let placements = plan_epoch(
            &self.train_volumes,
            patches,
            config.run.seed,
            inputs.epoch,
            self.per_epoch,
        );
        observer.phase_started(
            inputs.epoch,
            Phase::Train,
            self.per_epoch.div_ceil(config.data.batch_size),
        );
        let mut log = PhaseLog::new(self.per_epoch, classes);
        let started = Instant::now();
        let mut loader = PatchLoader::new(
            self.train_volumes.clone(),
            placements,
            config.data.batch_size,
            patches.size,
            classes,
            PREFETCH_BATCHES,
        );
        let mut seen = 0;
        for batch in loader.by_ref() {
            let x = batch_tensor(&batch, 0, device);
            let probs = probabilities(
                net.forward_3d(x)?,
                config.network.activation,
                config.network.temperature,
            );
            let (total, terms) = weighted_losses(
                &probs,
                |s| batch_tensor(&batch, s, device),
                config,
                inputs.losses,
                &inputs.weights,
            )?;
            let grads = burn::optim::GradientsParams::from_grads(total.backward(), &net);
            net = optimizer.step(inputs.learning_rate, net, grads);
            let (_, predicted) = class_maps(probs.detach(), classes);
            let n = patches.voxels();
            let dice: Vec<Vec<f32>> = (0..batch.placements.len())
                .map(|b| {
                    let patch = b * n..(b + 1) * n;
                    Overlap::of(&predicted[patch.clone()], &batch.truth[patch], classes)
                        .dice()
                        .iter()
                        .map(|&d| d as f32)
                        .collect()
                })
                .collect();
            let indices: Vec<usize> = (seen..seen + batch.placements.len()).collect();
            seen += indices.len();
            log.record(&indices, dice, terms, inputs.metric_classes);
            observer.batch_done(log.running_loss(), log.running_dice());
        }
        observer.phase_done();
        let (seconds, data_wait) = (
            started.elapsed().as_secs_f64(),
            loader.waited().as_secs_f64(),
        );
        Ok(Trained {
            net,
            log,
            seconds,
            data_wait,
        })
    }

    /// One batch, one image and one patient per validation volume.
    fn validation_rows(&self) -> (usize, usize, usize) {
        let volumes = self.val_set.len();
        (volumes, volumes, volumes)
    }

    fn validate(
        &mut self,
        inputs: &EpochInputs<'_, 5>,
        model: &Network,
        observer: &mut dyn Observer,
    ) -> Result<Validated, TrainError> {
        let (config, val_set) = (self.config, &self.val_set);
        let val_dir = inputs.iter_dir.join("val");
        std::fs::create_dir_all(&val_dir).map_err(|e| FileError::new(&val_dir, e))?;
        observer.phase_started(inputs.epoch, Phase::Validation, val_set.len());
        let mut log = PhaseLog::new(val_set.len(), config.network.classes);
        let mut volumes = VolumeMetrics {
            dsc: Vec::new(),
            hd95: Vec::new(),
            empty_cases: 0,
        };
        for (v, volume) in val_set.volumes.iter().enumerate() {
            let (dice, terms) =
                self.validate_volume(inputs, model, volume, &val_dir, &mut volumes)?;
            log.record(&[v], vec![dice.clone()], terms, inputs.metric_classes);
            volumes.dsc.push(dice);
            observer.batch_done(log.running_loss(), log.running_dice());
        }
        observer.phase_done();
        Ok(Validated { log, volumes })
    }
}

impl PatchSteps<'_> {
    /// One validation volume by sliding windows: its prediction written to `val_dir`, its
    /// HD95 per class pushed to `metrics` (empty masks counted), its Dice per class and the
    /// weighted loss terms returned.
    fn validate_volume(
        &self,
        inputs: &EpochInputs<'_, 5>,
        model: &Network,
        volume: &Volume,
        val_dir: &Path,
        metrics: &mut VolumeMetrics,
    ) -> Result<(Vec<f32>, Vec<f32>), TrainError> {
        let (config, device) = (self.config, self.devices.0);
        let classes = config.network.classes;
        let probs = sliding_window_probabilities(model, volume, self.patches, config, device)?;
        let shape = volume.shape();
        let voxels: usize = shape.iter().product();
        let (_, terms) = weighted_losses(
            &Tensor::<5>::from_data(
                TensorData::new(probs.clone(), [1, classes, shape[0], shape[1], shape[2]]),
                device,
            ),
            |s| volume_tensor(volume, s, classes, device),
            config,
            inputs.losses,
            &inputs.weights,
        )?;
        let predicted = crate::losses::argmax_classes(&probs, classes, voxels);
        let prediction =
            ndarray::Array3::from_shape_vec(shape, predicted.clone()).expect("one class per voxel");
        write_npy_atomically(&val_dir.join(format!("{}.npy", volume.name)), &prediction)?;
        let truth = volume.truth.as_slice().expect("standard layout");
        let dice: Vec<f32> = Overlap::of(&predicted, truth, classes)
            .dice()
            .iter()
            .map(|&d| d as f32)
            .collect();
        let diagonal = diagonal(&shape, &volume.spacing);
        let mut distances = Vec::with_capacity(classes);
        for k in 0..classes {
            let surfaces =
                ClassSurfaces::of_labels(&predicted, truth, &shape, &volume.spacing, k as u8)
                    .map_err(|e| FileError::new(&self.val_set.split_dir, e.reason))?;
            let value = surfaces.value(
                SurfaceMeasure::Hd95(Hd95Definition::Medpy),
                config.validation.empty_mask,
                diagonal,
            );
            if value.empty && inputs.metric_classes.contains(&k) {
                metrics.empty_cases += 1;
            }
            distances.push(value.value as f32);
        }
        metrics.hd95.push(distances);
        Ok((dice, terms))
    }
}

/// Trains as a 2-D run does (see [`super::run`]), on patches of volumes.
pub(super) fn run(
    config: &RunConfig,
    patches: &PatchOptions,
    run_dir: &Path,
    options: &TrainOptions,
    resuming: bool,
    observer: &mut dyn Observer,
) -> Result<RunSummary, TrainError> {
    let base_device = config.run.device.device()?;
    let device = base_device.clone().autodiff();
    let truth_folder = config.truth_folder()?;
    let limit = config.data.debug.then_some(DEBUG_SLICES);
    let open = |split: &str| {
        VolumeSet::open(
            &config.data.dataset,
            split,
            &config.data.streams,
            &truth_folder,
            config.network.classes,
            limit,
        )
    };
    let (train_set, val_set) = (open("train")?, open("val")?);
    let val_rows = val_set.names();
    let mut steps = PatchSteps {
        config,
        patches,
        devices: (&base_device, &device),
        per_epoch: patches.per_epoch.unwrap_or(4 * train_set.len()),
        train_volumes: Arc::new(train_set.volumes),
        val_set,
    };
    let place = RunPlace {
        config,
        run_dir,
        options,
        resuming,
        devices: (&base_device, &device),
        has_spacing: true,
        val_rows: &val_rows,
    };
    run_epochs(&mut steps, place, observer)
}

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

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use distmap::metrics::{diagonal, ClassSurfaces, Hd95Definition, SurfaceMeasure};
use volume_io::{write_npy_atomically, FileError};

use super::epoch::PhaseLog;
use super::observer::{Observer, Phase};
use super::progress::{self, EpochResults, RunContext, RunStart};
use super::step::{class_maps, probabilities, weighted_losses};
use super::{RunConfig, RunSummary, TrainError, TrainOptions, DEBUG_SLICES, PREFETCH_BATCHES};
use crate::eval::Overlap;
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
    let classes = config.classes;
    let windows = SlidingWindows::new(shape, patches.size, patches.overlap);
    let mut blender = Blender::new(shape, patches.size, classes, patches.blending);
    let n = patches.voxels();
    let channels = volume.streams[0].channels(classes);
    let [px, py, pz] = patches.size;
    for chunk in windows.positions().chunks(config.batch_size.max(1)) {
        let input: Vec<f32> = chunk
            .iter()
            .flat_map(|&start| cut_window(volume, start, patches.size, classes, 0))
            .collect();
        let x = Tensor::<5>::from_data(
            TensorData::new(input, [chunk.len(), channels, px, py, pz]),
            device,
        );
        let probs = probabilities(net.forward_3d(x)?, config.activation, config.temperature);
        let (host, _) = class_maps(probs, classes);
        for (w, &start) in chunk.iter().enumerate() {
            blender.add(start, &host[w * classes * n..(w + 1) * classes * n]);
        }
    }
    Ok(blender.finish())
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
    let base_device = config.device.device()?;
    let device = base_device.clone().autodiff();
    let classes = config.classes;
    let truth_folder = config.truth_folder()?;
    let limit = config.debug.then_some(DEBUG_SLICES);
    let open = |split: &str| {
        VolumeSet::open(
            &config.dataset,
            split,
            &config.streams,
            &truth_folder,
            classes,
            limit,
        )
    };
    let (train_set, val_set) = (open("train")?, open("val")?);
    let metric_classes = config.metric_classes();

    let RunStart {
        mut progress,
        mut net,
        mut optimizer,
        losses,
        initial_weights,
        mut history,
    } = progress::start_run::<5>(
        config,
        run_dir,
        resuming,
        true,
        (&base_device, &device),
        &val_set.names(),
    )?;
    let context = RunContext {
        config,
        run_dir,
        options,
        metric_classes: &metric_classes,
        initial_weights: &initial_weights,
    };
    observer.run_started(progress.start, config.epochs);
    let per_epoch = patches.per_epoch.unwrap_or(4 * train_set.len());
    let train_volumes = Arc::new(train_set.volumes.clone());

    for epoch in progress.start..config.epochs {
        let Some(epoch_start) = context.begin_epoch(epoch, &device) else {
            break;
        };
        let (iter_dir, weights) = (epoch_start.iter_dir.clone(), epoch_start.weights.clone());

        // Training: this epoch's patches, drawn from the seed and the epoch.
        let placements = plan_epoch(&train_set.volumes, patches, config.seed, epoch, per_epoch);
        observer.phase_started(epoch, Phase::Train, per_epoch.div_ceil(config.batch_size));
        let mut train_log = PhaseLog::new(per_epoch, classes);
        let started = Instant::now();
        let mut loader = PatchLoader::new(
            train_volumes.clone(),
            placements,
            config.batch_size,
            patches.size,
            classes,
            PREFETCH_BATCHES,
        );
        let mut seen = 0;
        for batch in loader.by_ref() {
            let x = batch_tensor(&batch, 0, &device);
            let probs = probabilities(net.forward_3d(x)?, config.activation, config.temperature);
            let (total, terms) = weighted_losses(
                &probs,
                |s| batch_tensor(&batch, s, &device),
                config,
                &losses,
                &weights,
            )?;
            let grads = burn::optim::GradientsParams::from_grads(total.backward(), &net);
            net = optimizer.step(progress.learning_rate, net, grads);
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
            train_log.record(&indices, dice, terms, &metric_classes);
            observer.batch_done(train_log.running_loss(), train_log.running_dice());
        }
        observer.phase_done();
        let (train_seconds, data_wait) = (
            started.elapsed().as_secs_f64(),
            loader.waited().as_secs_f64(),
        );
        drop(loader);

        // Validation: whole volumes.
        let model = net.valid();
        let val_dir = iter_dir.join("val");
        std::fs::create_dir_all(&val_dir).map_err(|e| FileError::new(&val_dir, e))?;
        observer.phase_started(epoch, Phase::Validation, val_set.len());
        let mut val_log = PhaseLog::new(val_set.len(), classes);
        let (mut dsc, mut hd95, mut empty_cases) = (Vec::new(), Vec::new(), 0);
        for (v, volume) in val_set.volumes.iter().enumerate() {
            let probs =
                sliding_window_probabilities(&model, volume, patches, config, &base_device)?;
            let shape = volume.shape();
            let voxels: usize = shape.iter().product();
            let (_, terms) = weighted_losses(
                &Tensor::<5>::from_data(
                    TensorData::new(probs.clone(), [1, classes, shape[0], shape[1], shape[2]]),
                    &base_device,
                ),
                |s| volume_tensor(volume, s, classes, &base_device),
                config,
                &losses,
                &weights,
            )?;
            let predicted = crate::losses::argmax_classes(&probs, classes, voxels);
            let prediction = ndarray::Array3::from_shape_vec(shape, predicted.clone())
                .expect("one class per voxel");
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
                        .map_err(|e| FileError::new(&val_set.split_dir, e.reason))?;
                let value = surfaces.value(
                    SurfaceMeasure::Hd95(Hd95Definition::Medpy),
                    config.empty_mask,
                    diagonal,
                );
                if value.empty && metric_classes.contains(&k) {
                    empty_cases += 1;
                }
                distances.push(value.value as f32);
            }
            val_log.record(&[v], vec![dice.clone()], terms, &metric_classes);
            dsc.push(dice);
            hd95.push(distances);
            observer.batch_done(val_log.running_loss(), val_log.running_dice());
        }
        observer.phase_done();
        let results = EpochResults {
            tra_loss: train_log.loss,
            val_loss: val_log.loss,
            tra_dice: train_log.dice,
            val_dice: val_log.dice,
            val_3d_dsc: dsc,
            val_3d_hd95: hd95,
            hd95_empty_cases: empty_cases,
            train_seconds,
            data_wait_seconds: data_wait,
        };
        progress.finish_epoch(
            epoch_start,
            results,
            &context,
            &mut history,
            &net,
            &optimizer,
            observer,
        )?;
    }
    let summary = progress.summary(run_dir, metric_classes);
    observer.run_done(&summary);
    Ok(summary)
}

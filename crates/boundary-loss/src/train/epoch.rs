//! The bookkeeping of one epoch: what each phase records, the original's CSV means, and the
//! clean-up of an epoch that did not finish.

use std::path::{Path, PathBuf};

use volume_io::{write_png_u8, FileError};

use crate::data::{slice_stem, Batch, Dataset};
use crate::eval;

/// Writes the predicted class maps of a batch as `dir/<slice>.png`.
pub fn save_predictions(
    dir: &Path,
    dataset: &Dataset,
    batch: &Batch,
    predicted: &[u8],
) -> Result<(), FileError> {
    let pixels = batch.size[0] * batch.size[1];
    for (b, &index) in batch.indices.iter().enumerate() {
        let stem = slice_stem(&dataset.names()[index]);
        write_png_u8(
            &dir.join(format!("{stem}.png")),
            &predicted[b * pixels..(b + 1) * pixels],
            batch.size[0],
            batch.size[1],
        )?;
    }
    Ok(())
}

/// What one phase (training or validation) of an epoch records.
pub struct PhaseLog {
    /// Per batch: `weight * loss` of each term.
    pub loss: Vec<Vec<f32>>,
    /// Per image of the split (in data-set order): Dice per class.
    pub dice: Vec<Vec<f32>>,
    /// Running sums for the progress report (kept so that it costs nothing per batch).
    loss_sum: f64,
    dice_sum: f64,
    seen: usize,
}

impl PhaseLog {
    pub fn new(images: usize, classes: usize) -> Self {
        PhaseLog {
            loss: Vec::new(),
            dice: vec![vec![0f32; classes]; images],
            loss_sum: 0.0,
            dice_sum: 0.0,
            seen: 0,
        }
    }

    pub fn record(
        &mut self,
        indices: &[usize],
        dice: Vec<Vec<f32>>,
        weighted_terms: Vec<f32>,
        metric_classes: &[usize],
    ) {
        for (dice, &index) in dice.into_iter().zip(indices) {
            self.dice_sum += eval::nan_mean(metric_classes.iter().map(|&k| dice[k] as f64));
            self.dice[index] = dice;
        }
        self.seen += indices.len();
        self.loss_sum += weighted_terms.iter().map(|&v| v as f64).sum::<f64>();
        self.loss.push(weighted_terms);
    }

    /// A phase that did not run (an epoch `val_every` skips): NaN for every batch's terms and
    /// every image's Dice.
    pub fn unmeasured(batches: usize, terms: usize, images: usize, classes: usize) -> Self {
        PhaseLog {
            loss: vec![vec![f32::NAN; terms]; batches],
            dice: vec![vec![f32::NAN; classes]; images],
            loss_sum: f64::NAN,
            dice_sum: f64::NAN,
            seen: images,
        }
    }

    /// Mean over batches of the weighted total loss so far.
    pub fn running_loss(&self) -> f64 {
        self.loss_sum / self.loss.len().max(1) as f64
    }

    /// Mean over images so far of the metric-class Dice.
    pub fn running_dice(&self) -> f64 {
        self.dice_sum / self.seen.max(1) as f64
    }
}

/// Mean over batches of the summed weighted terms / number of terms: the original's CSV loss
/// (`loss_log.mean(dim=(1, 2))`).
pub fn mean_loss(rows: &[Vec<f32>]) -> f64 {
    eval::nan_mean(rows.iter().flatten().map(|&v| v as f64))
}

/// The CSV Dice of the original: mean over images of the last class.
pub fn last_class_mean(rows: &[Vec<f32>]) -> f64 {
    eval::nan_mean(rows.iter().map(|r| *r.last().expect("K >= 2") as f64))
}

/// Removes the predictions of an epoch that did not finish (an error, a full disk) when dropped:
/// the run folder keeps only finished epochs, and `--resume` redoes this one.
pub struct UnfinishedEpoch {
    pub dir: PathBuf,
    pub finished: bool,
}

impl Drop for UnfinishedEpoch {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

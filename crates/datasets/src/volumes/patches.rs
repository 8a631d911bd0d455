//! Training patches of volumes: where each patch lies (a uniform draw, or, with probability
//! `foreground_ratio`, centred on a random foreground voxel: lesions are under 1 % of the
//! voxels, and a uniform sampler would almost never show one), random flips per axis applied
//! to every stream alike, padding where a patch leaves the volume, and a loader that cuts the
//! batches in parallel ahead of the training step. Every draw comes from the run's seed and the
//! epoch, whatever the thread count.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dataset::{StreamVolume, Volume};
use crate::data::Prefetch;

/// How validation windows' probabilities are blended where they overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Blending {
    /// Weights of a Gaussian centred on the window (sigma = 1/8 of its size per axis, as
    /// nnU-Net): a window's border, where its context is poorest, counts least.
    #[default]
    Gaussian,
    /// Every window counts the same.
    Uniform,
}

fn third() -> f64 {
    1.0 / 3.0
}
fn yes() -> bool {
    true
}
fn half() -> f64 {
    0.5
}

/// The run file's `[patches]` table: 3-D training on patches of volumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchOptions {
    /// Voxels per axis (X, Y, Z).
    pub size: [usize; 3],
    /// Probability that a patch is centred on a foreground voxel (nnU-Net: a third).
    #[serde(default = "third")]
    pub foreground_ratio: f64,
    /// Flip each axis of a patch with probability 1/2 (every stream alike).
    #[serde(default = "yes")]
    pub flips: bool,
    /// Training patches per epoch [default: 4 per training volume].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_epoch: Option<usize>,
    /// Overlap of neighbouring validation windows, as a fraction of the window.
    #[serde(default = "half")]
    pub overlap: f64,
    #[serde(default)]
    pub blending: Blending,
}

impl PatchOptions {
    pub fn check(&self) -> Result<(), String> {
        if self.size.contains(&0) {
            return Err(format!("size {:?} has an empty axis", self.size));
        }
        if !(0.0..=1.0).contains(&self.foreground_ratio) {
            return Err("foreground_ratio must lie in [0, 1]".into());
        }
        if !(0.0..1.0).contains(&self.overlap) {
            return Err("overlap must lie in [0, 1)".into());
        }
        if self.per_epoch == Some(0) {
            return Err("per_epoch must be at least 1".into());
        }
        Ok(())
    }

    pub fn voxels(&self) -> usize {
        self.size.iter().product()
    }
}

/// Where one patch lies in its volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchPlacement {
    pub volume: usize,
    /// The patch's first voxel in the volume (negative, or beyond the end: padding).
    pub start: [isize; 3],
    pub flips: [bool; 3],
    /// Centred on a foreground voxel by the oversampling.
    pub forced: bool,
}

/// The start along one axis of a uniformly placed window of `p` in `n` voxels.
fn uniform_start(n: usize, p: usize, rng: &mut ChaCha8Rng) -> isize {
    // Drawn as i64: rand samples fixed-width integers only.
    let (n, p) = (n as i64, p as i64);
    let start = if n >= p {
        rng.random_range(0..=n - p)
    } else {
        rng.random_range(n - p..=0)
    };
    start as isize
}

/// Draws one patch of `options.size` in one of `volumes`.
pub fn draw(
    volumes: &[Arc<Volume>],
    options: &PatchOptions,
    rng: &mut ChaCha8Rng,
) -> PatchPlacement {
    let index = rng.random_range(0..volumes.len());
    let volume = &volumes[index];
    let shape = volume.shape();
    let oversample = rng.random_bool(options.foreground_ratio);
    let foreground = if oversample {
        let count = volume.truth.iter().filter(|&&l| l > 0).count();
        (count > 0).then(|| {
            let pick = rng.random_range(0..count);
            let flat = volume
                .truth
                .iter()
                .enumerate()
                .filter(|(_, &l)| l > 0)
                .nth(pick)
                .expect("pick < count")
                .0;
            [
                flat / (shape[1] * shape[2]),
                flat / shape[2] % shape[1],
                flat % shape[2],
            ]
        })
    } else {
        None
    };
    let start = std::array::from_fn(|a| {
        let (n, p) = (shape[a] as isize, options.size[a] as isize);
        match foreground {
            // Centred on the voxel, moved inside the volume where the volume allows.
            Some(voxel) => (voxel[a] as isize - p / 2).clamp((n - p).min(0), (n - p).max(0)),
            None => uniform_start(shape[a], options.size[a], rng),
        }
    });
    let flips = std::array::from_fn(|_| options.flips && rng.random_bool(0.5));
    PatchPlacement {
        volume: index,
        start,
        flips,
        forced: foreground.is_some(),
    }
}

/// The `count` patches of an epoch: the same for the same seed and epoch.
pub fn plan_epoch(
    volumes: &[Arc<Volume>],
    options: &PatchOptions,
    seed: u64,
    epoch: usize,
    count: usize,
) -> Vec<PatchPlacement> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64 + 1);
    (0..count)
        .map(|_| draw(volumes, options, &mut rng))
        .collect()
}

/// One batch on the host: each stream `(B, C, X, Y, Z)` row-major, the truth `(B, X, Y, Z)`.
#[derive(Debug, Clone)]
pub struct PatchBatch {
    pub placements: Vec<PatchPlacement>,
    pub streams: Vec<Vec<f32>>,
    pub channels: Vec<usize>,
    pub size: [usize; 3],
    pub truth: Vec<u8>,
}

/// The volume coordinate of patch voxel `i` along an axis (outside the volume: padding).
fn source(start: isize, i: usize, p: usize, flip: bool) -> isize {
    let i = if flip { p - 1 - i } else { i };
    start + i as isize
}

/// Per patch voxel: the volume's flat index (`None` in the padding), and the nearest voxel's
/// (for edge padding).
fn patch_indices(
    shape: [usize; 3],
    placement: &PatchPlacement,
    size: [usize; 3],
) -> (Vec<Option<usize>>, Vec<usize>) {
    let n: usize = size.iter().product();
    let mut inside = Vec::with_capacity(n);
    let mut clamped = Vec::with_capacity(n);
    let c = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    for i in 0..size[0] {
        let x = source(placement.start[0], i, size[0], placement.flips[0]);
        for j in 0..size[1] {
            let y = source(placement.start[1], j, size[1], placement.flips[1]);
            for k in 0..size[2] {
                let z = source(placement.start[2], k, size[2], placement.flips[2]);
                let within = [x, y, z]
                    .iter()
                    .zip(shape)
                    .all(|(&v, n)| v >= 0 && (v as usize) < n);
                let flat = (c(x, shape[0]) * shape[1] + c(y, shape[1])) * shape[2] + c(z, shape[2]);
                inside.push(within.then_some(flat));
                clamped.push(flat);
            }
        }
    }
    (inside, clamped)
}

/// One stream of a patch, `(C, px, py, pz)`.
fn fill_stream(
    stream: &StreamVolume,
    (inside, clamped): (&[Option<usize>], &[usize]),
    voxels: usize,
    classes: usize,
) -> Vec<f32> {
    let n = inside.len();
    match stream {
        StreamVolume::Labels(labels) => {
            let labels = labels.as_slice().expect("standard layout");
            let mut out = vec![0f32; classes * n];
            for (v, f) in inside.iter().enumerate() {
                let l = f.map_or(0, |f| labels[f]) as usize;
                out[l * n + v] = 1.0;
            }
            out
        }
        StreamVolume::Channels { values, edge } => {
            let values = values.as_slice().expect("standard layout");
            let channels = values.len() / voxels;
            let mut out = vec![0f32; channels * n];
            for c in 0..channels {
                let plane = &values[c * voxels..(c + 1) * voxels];
                for v in 0..n {
                    out[c * n + v] = match (inside[v], edge) {
                        (Some(f), _) => plane[f],
                        (None, true) => plane[clamped[v]],
                        (None, false) => 0.0,
                    };
                }
            }
            out
        }
    }
}

/// Cuts one patch: every stream `(C, px, py, pz)` and the truth `(px, py, pz)`.
pub fn cut(
    volume: &Volume,
    placement: &PatchPlacement,
    size: [usize; 3],
    classes: usize,
) -> (Vec<Vec<f32>>, Vec<u8>) {
    let shape = volume.shape();
    let voxels = shape.iter().product();
    let (inside, clamped) = patch_indices(shape, placement, size);
    let truth_values = volume.truth.as_slice().expect("standard layout");
    let truth: Vec<u8> = inside
        .iter()
        .map(|f| f.map_or(0, |f| truth_values[f]))
        .collect();
    let streams = volume
        .streams
        .iter()
        .map(|stream| fill_stream(stream, (&inside, &clamped), voxels, classes))
        .collect();
    (streams, truth)
}

/// Stream `stream` of the window at `start` (no flip), `(C, px, py, pz)`.
pub fn cut_window(
    volume: &Volume,
    start: [usize; 3],
    size: [usize; 3],
    classes: usize,
    stream: usize,
) -> Vec<f32> {
    let shape = volume.shape();
    let placement = PatchPlacement {
        volume: 0,
        start: start.map(|s| s as isize),
        flips: [false; 3],
        forced: false,
    };
    let (inside, clamped) = patch_indices(shape, &placement, size);
    fill_stream(
        &volume.streams[stream],
        (&inside, &clamped),
        shape.iter().product(),
        classes,
    )
}

/// Cuts a batch of patches in parallel.
pub fn cut_batch(
    volumes: &[Arc<Volume>],
    placements: &[PatchPlacement],
    size: [usize; 3],
    classes: usize,
) -> PatchBatch {
    let cut_patches: Vec<(Vec<Vec<f32>>, Vec<u8>)> = placements
        .par_iter()
        .map(|p| cut(&volumes[p.volume], p, size, classes))
        .collect();
    let first = &volumes[placements[0].volume];
    let channels: Vec<usize> = first.streams.iter().map(|s| s.channels(classes)).collect();
    let streams = (0..channels.len())
        .map(|s| {
            cut_patches
                .iter()
                .flat_map(|(st, _)| st[s].iter().copied())
                .collect()
        })
        .collect();
    let truth = cut_patches
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .collect();
    PatchBatch {
        placements: placements.to_vec(),
        streams,
        channels,
        size,
        truth,
    }
}

/// Batches of patches cut (in parallel with rayon) by a background thread that stays up to
/// `prefetch` batches ahead of the training step.
pub type PatchLoader = Prefetch<PatchBatch>;

impl PatchLoader {
    pub fn new(
        volumes: Arc<Vec<Arc<Volume>>>,
        placements: Vec<PatchPlacement>,
        batch_size: usize,
        size: [usize; 3],
        classes: usize,
        prefetch: usize,
    ) -> Self {
        let batch_size = batch_size.max(1);
        let batches = (0..placements.len().div_ceil(batch_size)).map(move |b| {
            let chunk = &placements[b * batch_size..((b + 1) * batch_size).min(placements.len())];
            cut_batch(&volumes, chunk, size, classes)
        });
        Prefetch::spawn(batches, prefetch, |_| false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    /// A 10x8x6 volume: labels 1 on a 2x2x2 cube at (6..8, 2..4, 1..3); one image channel whose
    /// value encodes its voxel; a distance-like channel.
    fn volume() -> Arc<Volume> {
        let shape = [10usize, 8, 6];
        let mut truth = ArrayD::<u8>::zeros(IxDyn(&shape));
        for x in 6..8 {
            for y in 2..4 {
                for z in 1..3 {
                    truth[[x, y, z]] = 1;
                }
            }
        }
        let image = ArrayD::from_shape_fn(IxDyn(&[1, 10, 8, 6]), |i| {
            (i[1] * 100 + i[2] * 10 + i[3]) as f32
        });
        let map = ArrayD::from_shape_fn(IxDyn(&[1, 10, 8, 6]), |i| i[1] as f32 - 4.5);
        Arc::new(Volume {
            name: "v".into(),
            streams: vec![
                StreamVolume::Channels {
                    values: image,
                    edge: false,
                },
                StreamVolume::Labels(truth.clone()),
                StreamVolume::Channels {
                    values: map,
                    edge: true,
                },
            ],
            truth,
            spacing: [1.0, 1.0, 2.0],
        })
    }

    fn options(ratio: f64) -> PatchOptions {
        PatchOptions {
            size: [4, 4, 4],
            foreground_ratio: ratio,
            flips: true,
            per_epoch: None,
            overlap: 0.5,
            blending: Blending::Gaussian,
        }
    }

    #[test]
    fn the_foreground_ratio_is_the_configured_one_within_sampling_error() {
        let volumes = vec![volume()];
        for ratio in [0.0, 0.33, 0.8, 1.0] {
            let n = 4000;
            let plan = plan_epoch(&volumes, &options(ratio), 7, 0, n);
            let forced = plan.iter().filter(|p| p.forced).count() as f64;
            // Binomial(n, ratio): within 4 standard deviations.
            let sd = (n as f64 * ratio * (1.0 - ratio)).sqrt();
            assert!(
                (forced - n as f64 * ratio).abs() <= 4.0 * sd + 1e-9,
                "{ratio}: {forced} forced of {n}"
            );
            // A forced patch holds foreground, at its centre before flipping.
            for p in plan.iter().filter(|p| p.forced) {
                let (_, truth) = cut(&volumes[0], p, [4, 4, 4], 2);
                assert!(truth.contains(&1), "{p:?}");
            }
        }
        // Patches holding foreground: the forced ones plus the uniform ones that meet the cube
        // by chance, whose probability is counted over every uniform start (brute force).
        let mut meets = 0;
        let mut starts = 0;
        for x in 0..=6usize {
            for y in 0..=4usize {
                for z in 0..=2usize {
                    starts += 1;
                    let overlaps = |s: usize, lo: usize, hi: usize| s < hi && lo < s + 4;
                    meets +=
                        usize::from(overlaps(x, 6, 8) && overlaps(y, 2, 4) && overlaps(z, 1, 3));
                }
            }
        }
        let chance = meets as f64 / starts as f64;
        for ratio in [0.0, 0.33] {
            let n = 3000;
            let plan = plan_epoch(&volumes, &options(ratio), 11, 0, n);
            let with_foreground = plan
                .iter()
                .filter(|p| cut(&volumes[0], p, [4, 4, 4], 2).1.contains(&1))
                .count() as f64;
            let expected = ratio + (1.0 - ratio) * chance;
            let sd = (n as f64 * expected * (1.0 - expected)).sqrt();
            assert!(
                (with_foreground - n as f64 * expected).abs() <= 4.0 * sd,
                "{ratio}: {with_foreground} of {n}, expected {expected}"
            );
        }
    }

    #[test]
    fn plans_depend_on_the_seed_and_epoch_only() {
        let volumes = vec![volume(), volume()];
        let a = plan_epoch(&volumes, &options(0.33), 1, 3, 50);
        assert_eq!(a, plan_epoch(&volumes, &options(0.33), 1, 3, 50));
        assert_ne!(a, plan_epoch(&volumes, &options(0.33), 1, 4, 50));
        assert_ne!(a, plan_epoch(&volumes, &options(0.33), 2, 3, 50));
    }

    /// Brute force: every patch voxel is the volume voxel its placement and flips name, every
    /// stream alike; zeros (image), background (labels) or the edge value (maps) outside.
    #[test]
    fn patches_flip_every_stream_alike_and_pad_outside_the_volume() {
        let v = volume();
        let size = [4usize, 4, 4];
        for placement in [
            PatchPlacement {
                volume: 0,
                start: [5, 1, 0],
                flips: [true, false, true],
                forced: false,
            },
            PatchPlacement {
                volume: 0,
                start: [-2, 6, 4],
                flips: [false, true, false],
                forced: false,
            },
        ] {
            let (streams, truth) = cut(&v, &placement, size, 2);
            let n = 64;
            for i in 0..4 {
                for j in 0..4 {
                    for k in 0..4 {
                        let q = |a: usize, idx: usize| {
                            let idx = if placement.flips[a] { 3 - idx } else { idx };
                            placement.start[a] + idx as isize
                        };
                        let (x, y, z) = (q(0, i), q(1, j), q(2, k));
                        let inside =
                            (0..10).contains(&x) && (0..8).contains(&y) && (0..6).contains(&z);
                        let v_idx = (i * 4 + j) * 4 + k;
                        let image = if inside {
                            (x * 100 + y * 10 + z) as f32
                        } else {
                            0.0
                        };
                        assert_eq!(streams[0][v_idx], image);
                        let label = if inside {
                            v.truth[[x as usize, y as usize, z as usize]]
                        } else {
                            0
                        };
                        assert_eq!(truth[v_idx], label);
                        assert_eq!(streams[1][v_idx], f32::from(label == 0));
                        assert_eq!(streams[1][n + v_idx], f32::from(label == 1));
                        assert_eq!(streams[2][v_idx], x.clamp(0, 9) as f32 - 4.5);
                    }
                }
            }
        }
    }
}

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::slices::{DataError, Dataset, ReadSlice};

/// One batch on the host: each stream as `(B, channels, H, W)` row-major floats.
#[derive(Debug, Clone)]
pub struct Batch {
    pub indices: Vec<usize>,
    pub streams: Vec<Vec<f32>>,
    pub channels: Vec<usize>,
    pub size: [usize; 2],
}

/// Batches of a data set, read in parallel (rayon) by a background thread that stays up to
/// `prefetch` batches ahead of the consumer, so reading overlaps the training step.
pub struct Loader {
    receiver: Receiver<Result<Batch, DataError>>,
    worker: Option<JoinHandle<()>>,
    waited: Duration,
}

impl Loader {
    /// All slices of `dataset` in a seeded shuffled order (or in order), `batch_size` at a time;
    /// the last batch may be smaller. With `cache`, slices read once are served from memory.
    pub fn new(
        dataset: Arc<Dataset>,
        batch_size: usize,
        shuffle_seed: Option<u64>,
        prefetch: usize,
        cache: Option<Arc<SliceCache>>,
    ) -> Self {
        let mut order: Vec<usize> = (0..dataset.len()).collect();
        if let Some(seed) = shuffle_seed {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        }
        let (sender, receiver) = sync_channel(prefetch.max(1));
        let worker = std::thread::spawn(move || {
            for chunk in order.chunks(batch_size.max(1)) {
                let batch = read_batch(&dataset, chunk, cache.as_deref());
                let failed = batch.is_err();
                if sender.send(batch).is_err() || failed {
                    return; // consumer gone, or an error delivered
                }
            }
        });
        Loader {
            receiver,
            worker: Some(worker),
            waited: Duration::ZERO,
        }
    }

    /// Time the consumer spent waiting for batches: near zero when reading keeps ahead.
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

impl Iterator for Loader {
    type Item = Result<Batch, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        let started = Instant::now();
        let next = self.receiver.recv().ok();
        self.waited += started.elapsed();
        next
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Unblock the worker (its sends fail once the receiver is gone), then wait for it.
        let (_, dead) = sync_channel(1);
        drop(std::mem::replace(&mut self.receiver, dead));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Slices kept in memory after their first read (the original's `--in_memory`).
#[derive(Default)]
pub struct SliceCache {
    slices: std::sync::Mutex<std::collections::HashMap<usize, Arc<ReadSlice>>>,
}

fn read_one(
    dataset: &Dataset,
    index: usize,
    cache: Option<&SliceCache>,
) -> Result<Arc<ReadSlice>, DataError> {
    if let Some(cache) = cache {
        if let Some(hit) = cache.slices.lock().expect("cache lock").get(&index) {
            return Ok(hit.clone());
        }
        let slice = Arc::new(dataset.read(index)?);
        cache
            .slices
            .lock()
            .expect("cache lock")
            .insert(index, slice.clone());
        return Ok(slice);
    }
    Ok(Arc::new(dataset.read(index)?))
}

fn read_batch(
    dataset: &Dataset,
    indices: &[usize],
    cache: Option<&SliceCache>,
) -> Result<Batch, DataError> {
    let slices: Vec<Arc<ReadSlice>> = indices
        .par_iter()
        .map(|&i| read_one(dataset, i, cache))
        .collect::<Result<_, _>>()?;
    let (channels, size) = (slices[0].1.clone(), slices[0].2);
    for (slice, &index) in slices.iter().zip(indices) {
        if slice.2 != size || slice.1 != channels {
            return Err(DataError::Bad {
                path: dataset.split_dir.join(&dataset.names[index]),
                reason: format!(
                    "is {}x{} with {:?} channels, other slices of the batch are {}x{} with {:?}",
                    slice.2[0], slice.2[1], slice.1, size[0], size[1], channels
                ),
            });
        }
    }
    let streams = (0..channels.len())
        .map(|s| {
            let mut values = Vec::with_capacity(slices.len() * slices[0].0[s].len());
            for slice in &slices {
                values.extend_from_slice(&slice.0[s]);
            }
            values
        })
        .collect();
    Ok(Batch {
        indices: indices.to_vec(),
        streams,
        channels,
        size,
    })
}

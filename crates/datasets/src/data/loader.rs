use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::slices::{DataError, Dataset, Slice};

/// One batch on the host: each stream as `(B, channels, H, W)` row-major floats.
#[derive(Debug, Clone)]
pub struct Batch {
    pub indices: Vec<usize>,
    pub streams: Vec<Vec<f32>>,
    pub channels: Vec<usize>,
    pub size: [usize; 2],
    /// The truth class maps `(B, H, W)` (empty when the data set reads no truth).
    pub truth: Vec<u8>,
}

/// The slices `0..len` in batches of `batch_size` (the last may be smaller), shuffled with
/// `seed` when given (the original's shuffling DataLoader).
pub fn slice_batches(len: usize, batch_size: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..len).collect();
    if let Some(seed) = seed {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// The slices `0..has_foreground.len()` in batches of `batch_size`, each batch holding the
/// split's share of slices with foreground (to within one slice): the two groups are shuffled
/// apart with `seed` and interleaved so that, at every position, the count drawn from each
/// group is its share of the positions so far, rounded. Every slice is still seen once per
/// epoch; only the mix of each batch changes.
pub fn balanced_batches(has_foreground: &[bool], batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut with, mut without): (Vec<usize>, Vec<usize>) =
        (0..has_foreground.len()).partition(|&i| has_foreground[i]);
    with.shuffle(&mut rng);
    without.shuffle(&mut rng);
    let total = has_foreground.len();
    let mut order = Vec::with_capacity(total);
    let (mut taken_with, mut taken_without) = (0, 0);
    for position in 1..=total {
        // Slices with foreground due by this position: their share, rounded to nearest.
        let due = (position * with.len() + total / 2) / total;
        if taken_with < due || taken_without == without.len() {
            order.push(with[taken_with]);
            taken_with += 1;
        } else {
            order.push(without[taken_without]);
            taken_without += 1;
        }
    }
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// One batch per patient (the original's PatientSampler), patients shuffled with `seed` when
/// given; slices keep their order within a patient.
pub fn patient_batches(patients: &[(String, Vec<usize>)], seed: Option<u64>) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = patients.iter().map(|(_, slices)| slices.clone()).collect();
    if let Some(seed) = seed {
        batches.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    batches
}

/// Items made in order by a background thread that stays up to `prefetch` items ahead of the
/// consumer, so that making them overlaps the training step: the 2-D [`Loader`] and the 3-D
/// patch loader.
pub struct Prefetch<T> {
    receiver: Receiver<T>,
    worker: Option<JoinHandle<()>>,
    waited: Duration,
}

impl<T: Send + 'static> Prefetch<T> {
    /// Runs `items` on a background thread; the stream ends after an item for which `ends` is
    /// true (an error), or when the consumer is gone.
    pub fn spawn(
        items: impl Iterator<Item = T> + Send + 'static,
        prefetch: usize,
        ends: fn(&T) -> bool,
    ) -> Self {
        let (sender, receiver) = sync_channel(prefetch.max(1));
        let worker = std::thread::spawn(move || {
            for item in items {
                let last = ends(&item);
                if sender.send(item).is_err() || last {
                    return; // consumer gone, or the last item delivered
                }
            }
        });
        Prefetch {
            receiver,
            worker: Some(worker),
            waited: Duration::ZERO,
        }
    }
}

impl<T> Prefetch<T> {
    /// Time the consumer spent waiting for items: near zero when making them keeps ahead.
    pub fn waited(&self) -> Duration {
        self.waited
    }
}

impl<T> Iterator for Prefetch<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let started = Instant::now();
        let next = self.receiver.recv().ok();
        self.waited += started.elapsed();
        next
    }
}

impl<T> Drop for Prefetch<T> {
    fn drop(&mut self) {
        // Unblock the worker (its sends fail once the receiver is gone), then wait for it.
        let (_, dead) = sync_channel(1);
        drop(std::mem::replace(&mut self.receiver, dead));
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Batches of a data set, read in parallel (rayon) ahead of the consumer; the stream ends after
/// the first error.
pub type Loader = Prefetch<Result<Batch, DataError>>;

impl Loader {
    /// The given batches of slice indices of `dataset` (see [`slice_batches`] and
    /// [`patient_batches`]), in order. With `cache`, slices read once are served from memory.
    pub fn new(
        dataset: Arc<Dataset>,
        batches: Vec<Vec<usize>>,
        prefetch: usize,
        cache: Option<Arc<SliceCache>>,
    ) -> Self {
        let items = batches
            .into_iter()
            .map(move |chunk| read_batch(&dataset, &chunk, cache.as_deref()));
        Prefetch::spawn(items, prefetch, Result::is_err)
    }
}

/// Slices kept in memory after their first read (the original's `--in_memory`).
#[derive(Default)]
pub struct SliceCache {
    slices: std::sync::Mutex<std::collections::HashMap<usize, Arc<Slice>>>,
}

fn read_one(
    dataset: &Dataset,
    index: usize,
    cache: Option<&SliceCache>,
) -> Result<Arc<Slice>, DataError> {
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
    let slices: Vec<Arc<Slice>> = indices
        .par_iter()
        .map(|&i| read_one(dataset, i, cache))
        .collect::<Result<_, _>>()?;
    let (channels, size) = (slices[0].channels.clone(), slices[0].size);
    for (slice, &index) in slices.iter().zip(indices) {
        if slice.size != size || slice.channels != channels {
            return Err(DataError::Bad {
                path: dataset.split_dir().join(&dataset.names()[index]),
                reason: format!(
                    "is {}x{} with {:?} channels, other slices of the batch are {}x{} with {:?}",
                    slice.size[0], slice.size[1], slice.channels, size[0], size[1], channels
                ),
            });
        }
    }
    let streams = (0..channels.len())
        .map(|s| {
            let mut values = Vec::with_capacity(slices.len() * slices[0].streams[s].len());
            for slice in &slices {
                values.extend_from_slice(&slice.streams[s]);
            }
            values
        })
        .collect();
    let truth = slices
        .iter()
        .flat_map(|s| s.truth.iter().copied())
        .collect();
    Ok(Batch {
        indices: indices.to_vec(),
        streams,
        channels,
        size,
        truth,
    })
}

#[cfg(test)]
mod balanced_batch_tests {
    use super::balanced_batches;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_slice_once_and_each_batch_holds_its_share(
            has_foreground in prop::collection::vec(any::<bool>(), 0..120),
            batch_size in 1usize..12,
            seed in any::<u64>(),
        ) {
            let batches = balanced_batches(&has_foreground, batch_size, seed);
            let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..has_foreground.len()).collect::<Vec<_>>());
            let share = has_foreground.iter().filter(|&&f| f).count() as f64
                / has_foreground.len().max(1) as f64;
            for batch in &batches {
                prop_assert!(batch.len() <= batch_size);
                let with = batch.iter().filter(|&&i| has_foreground[i]).count() as f64;
                let due = share * batch.len() as f64;
                prop_assert!((with - due).abs() < 1.0 + 1e-9, "{with} with foreground, {due} due");
            }
            prop_assert_eq!(&batches, &balanced_batches(&has_foreground, batch_size, seed));
        }
    }
}

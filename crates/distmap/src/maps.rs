//! Per-class distance maps of the boundary loss (`one_hot2dist`) and of the Hausdorff-DT loss
//! (`one_hot2hd_dist`), with the original's semantics and our documented options.

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;

use crate::fill::*;
use crate::options::{BorderOffset, ClassLabel, MapFloat, MapKind, MapOptions};
use crate::transform::squared_distance_to_other_code;
use crate::{check_spacing, DistmapError};
use page_buffers::zeroed_vec;

/// Per-class maps from a label map (`labels` row-major of `shape`, values < `classes`) into
/// `out`, row-major `(classes, *shape)`.
pub fn distance_maps_into<T: ClassLabel, O: MapFloat>(
    labels: &[T],
    shape: &[usize],
    classes: usize,
    spacing: &[f64],
    options: &MapOptions,
    out: &mut [O],
) -> Result<(), DistmapError> {
    let total = validate(shape, classes, spacing, labels.len(), out.len())?;
    if total == 0 {
        return Ok(());
    }
    let presence = class_presence(labels, classes)?;
    let partial: Vec<usize> = (0..classes)
        .filter(|&k| presence[k] == Presence::Partial)
        .collect();
    let mut channels: Vec<Option<&mut [O]>> = out.chunks_mut(total).map(Some).collect();

    // Classes that need no transform.
    for (k, channel) in channels.iter_mut().enumerate() {
        if presence[k] != Presence::Partial {
            let channel = channel.take().expect("each channel is taken once");
            fill_without_transform(channel, presence[k], shape, spacing, options);
        }
    }

    if options.truncate {
        transform_partial_classes::<T, O, TowardZero>(
            labels, shape, classes, spacing, options, channels, &partial, total,
        );
    } else {
        transform_partial_classes::<T, O, Exact>(
            labels, shape, classes, spacing, options, channels, &partial, total,
        );
    }
    Ok(())
}

/// The classes present but not covering the image: the ones that need a transform.
#[allow(clippy::too_many_arguments)]
fn transform_partial_classes<T: ClassLabel, O: MapFloat, R: Rounding>(
    labels: &[T],
    shape: &[usize],
    classes: usize,
    spacing: &[f64],
    options: &MapOptions,
    mut channels: Vec<Option<&mut [O]>>,
    partial: &[usize],
    total: usize,
) {
    let mut jobs: Vec<(usize, &mut [O])> = partial
        .iter()
        .map(|&k| (k, channels[k].take().expect("each channel is taken once")))
        .collect();
    match options.kind {
        MapKind::Hausdorff if !jobs.is_empty() => {
            // One transform serves every class: inside class k, the nearest element of another
            // class is the nearest element outside k.
            with_scratch(total, |squared| {
                squared_distance_to_other_code(labels, None, shape, spacing, squared);
                jobs.into_par_iter().for_each(|(k, channel)| {
                    let class = T::from_class_index(k);
                    fill_chunks(channel, squared, labels, |d2, label| {
                        if label == class {
                            R::apply(d2.sqrt())
                        } else {
                            0.0
                        }
                    });
                });
            });
        }
        MapKind::Signed
            if options.border == BorderOffset::Voxel && classes == 2 && jobs.len() == 2 =>
        {
            // Binary: the labels are the codes, and one transform gives the distance from every
            // element to the other class: the inside of its own class, the outside of the other.
            let (_, class1) = jobs.pop().expect("two jobs");
            let (_, class0) = jobs.pop().expect("two jobs");
            two_class_voxel_offset::<T, O, R>(labels, shape, spacing, class0, class1);
        }
        MapKind::Hausdorff | MapKind::Signed => {
            jobs.into_par_iter().for_each(|(k, channel)| {
                let class = T::from_class_index(k);
                let in_class: Vec<bool> = labels.par_iter().map(|&l| l == class).collect();
                class_map::<O, R>(&in_class, shape, spacing, options, channel);
            });
        }
    }
}

/// Per-class maps of a label map, shape `(classes, *labels.shape())`.
pub fn distance_maps<T: ClassLabel, O: MapFloat>(
    labels: ArrayViewD<'_, T>,
    classes: usize,
    spacing: &[f64],
    options: &MapOptions,
) -> Result<ArrayD<O>, DistmapError> {
    let labels = labels.as_standard_layout();
    let mut shape = vec![classes];
    shape.extend_from_slice(labels.shape());
    let mut out = zeroed_array::<O>(&shape);
    distance_maps_into(
        labels.as_slice().expect("standard layout is contiguous"),
        labels.shape(),
        classes,
        spacing,
        options,
        out.as_slice_mut().expect("fresh array is contiguous"),
    )?;
    Ok(out)
}

/// Per-channel maps of a one-hot (or any multi-channel binary) array `(K, *spatial)`; a nonzero
/// value marks membership. Each channel is taken on its own, as the original does.
pub fn distance_maps_from_one_hot<O: MapFloat>(
    one_hot: ArrayViewD<'_, u8>,
    spacing: &[f64],
    options: &MapOptions,
) -> Result<ArrayD<O>, DistmapError> {
    let one_hot = one_hot.as_standard_layout();
    if one_hot.ndim() < 2 {
        return Err(DistmapError::NoSpatialAxis);
    }
    let mut out = zeroed_array::<O>(one_hot.shape());
    distance_maps_from_one_hot_into(
        one_hot.as_slice().expect("standard layout is contiguous"),
        &one_hot.shape()[1..],
        spacing,
        options,
        out.as_slice_mut().expect("fresh array is contiguous"),
    )?;
    Ok(out)
}

/// [`distance_maps_from_one_hot`] on a row-major buffer of `K * prod(shape)` bytes (K channels
/// of `shape`), into `out` of the same length: the form for batches and reused buffers.
pub fn distance_maps_from_one_hot_into<O: MapFloat>(
    one_hot: &[u8],
    shape: &[usize],
    spacing: &[f64],
    options: &MapOptions,
    out: &mut [O],
) -> Result<(), DistmapError> {
    if shape.is_empty() {
        return Err(DistmapError::NoSpatialAxis);
    }
    let per_channel: usize = shape.iter().product();
    let misfit = DistmapError::InputSize {
        shape: shape.to_vec(),
        got: one_hot.len(),
    };
    if per_channel == 0 {
        // An empty image: nothing to compute, but the buffers must be empty too.
        check_spacing(shape, spacing)?;
        return if one_hot.is_empty() && out.is_empty() {
            Ok(())
        } else {
            Err(misfit)
        };
    }
    if !one_hot.len().is_multiple_of(per_channel) {
        return Err(misfit);
    }
    let classes = one_hot.len() / per_channel;
    let total = validate(shape, classes, spacing, per_channel, out.len())?;
    out.par_chunks_mut(total)
        .zip(one_hot.par_chunks(total))
        .for_each(|(channel, mask)| {
            let count = mask.iter().filter(|&&m| m != 0).count();
            let presence = match count {
                0 => Presence::Absent,
                c if c == total => Presence::WholeImage,
                _ => Presence::Partial,
            };
            if presence != Presence::Partial {
                fill_without_transform(channel, presence, shape, spacing, options);
                return;
            }
            let in_class: Vec<bool> = mask.par_iter().map(|&m| m != 0).collect();
            if options.truncate {
                class_map::<O, TowardZero>(&in_class, shape, spacing, options, channel);
            } else {
                class_map::<O, Exact>(&in_class, shape, spacing, options, channel);
            }
        });
    Ok(())
}

/// A zero array from `vec![0; n]`, which gets fresh zero pages from the allocator instead of
/// writing every element (the maps overwrite them all anyway).
fn zeroed_array<O: MapFloat>(shape: &[usize]) -> ArrayD<O> {
    let total = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), zeroed_vec::<O>(total)).expect("shape matches length")
}

fn validate(
    shape: &[usize],
    classes: usize,
    spacing: &[f64],
    input_len: usize,
    output_len: usize,
) -> Result<usize, DistmapError> {
    if shape.is_empty() {
        return Err(DistmapError::NoSpatialAxis);
    }
    if classes == 0 {
        return Err(DistmapError::NoClass);
    }
    check_spacing(shape, spacing)?;
    let total: usize = shape.iter().product();
    if input_len != total {
        return Err(DistmapError::InputSize {
            shape: shape.to_vec(),
            got: input_len,
        });
    }
    if output_len != total * classes {
        return Err(DistmapError::OutputSize {
            expected: total * classes,
            got: output_len,
        });
    }
    Ok(total)
}

/// Up to this many classes, labels are counted class by class (see `class_presence`).
const COUNT_BY_COMPARISON: usize = 8;

/// Counts each class, failing on the first label that is not below `classes`.
fn class_presence<T: ClassLabel>(
    labels: &[T],
    classes: usize,
) -> Result<Vec<Presence>, DistmapError> {
    let counts = labels
        .par_chunks(64 * 1024)
        .enumerate()
        .try_fold(
            || vec![0usize; classes],
            |mut counts, (chunk, values)| {
                let in_range = |label: T| matches!(label.class_index(), Some(k) if k < classes);
                // A fold without early exit, so that the common (valid) case vectorises.
                if !values.iter().fold(true, |ok, &label| ok & in_range(label)) {
                    let i = values
                        .iter()
                        .position(|&label| !in_range(label))
                        .expect("an invalid label exists");
                    return Err(DistmapError::LabelOutOfRange {
                        label: values[i].wide(),
                        index: chunk * 64 * 1024 + i,
                        classes,
                    });
                }
                if classes <= COUNT_BY_COMPARISON {
                    // One vectorised comparison pass per class beats a histogram, whose
                    // increments of the same counter wait on each other.
                    let mut rest = values.len();
                    for (k, count) in counts.iter_mut().enumerate().skip(1) {
                        let found = values
                            .iter()
                            .filter(|&&label| label.class_index() == Some(k))
                            .count();
                        *count += found;
                        rest -= found;
                    }
                    counts[0] += rest;
                } else {
                    for label in values {
                        counts[label.class_index().unwrap_or_default()] += 1;
                    }
                }
                Ok(counts)
            },
        )
        .try_reduce(
            || vec![0usize; classes],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                Ok(a)
            },
        )?;
    Ok(counts
        .into_iter()
        .map(|c| match c {
            0 => Presence::Absent,
            c if c == labels.len() => Presence::WholeImage,
            _ => Presence::Partial,
        })
        .collect())
}

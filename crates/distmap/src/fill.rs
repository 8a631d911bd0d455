//! The kernels that turn squared distances into map values: rounding (exact or toward zero),
//! classes without a transform (absent, whole image), the two-class fast path, one class's map,
//! and the inner-border codes of the corrected offset.

use rayon::prelude::*;

use crate::diagonal;
use crate::options::ClassLabel;
use crate::options::{AbsentClass, BorderOffset, MapFloat, MapKind, MapOptions, WholeImageClass};
use crate::transform::{squared_distance_to_other_code, squared_distance_to_virtual_origin};
use page_buffers::zeroed_vec;
use std::cell::RefCell;

pub(crate) const OUTSIDE: u8 = 0;
pub(crate) const INTERIOR: u8 = 1;
pub(crate) const BORDER: u8 = 2;

/// Where a class stands in the image, which decides how its map is computed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Absent,
    Partial,
    WholeImage,
}

/// How every output value is rounded, chosen once per call so that the element loops stay
/// branch-free (and vectorise).
pub(crate) trait Rounding: Copy + Send + Sync {
    fn apply(value: f64) -> f64;
}

/// The exact value.
#[derive(Clone, Copy)]
pub(crate) struct Exact;

impl Rounding for Exact {
    #[inline(always)]
    fn apply(value: f64) -> f64 {
        value
    }
}

/// Toward zero, as the original's int32 one-hot does; `+ 0.0` turns -0.0 into 0.0 like an int.
#[derive(Clone, Copy)]
pub(crate) struct TowardZero;

impl Rounding for TowardZero {
    #[inline(always)]
    fn apply(value: f64) -> f64 {
        value.trunc() + 0.0
    }
}

pub(crate) fn round(truncate: bool, value: f64) -> f64 {
    if truncate {
        TowardZero::apply(value)
    } else {
        Exact::apply(value)
    }
}

/// Channels of absent classes (zeros, or the diagonal) and of classes covering the whole image.
pub(crate) fn fill_without_transform<O: MapFloat>(
    channel: &mut [O],
    presence: Presence,
    shape: &[usize],
    spacing: &[f64],
    options: &MapOptions,
) {
    if presence == Presence::Absent
        && options.absent == AbsentClass::Diagonal
        && options.kind == MapKind::Signed
    {
        let diagonal = O::from_f64(round(options.truncate, diagonal(shape, spacing)));
        channel.par_iter_mut().for_each(|v| *v = diagonal);
        return;
    }
    if presence == Presence::Absent || options.whole_image == WholeImageClass::Zeros {
        channel.par_iter_mut().for_each(|v| *v = O::default());
        return;
    }
    // The virtual point sits one step before index 0 on axis 0, so the element at the origin is
    // the inner border: its offset is one voxel (original) or one spacing step (corrected).
    let border = match options.border {
        BorderOffset::Voxel => 1.0,
        BorderOffset::Corrected => spacing[0],
    };
    channel.par_iter_mut().enumerate().for_each(|(i, v)| {
        let d = squared_distance_to_virtual_origin(i, shape, spacing).sqrt();
        *v = O::from_f64(round(
            options.truncate,
            match options.kind {
                MapKind::Signed => 0.0 - (d - border),
                MapKind::Hausdorff => d,
            },
        ));
    });
}

/// The original's value inside a class: `0 - (d - 1)`, written as scipy's expression evaluates
/// (`edt(neg)*neg - (edt(pos) - 1)*pos` with `edt(neg) = 0`), which never yields -0.0.
pub(crate) fn inside_voxel_offset(distance: f64) -> f64 {
    0.0 - (distance - 1.0)
}

/// Scratch buffers up to this many elements (8 MB of f64, a 1024 x 1024 slice) are kept by
/// their thread for the next call; larger ones are freed.
const KEPT_SCRATCH: usize = 1 << 20;

thread_local! {
    static SCRATCH: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on an f64 scratch buffer of `len` elements (contents unspecified: every user
/// writes each element before reading it). Small buffers are reused by the calling thread, so
/// that a loop over slices does not pay fresh pages (page faults and zeroing) for every call;
/// the buffer is taken out of the thread's slot while in use, so a nested call (rayon may run
/// another job on this thread while it waits) gets a fresh one instead.
pub(crate) fn with_scratch<R>(len: usize, work: impl FnOnce(&mut [f64]) -> R) -> R {
    let mut buffer = SCRATCH.with(|slot| std::mem::take(&mut *slot.borrow_mut()));
    if buffer.len() < len {
        buffer = zeroed_vec::<f64>(len);
    }
    let result = work(&mut buffer[..len]);
    if buffer.len() <= KEPT_SCRATCH {
        SCRATCH.with(|slot| *slot.borrow_mut() = buffer);
    }
    result
}

/// Elements per rayon task in the element-wise fills.
pub(crate) const FILL_CHUNK: usize = 16 * 1024;

/// `out[i] = value(squared[i], codes[i])`, in parallel chunks whose plain loops vectorise.
pub(crate) fn fill_chunks<O: MapFloat, C: Copy + Sync>(
    out: &mut [O],
    squared: &[f64],
    codes: &[C],
    value: impl Fn(f64, C) -> f64 + Sync,
) {
    out.par_chunks_mut(FILL_CHUNK)
        .zip(squared.par_chunks(FILL_CHUNK))
        .zip(codes.par_chunks(FILL_CHUNK))
        .for_each(|((out, squared), codes)| {
            for ((o, &d2), &code) in out.iter_mut().zip(squared).zip(codes) {
                *o = O::from_f64(value(d2, code));
            }
        });
}

/// K = 2 with the original offset, labels in {0, 1}: one transform holds, for every element,
/// the distance to the nearest element of the other class.
pub(crate) fn two_class_voxel_offset<T: ClassLabel, O: MapFloat, R: Rounding>(
    labels: &[T],
    shape: &[usize],
    spacing: &[f64],
    class0: &mut [O],
    class1: &mut [O],
) {
    let one = T::from_class_index(1);
    // (class 0, class 1) values of an element from its squared distance; one square root each.
    let pair = |squared: f64, label: T| -> (O, O) {
        let distance = squared.sqrt();
        let inside = inside_voxel_offset(distance);
        let (zero, one) = if label == one {
            (distance, inside)
        } else {
            (inside, distance)
        };
        (O::from_f64(R::apply(zero)), O::from_f64(R::apply(one)))
    };
    if let Some(own) = O::as_f64_mut(class1) {
        // f64 output: class 1's channel is the transform's buffer, rewritten in place.
        squared_distance_to_other_code(labels, None, shape, spacing, own);
        class0
            .par_chunks_mut(FILL_CHUNK)
            .zip(own.par_chunks_mut(FILL_CHUNK))
            .zip(labels.par_chunks(FILL_CHUNK))
            .for_each(|((zero, one), labels)| {
                for ((z, o), &label) in zero.iter_mut().zip(one.iter_mut()).zip(labels) {
                    let (a, b) = pair(*o, label);
                    *z = a;
                    *o = b.to_f64();
                }
            });
        return;
    }
    with_scratch(class0.len(), |squared| {
        squared_distance_to_other_code(labels, None, shape, spacing, squared);
        class0
            .par_chunks_mut(FILL_CHUNK)
            .zip(class1.par_chunks_mut(FILL_CHUNK))
            .zip(
                squared
                    .par_chunks(FILL_CHUNK)
                    .zip(labels.par_chunks(FILL_CHUNK)),
            )
            .for_each(|((zero, one), (squared, labels))| {
                for (((z, o), &d2), &label) in
                    zero.iter_mut().zip(one.iter_mut()).zip(squared).zip(labels)
                {
                    (*z, *o) = pair(d2, label);
                }
            });
    });
}

/// The map of one class that is neither absent nor the whole image, from its membership.
pub(crate) fn class_map<O: MapFloat, R: Rounding>(
    in_class: &[bool],
    shape: &[usize],
    spacing: &[f64],
    options: &MapOptions,
    channel: &mut [O],
) {
    match (options.kind, options.border) {
        (MapKind::Hausdorff, _) => transform_then_fill(
            channel,
            in_class,
            // Only the inside needs distances: runs outside the class are skipped.
            |values| squared_distance_to_other_code(in_class, Some(false), shape, spacing, values),
            |d2, inside| {
                if inside {
                    R::apply(d2.sqrt())
                } else {
                    0.0
                }
            },
        ),
        (MapKind::Signed, BorderOffset::Voxel) => transform_then_fill(
            channel,
            in_class,
            |values| squared_distance_to_other_code(in_class, None, shape, spacing, values),
            |d2, inside| {
                let distance = d2.sqrt();
                R::apply(if inside {
                    inside_voxel_offset(distance)
                } else {
                    distance
                })
            },
        ),
        (MapKind::Signed, BorderOffset::Corrected) => {
            let codes = border_codes(in_class, shape);
            transform_then_fill(
                channel,
                &codes,
                |values| {
                    squared_distance_to_other_code(&codes, Some(BORDER), shape, spacing, values)
                },
                |d2, code| {
                    R::apply(match code {
                        OUTSIDE => d2.sqrt(),
                        INTERIOR => 0.0 - d2.sqrt(),
                        _ => 0.0,
                    })
                },
            )
        }
    }
}

/// `transform` writes squared distances into an f64 buffer (the channel itself when it is f64,
/// else a scratch buffer); then every channel value becomes `value(squared, code)`, in one pass
/// that also rounds to the channel's type.
fn transform_then_fill<O: MapFloat, C: Copy + Sync>(
    channel: &mut [O],
    codes: &[C],
    transform: impl FnOnce(&mut [f64]),
    value: impl Fn(f64, C) -> f64 + Sync,
) {
    if let Some(own) = O::as_f64_mut(channel) {
        transform(own);
        own.par_chunks_mut(FILL_CHUNK)
            .zip(codes.par_chunks(FILL_CHUNK))
            .for_each(|(values, codes)| {
                for (v, &code) in values.iter_mut().zip(codes) {
                    *v = value(*v, code);
                }
            });
        return;
    }
    with_scratch(channel.len(), |squared| {
        transform(squared);
        fill_chunks(channel, squared, codes, value);
    });
}

/// Codes for the corrected offset: OUTSIDE, INTERIOR, or BORDER (a class element with a face
/// neighbour outside the class; the image edge is not outside).
pub(crate) fn border_codes(in_class: &[bool], shape: &[usize]) -> Vec<u8> {
    let total: usize = shape.iter().product();
    let strides: Vec<usize> = (0..shape.len())
        .map(|a| shape[a + 1..].iter().product())
        .collect();
    let mut codes = vec![OUTSIDE; total];
    codes.par_iter_mut().enumerate().for_each(|(i, code)| {
        if !in_class[i] {
            return;
        }
        let touches_outside = shape.iter().zip(&strides).any(|(&len, &stride)| {
            let coordinate = (i / stride) % len;
            (coordinate > 0 && !in_class[i - stride])
                || (coordinate + 1 < len && !in_class[i + stride])
        });
        *code = if touches_outside { BORDER } else { INTERIOR };
    });
    codes
}

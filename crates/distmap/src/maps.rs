//! Per-class distance maps of the boundary loss (`one_hot2dist`) and of the Hausdorff-DT loss
//! (`one_hot2hd_dist`), with the original's semantics and our documented options.

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;

use crate::buffers::zeroed_vec;
use crate::transform::{squared_distance_to_other_code, squared_distance_to_virtual_origin};
use crate::{check_spacing, DistmapError};

/// Which map to compute for each class k.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapKind {
    /// `one_hot2dist`: outside class k the distance to it, inside `-(distance to the outside -
    /// offset)` (see [`BorderOffset`]).
    #[default]
    Signed,
    /// `one_hot2hd_dist`: inside class k the distance to the outside, 0 elsewhere.
    Hausdorff,
}

/// What is subtracted inside an object in a signed map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BorderOffset {
    /// The original: `-(edt(pos) - 1)`, one *voxel* whatever the spacing, so with spacing below
    /// 1 mm the inner border ring becomes positive.
    #[default]
    Voxel,
    /// Inside value `-(distance to the nearest inner-border element)`, where the inner border is
    /// the set of class elements with a face neighbour outside the class (the image edge does
    /// not count). The inner border is exactly 0 at any spacing, and the outside, which is the
    /// distance to the nearest class element, is also a distance to that border: the map is the
    /// signed distance to the inner border ring. At unit spacing it differs from the original
    /// wherever `edt - 1` is not itself a grid distance (diagonals).
    Corrected,
}

/// What a class that covers the whole image gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WholeImageClass {
    /// scipy's artefact, which the original trains with: the distance to a virtual point just
    /// before index 0 on axis 0.
    #[default]
    ScipyCompatible,
    /// All zeros: such a class carries no boundary.
    Zeros,
}

/// Options of [`distance_maps`]; the default reproduces the original's `one_hot2dist` in f64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapOptions {
    pub kind: MapKind,
    pub border: BorderOffset,
    pub whole_image: WholeImageClass,
    /// Truncate toward zero like the original 2-D data loader (which computes on an int32
    /// one-hot), for exact reproduction of old runs.
    pub truncate: bool,
}

named_choice!(
    MapKind,
    (MapKind::Signed, "signed"),
    (MapKind::Hausdorff, "hd")
);
named_choice!(
    BorderOffset,
    (BorderOffset::Voxel, "voxel"),
    (BorderOffset::Corrected, "corrected")
);
named_choice!(
    WholeImageClass,
    (WholeImageClass::ScipyCompatible, "scipy"),
    (WholeImageClass::Zeros, "zeros")
);

/// An integer class label.
pub trait ClassLabel: Copy + PartialEq + Send + Sync {
    /// The class index, or `None` if the label is negative or does not fit `usize`.
    fn class_index(self) -> Option<usize>;
    /// The label of class `index`; only called with indices of labels present in the map.
    fn from_class_index(index: usize) -> Self;
    /// The label as a wide integer, for error messages.
    fn wide(self) -> i128;
}

macro_rules! impl_class_label {
    ($($t:ty),*) => {$(
        impl ClassLabel for $t {
            fn class_index(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
            fn from_class_index(index: usize) -> Self {
                <$t>::try_from(index).expect("index of a label that exists")
            }
            fn wide(self) -> i128 {
                self as i128
            }
        }
    )*};
}
impl_class_label!(u8, u16, u32, u64, usize, i8, i16, i32, i64);

/// An output element type. Maps are computed in f64 and rounded once.
pub trait MapFloat: Copy + Send + Sync + Default + 'static {
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
    /// The slice itself when the output is f64, so it can serve as the transform's scratch.
    fn as_f64_mut(values: &mut [Self]) -> Option<&mut [f64]>;
}

impl MapFloat for f64 {
    fn from_f64(value: f64) -> Self {
        value
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn as_f64_mut(values: &mut [Self]) -> Option<&mut [f64]> {
        Some(values)
    }
}

impl MapFloat for f32 {
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn as_f64_mut(_: &mut [Self]) -> Option<&mut [f64]> {
        None
    }
}

const OUTSIDE: u8 = 0;
const INTERIOR: u8 = 1;
const BORDER: u8 = 2;

/// Where a class stands in the image, which decides how its map is computed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presence {
    Absent,
    Partial,
    WholeImage,
}

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
            let mut squared = zeroed_vec::<f64>(total);
            squared_distance_to_other_code(labels, None, shape, spacing, &mut squared);
            jobs.into_par_iter().for_each(|(k, channel)| {
                let class = T::from_class_index(k);
                fill_chunks(channel, &squared, labels, |d2, label| {
                    if label == class {
                        R::apply(d2.sqrt())
                    } else {
                        0.0
                    }
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
                for (i, &label) in values.iter().enumerate() {
                    match label.class_index() {
                        Some(k) if k < classes => counts[k] += 1,
                        _ => {
                            return Err(DistmapError::LabelOutOfRange {
                                label: label.wide(),
                                index: chunk * 64 * 1024 + i,
                                classes,
                            })
                        }
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

/// How every output value is rounded, chosen once per call so that the element loops stay
/// branch-free (and vectorise).
trait Rounding: Copy + Send + Sync {
    fn apply(value: f64) -> f64;
}

/// The exact value.
#[derive(Clone, Copy)]
struct Exact;

impl Rounding for Exact {
    #[inline(always)]
    fn apply(value: f64) -> f64 {
        value
    }
}

/// Toward zero, as the original's int32 one-hot does; `+ 0.0` turns -0.0 into 0.0 like an int.
#[derive(Clone, Copy)]
struct TowardZero;

impl Rounding for TowardZero {
    #[inline(always)]
    fn apply(value: f64) -> f64 {
        value.trunc() + 0.0
    }
}

fn round(truncate: bool, value: f64) -> f64 {
    if truncate {
        TowardZero::apply(value)
    } else {
        Exact::apply(value)
    }
}

/// Channels of absent classes (zeros) and of classes covering the whole image.
fn fill_without_transform<O: MapFloat>(
    channel: &mut [O],
    presence: Presence,
    shape: &[usize],
    spacing: &[f64],
    options: &MapOptions,
) {
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
fn inside_voxel_offset(distance: f64) -> f64 {
    0.0 - (distance - 1.0)
}

/// Elements per rayon task in the element-wise fills.
const FILL_CHUNK: usize = 16 * 1024;

/// `out[i] = value(squared[i], codes[i])`, in parallel chunks whose plain loops vectorise.
fn fill_chunks<O: MapFloat, C: Copy + Sync>(
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
fn two_class_voxel_offset<T: ClassLabel, O: MapFloat, R: Rounding>(
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
    let mut squared = zeroed_vec::<f64>(class0.len());
    squared_distance_to_other_code(labels, None, shape, spacing, &mut squared);
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
}

/// The map of one class that is neither absent nor the whole image, from its membership.
fn class_map<O: MapFloat, R: Rounding>(
    in_class: &[bool],
    shape: &[usize],
    spacing: &[f64],
    options: &MapOptions,
    channel: &mut [O],
) {
    with_f64_buffer(channel, |values| match (options.kind, options.border) {
        (MapKind::Hausdorff, _) => {
            // Only the inside needs distances: runs outside the class are skipped.
            squared_distance_to_other_code(in_class, Some(false), shape, spacing, values);
            map_in_place(values, in_class, |d2, inside| {
                if inside {
                    R::apply(d2.sqrt())
                } else {
                    0.0
                }
            });
        }
        (MapKind::Signed, BorderOffset::Voxel) => {
            squared_distance_to_other_code(in_class, None, shape, spacing, values);
            map_in_place(values, in_class, |d2, inside| {
                let distance = d2.sqrt();
                R::apply(if inside {
                    inside_voxel_offset(distance)
                } else {
                    distance
                })
            });
        }
        (MapKind::Signed, BorderOffset::Corrected) => {
            let codes = border_codes(in_class, shape);
            squared_distance_to_other_code(&codes, Some(BORDER), shape, spacing, values);
            map_in_place(values, &codes, |d2, code| {
                R::apply(match code {
                    OUTSIDE => d2.sqrt(),
                    INTERIOR => 0.0 - d2.sqrt(),
                    _ => 0.0,
                })
            });
        }
    });
}

/// `values[i] = value(values[i], codes[i])` in parallel chunks.
fn map_in_place<C: Copy + Sync>(
    values: &mut [f64],
    codes: &[C],
    value: impl Fn(f64, C) -> f64 + Sync,
) {
    values
        .par_chunks_mut(FILL_CHUNK)
        .zip(codes.par_chunks(FILL_CHUNK))
        .for_each(|(values, codes)| {
            for (v, &code) in values.iter_mut().zip(codes) {
                *v = value(*v, code);
            }
        });
}

/// Runs `fill` on an f64 buffer: the channel itself when it is f64, else a scratch buffer whose
/// values are then rounded into the channel.
fn with_f64_buffer<O: MapFloat>(channel: &mut [O], fill: impl FnOnce(&mut [f64])) {
    if let Some(own) = O::as_f64_mut(channel) {
        fill(own);
        return;
    }
    let mut scratch = zeroed_vec::<f64>(channel.len());
    fill(&mut scratch);
    channel
        .par_chunks_mut(FILL_CHUNK)
        .zip(scratch.par_chunks(FILL_CHUNK))
        .for_each(|(out, values)| {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = O::from_f64(v);
            }
        });
}

/// Codes for the corrected offset: OUTSIDE, INTERIOR, or BORDER (a class element with a face
/// neighbour outside the class; the image edge is not outside).
fn border_codes(in_class: &[bool], shape: &[usize]) -> Vec<u8> {
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

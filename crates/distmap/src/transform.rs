//! The separable exact transform: squared distance from each element to the nearest element whose
//! *code* differs from its own.
//!
//! With codes = a binary mask this is the classic EDT for both the foreground (distance to the
//! nearest background) and the background (distance to the nearest foreground) in one sweep;
//! with codes = class labels it gives, for every class at once, the distance from its pixels to
//! the nearest pixel of another class. Axis 0 is swept first and every later axis adds its own
//! squared offset, so the sum has scipy's order: `((d0*s0)^2 + (d1*s1)^2) + (d2*s2)^2`.

use ndarray::{ArrayD, ArrayViewD};
use rayon::prelude::*;

use crate::{check_spacing, DistmapError};

/// What a code must be: compared for equality, shared across threads.
pub(crate) trait Code: Copy + PartialEq + Send + Sync {}
impl<C: Copy + PartialEq + Send + Sync> Code for C {}

/// Elements per rayon task, so that small images do not drown in scheduling.
const TASK_ELEMENTS: usize = 16 * 1024;

/// Writes into `out` the squared distance (in physical units) from every element to the nearest
/// element with a different code, `+inf` where there is none.
///
/// `codes` holds one code per element (row-major); elements whose code is `skip` get no value
/// (their runs are not transformed, which saves work when only some codes need distances).
pub(crate) fn squared_distance_to_other_code<C: Code>(
    codes: &[C],
    skip: Option<C>,
    shape: &[usize],
    spacing: &[f64],
    out: &mut [f64],
) {
    let total: usize = shape.iter().product();
    debug_assert_eq!(out.len(), total);
    debug_assert_eq!(codes.len(), total);
    if total == 0 {
        return;
    }
    first_axis_pass(codes, shape[0], total / shape[0], spacing[0], out);
    for axis in 1..shape.len() {
        let inner: usize = shape[axis + 1..].iter().product();
        envelope_pass(codes, skip, shape[axis], inner, spacing[axis], out);
    }
}

/// A raw pointer that rayon tasks may share because each writes a disjoint set of indices.
#[derive(Clone, Copy)]
struct DisjointWrites(*mut f64);
// SAFETY: used only in `first_axis_pass`, whose tasks touch disjoint column ranges.
unsafe impl Send for DisjointWrites {}
unsafe impl Sync for DisjointWrites {}

impl DisjointWrites {
    /// Taking `self` makes closures capture the whole (Send) wrapper, not the raw field.
    fn get(self) -> *mut f64 {
        self.0
    }
}

/// Axis 0: for every column of the (len x slab) row-major view, the run-length distance to the
/// nearest element of another code along the column. Rows are contiguous, so both sweeps walk
/// memory forward (or backward) over a chunk of columns.
fn first_axis_pass<C: Code>(codes: &[C], len: usize, slab: usize, spacing: f64, out: &mut [f64]) {
    let width = (TASK_ELEMENTS / len).clamp(64, slab.max(64));
    let ptr = DisjointWrites(out.as_mut_ptr());
    let chunks = slab.div_ceil(width);
    (0..chunks).into_par_iter().for_each_init(
        || (vec![0u32; width * len], vec![0u32; width]),
        |(above_counts, below_counts), chunk| {
            let first = chunk * width;
            let columns = (first + width).min(slab) - first;
            // Forward sweep: steps to the nearest element of another code above, in a
            // task-local buffer (u32 with NONE as "none", so the loops are branch-free).
            let counts = &mut above_counts[..columns * len];
            counts[..columns].fill(NONE);
            for r in 1..len {
                let base = r * slab + first;
                let (done, rest) = counts.split_at_mut(r * columns);
                let previous = &done[(r - 1) * columns..];
                let here = &mut rest[..columns];
                let codes_here = &codes[base..base + columns];
                let codes_above = &codes[base - slab..base - slab + columns];
                for (((count, &prev), code), above) in here
                    .iter_mut()
                    .zip(previous)
                    .zip(codes_here)
                    .zip(codes_above)
                {
                    *count = if code == above {
                        prev.saturating_add(1)
                    } else {
                        1
                    };
                }
            }
            // Backward sweep, then the squared physical distance of the nearer side.
            let below = &mut below_counts[..columns];
            below.fill(NONE);
            for r in (0..len).rev() {
                let base = r * slab + first;
                if r + 1 < len {
                    let codes_here = &codes[base..base + columns];
                    let codes_below = &codes[base + slab..base + slab + columns];
                    for ((count, code), under) in below.iter_mut().zip(codes_here).zip(codes_below)
                    {
                        *count = if code == under {
                            count.saturating_add(1)
                        } else {
                            1
                        };
                    }
                }
                // SAFETY: this task writes only indices r * slab + first + c for c < columns;
                // the column ranges of the tasks are disjoint and lie below out.len().
                let out_row =
                    unsafe { std::slice::from_raw_parts_mut(ptr.get().add(base), columns) };
                let above = &counts[r * columns..(r + 1) * columns];
                for ((value, &up), &down) in out_row.iter_mut().zip(above).zip(below.iter()) {
                    let steps = up.min(down);
                    let offset = steps as f64 * spacing;
                    *value = if steps == NONE {
                        f64::INFINITY
                    } else {
                        offset * offset
                    };
                }
            }
        },
    );
}

/// "No element of another code on this side" in the first-pass step counts.
const NONE: u32 = u32::MAX;

/// How close (in index units) a rounded crossing must be to an element for the neighbouring
/// parabola to be evaluated too; rounding errors of the crossings are many orders smaller.
const TIE_WINDOW: f64 = 1e-6;

/// One parabola of the lower envelope: centred at `position` (index units), lifted by `height`
/// (squared physical distance); `key = height / s^2 + position^2` makes crossings one division.
#[derive(Clone, Copy, Default)]
struct Parabola {
    position: f64,
    height: f64,
    key: f64,
    /// Left end (index units) of the interval where this parabola is the lowest.
    start: f64,
}

impl Parabola {
    /// Its value at `x`, rounded as scipy rounds `((f - i) * s) ** 2` and its running sum.
    #[inline(always)]
    fn value_at(&self, x: f64, spacing: f64) -> f64 {
        let offset_along = (x - self.position) * spacing;
        self.height + offset_along * offset_along
    }
}

/// Lower envelope of the parabolas of one run, reused across lines.
struct Envelope {
    parabolas: Vec<Parabola>,
    len: usize,
}

impl Envelope {
    fn new(capacity: usize) -> Self {
        Envelope {
            parabolas: vec![Parabola::default(); capacity + 2],
            len: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, position: usize, height: f64, inv_spacing_sq: f64) {
        let p = position as f64;
        let key = height * inv_spacing_sq + p * p;
        let mut start = f64::NEG_INFINITY;
        while self.len > 0 {
            let last = &self.parabolas[self.len - 1];
            start = (key - last.key) / (2.0 * (p - last.position));
            if start <= last.start {
                self.len -= 1;
                start = f64::NEG_INFINITY;
            } else {
                break;
            }
        }
        self.parabolas[self.len] = Parabola {
            position: p,
            height,
            key,
            start,
        };
        self.len += 1;
    }

    /// One line of `len` elements at `block[line + i * stride]`, whose codes are at
    /// `offset + line + i * stride`. Each run of equal codes is transformed on its own, with the
    /// elements just outside it as zero-height parabolas (they have another code).
    #[allow(clippy::too_many_arguments)]
    fn line<C: Code>(
        &mut self,
        codes: &[C],
        skip: Option<C>,
        block: &mut [f64],
        offset: usize,
        line: usize,
        stride: usize,
        len: usize,
        spacing: f64,
    ) {
        let inv_spacing_sq = 1.0 / (spacing * spacing);
        let at = |i: usize| line + i * stride;
        let mut next = 0;
        while next < len {
            let run_start = next;
            let code = codes[offset + at(run_start)];
            next += 1;
            if stride == 1 {
                next += run_length(&codes[offset + line + next..offset + line + len], code);
            } else {
                while next < len && codes[offset + at(next)] == code {
                    next += 1;
                }
            }
            if skip == Some(code) {
                continue;
            }
            self.len = 0;
            if run_start > 0 {
                self.push(run_start - 1, 0.0, inv_spacing_sq);
            }
            if stride == 1 {
                // In a background run most heights are often +inf (the earlier axes found no
                // other code in those columns): a block of 8 with none finite costs one test.
                let heights = &block[line + run_start..line + next];
                for (b, chunk) in heights.chunks(8).enumerate() {
                    if !chunk.iter().fold(false, |any, h| any | h.is_finite()) {
                        continue;
                    }
                    for (j, &height) in chunk.iter().enumerate() {
                        if height.is_finite() {
                            self.push(run_start + 8 * b + j, height, inv_spacing_sq);
                        }
                    }
                }
            } else {
                for i in run_start..next {
                    let height = block[at(i)];
                    if height.is_finite() {
                        self.push(i, height, inv_spacing_sq);
                    }
                }
            }
            if next < len {
                self.push(next, 0.0, inv_spacing_sq);
            }
            if self.len == 0 {
                continue; // no element of another code on this line: stays +inf
            }
            let envelope = &self.parabolas[..self.len];
            // Between two crossings one parabola is the lowest: fill its stretch in a plain loop.
            let mut x = run_start;
            for (j, parabola) in envelope.iter().enumerate() {
                let end = match envelope.get(j + 1) {
                    Some(following) => last_before_crossing(following.start, run_start, next),
                    None => next,
                };
                if end > x {
                    if stride == 1 {
                        // A contiguous stretch: a loop without index arithmetic vectorises.
                        let stretch = &mut block[line + x..line + end];
                        for (value, i) in stretch.iter_mut().zip(x..) {
                            *value = parabola.value_at(i as f64, spacing);
                        }
                    } else {
                        for i in x..end {
                            block[at(i)] = parabola.value_at(i as f64, spacing);
                        }
                    }
                    x = end;
                }
            }
            // Near a crossing, two parabolas are equal in exact arithmetic but their rounded
            // values may differ by an ulp, and the rounded crossing may pick the larger one:
            // there, take the smaller rounded value, as scipy's feature transform does.
            for crossing in envelope[1..].iter().map(|p| p.start) {
                let below = floor(crossing);
                for candidate in [below, below + 1.0] {
                    if (candidate - crossing).abs() < TIE_WINDOW
                        && candidate >= run_start as f64
                        && candidate < next as f64
                    {
                        let i = candidate as usize;
                        block[at(i)] = value_near_crossing(envelope, i as f64, spacing);
                    }
                }
            }
        }
    }
}

/// How many leading elements of `codes` equal `code`. Blocks of 16 are compared without an early
/// exit, so that the comparison vectorises; runs are long (most of a line is one code).
#[inline(always)]
fn run_length<C: Code>(codes: &[C], code: C) -> usize {
    const BLOCK: usize = 16;
    let mut length = 0;
    for block in codes.chunks_exact(BLOCK) {
        if block
            .iter()
            .fold(false, |differs, &c| differs | (c != code))
        {
            break;
        }
        length += BLOCK;
    }
    length
        + codes[length..]
            .iter()
            .position(|&c| c != code)
            .unwrap_or(codes.len() - length)
}

/// The end (exclusive) of the elements `x <= crossing` of the run `run_start..run_end`: where the
/// parabola that starts at `crossing` takes over.
#[inline(always)]
fn last_before_crossing(crossing: f64, run_start: usize, run_end: usize) -> usize {
    let below = floor(crossing);
    if below < run_start as f64 {
        run_start
    } else if below >= (run_end - 1) as f64 {
        run_end
    } else {
        below as usize + 1
    }
}

/// `x.floor()` for the comparisons with element indices above: without SSE4.1 in the baseline
/// target, `f64::floor` is a call into libm, a few percent of a transform. Beyond `i64`'s range
/// the result saturates, which is still below or above every index.
#[inline(always)]
fn floor(x: f64) -> f64 {
    let truncated = x as i64 as f64;
    if truncated > x {
        truncated - 1.0
    } else {
        truncated
    }
}

/// The value at `x` of the lowest parabola (the last one starting before `x`), or of a
/// neighbour whose crossing lies within [`TIE_WINDOW`] of `x` where that value is smaller.
fn value_near_crossing(envelope: &[Parabola], x: f64, spacing: f64) -> f64 {
    let lowest = envelope.partition_point(|p| p.start < x).max(1) - 1;
    let mut value = envelope[lowest].value_at(x, spacing);
    if lowest + 1 < envelope.len() && envelope[lowest + 1].start - x < TIE_WINDOW {
        value = value.min(envelope[lowest + 1].value_at(x, spacing));
    }
    if lowest > 0 && x - envelope[lowest].start < TIE_WINDOW {
        value = value.min(envelope[lowest - 1].value_at(x, spacing));
    }
    value
}

/// Axes 1..: the array is a sequence of contiguous blocks (len x inner); each line runs along
/// the block's first axis with stride `inner`.
fn envelope_pass<C: Code>(
    codes: &[C],
    skip: Option<C>,
    len: usize,
    inner: usize,
    spacing: f64,
    out: &mut [f64],
) {
    let block_len = len * inner;
    let min_blocks = (TASK_ELEMENTS / block_len).max(1);
    out.par_chunks_mut(block_len)
        .enumerate()
        .with_min_len(min_blocks)
        .for_each_init(
            || Envelope::new(len),
            |envelope, (block_index, block)| {
                let offset = block_index * block_len;
                for line in 0..inner {
                    envelope.line(codes, skip, block, offset, line, inner, len, spacing);
                }
            },
        );
}

/// Squared scipy-semantics EDT of a mask (row-major, `shape`) into `out`: squared distance from
/// each `true` element to the nearest `false` one, 0 for `false` elements, and scipy's
/// virtual-point artefact where the mask has no `false` element at all.
pub fn squared_edt_into(
    mask: &[bool],
    shape: &[usize],
    spacing: &[f64],
    out: &mut [f64],
) -> Result<(), DistmapError> {
    if shape.is_empty() {
        return Err(DistmapError::NoSpatialAxis);
    }
    check_spacing(shape, spacing)?;
    let total: usize = shape.iter().product();
    if out.len() != total || mask.len() != total {
        return Err(DistmapError::OutputSize {
            expected: total,
            got: out.len().min(mask.len()),
        });
    }
    if mask.iter().all(|&m| m) {
        out.par_iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = squared_distance_to_virtual_origin(i, shape, spacing));
        return Ok(());
    }
    // Only nonzero elements need a distance: skip the runs of zeros.
    squared_distance_to_other_code(mask, Some(false), shape, spacing, out);
    out.par_iter_mut().zip(mask.par_iter()).for_each(|(v, &m)| {
        if !m {
            *v = 0.0;
        }
    });
    Ok(())
}

/// scipy's `distance_transform_edt(mask, sampling=spacing)`: the Euclidean distance from each
/// nonzero element to the nearest zero element, in units of `spacing` (one value per axis).
pub fn edt(mask: ArrayViewD<'_, bool>, spacing: &[f64]) -> Result<ArrayD<f64>, DistmapError> {
    let mask = mask.as_standard_layout();
    let slice = mask.as_slice().expect("standard layout is contiguous");
    let mut out = ArrayD::zeros(mask.raw_dim());
    let out_slice = out.as_slice_mut().expect("fresh array is contiguous");
    squared_edt_into(slice, mask.shape(), spacing, out_slice)?;
    out_slice.par_iter_mut().for_each(|v| *v = v.sqrt());
    Ok(out)
}

/// scipy's answer for an input with no zero element: its feature transform points every
/// element at the virtual index (-1, 0, ..., 0), and the squared distance is summed in axis
/// order from the same products as scipy's.
pub(crate) fn squared_distance_to_virtual_origin(
    index: usize,
    shape: &[usize],
    spacing: &[f64],
) -> f64 {
    let mut rest = index;
    let mut stride: usize = shape.iter().product();
    let mut sum = 0.0;
    for (axis, (&len, &s)) in shape.iter().zip(spacing).enumerate() {
        stride /= len;
        let coordinate = rest / stride;
        rest %= stride;
        let steps = if axis == 0 {
            coordinate + 1
        } else {
            coordinate
        };
        let offset = steps as f64 * s;
        sum += offset * offset;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::run_length;
    use proptest::prelude::*;

    proptest! {
        /// Against a plain count, on lines long enough for several blocks, with the first
        /// differing element anywhere (or nowhere).
        #[test]
        fn run_length_counts_the_leading_equal_codes(
            codes in prop::collection::vec(prop_oneof![8 => Just(0u8), 1 => 1u8..3], 0..80),
            code in 0u8..2,
        ) {
            let plain = codes.iter().take_while(|&&c| c == code).count();
            prop_assert_eq!(run_length(&codes, code), plain);
        }
    }

    #[test]
    fn run_length_finds_a_difference_in_every_position_of_a_block() {
        for len in [15, 16, 17, 31, 32, 33, 64, 100] {
            for at in 0..=len {
                let mut codes = vec![7u8; len];
                if at < len {
                    codes[at] = 3;
                }
                assert_eq!(
                    run_length(&codes, 7),
                    at,
                    "length {len}, difference at {at}"
                );
            }
        }
    }
}

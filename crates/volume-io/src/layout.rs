//! NIfTI stores voxels x fastest (Fortran order); every array this crate returns is row-major.
//! Converting element by element across a whole volume touches a new cache line per voxel (1.5 s
//! for a 512x512x61 label volume); converting in tiles that fit the cache costs a memory pass,
//! shared between the cores by bands of rows.

use ndarray::{ArrayD, IxDyn};

/// Tile side of the 3-D and 2-D transpositions (32 x 32 elements per tile).
const TILE: usize = 32;

/// `array` in row-major (C) order, whatever its layout.
pub(crate) fn standard_layout<T: Copy + Default + Send + Sync>(array: ArrayD<T>) -> ArrayD<T> {
    if array.is_standard_layout() {
        return array;
    }
    if !array.t().is_standard_layout() {
        return array.as_standard_layout().into_owned();
    }
    let source = array
        .as_slice_memory_order()
        .expect("a Fortran-order array is contiguous");
    row_major_from_fortran(array.shape(), source, |&v| v)
}

/// Voxels of `volume` (Fortran order, the file's byte order) of an element type read from `N`
/// bytes by `from_le` / `from_be` and converted by `convert`, as a row-major array; `None` if the
/// bytes do not hold exactly one element per voxel (the general reader then decides).
pub(crate) fn nifti_voxels<const N: usize, S, T: Copy + Default + Send>(
    volume: &nifti::InMemNiftiVolume,
    endianness: nifti::Endianness,
    from_le: impl Fn([u8; N]) -> S + Sync,
    from_be: impl Fn([u8; N]) -> S + Sync,
    convert: impl Fn(S) -> T + Sync,
) -> Option<ArrayD<T>> {
    use nifti::NiftiVolume;
    let shape: Vec<usize> = volume.dim().iter().map(|&d| d as usize).collect();
    let (elements, rest) = volume.raw_data().as_chunks::<N>();
    if !rest.is_empty() || elements.len() != shape.iter().product::<usize>() {
        return None;
    }
    // One monomorphised pass per byte order: the element read inlines into the tile loop.
    Some(match endianness {
        nifti::Endianness::Little => {
            row_major_from_fortran(&shape, elements, |&e| convert(from_le(e)))
        }
        nifti::Endianness::Big => {
            row_major_from_fortran(&shape, elements, |&e| convert(from_be(e)))
        }
    })
}

/// The row-major array of `shape` whose elements, in Fortran order, are `source` converted by
/// `convert` (a NIfTI file's voxels): transposition and conversion in one pass over tiles.
pub(crate) fn row_major_from_fortran<S: Sync, T: Copy + Default + Send>(
    shape: &[usize],
    source: &[S],
    convert: impl Fn(&S) -> T + Sync,
) -> ArrayD<T> {
    assert_eq!(
        source.len(),
        shape.iter().product::<usize>(),
        "one element per index"
    );
    let kept: Vec<usize> = shape.iter().copied().filter(|&n| n != 1).collect();
    let mut out = page_buffers::zeroed_vec::<T>(source.len());
    match kept.as_slice() {
        [x, y, z] => transpose_tiles(source, &mut out, [*x, *y, *z], convert),
        [rows, columns] => transpose_tiles(source, &mut out, [*rows, *columns, 1], convert),
        [] | [_] => {
            // The same order.
            for (o, s) in out.iter_mut().zip(source) {
                *o = convert(s);
            }
        }
        _ => {
            let converted: Vec<T> = source.iter().map(convert).collect();
            use ndarray::ShapeBuilder;
            let fortran =
                ArrayD::from_shape_vec(IxDyn(shape).f(), converted).expect("one element each");
            return fortran.as_standard_layout().into_owned();
        }
    }
    ArrayD::from_shape_vec(IxDyn(shape), out).expect("one element each")
}

/// `source` indexed x + X (y + Y z) (Fortran order of (X, Y, Z)), converted, into `out` indexed
/// (x Y + y) Z + z (C order). For each y, a TILE x TILE block of (z, x) is read one contiguous
/// stretch of x per z and converted into a local tile; each x of the tile is then one contiguous
/// stretch of `out` (its z values). Both the file's lines and the output's are used whole while
/// they are in cache.
fn transpose_tiles<S: Sync, T: Copy + Default + Send>(
    source: &[S],
    out: &mut [T],
    [nx, ny, nz]: [usize; 3],
    convert: impl Fn(&S) -> T + Sync,
) {
    use rayon::prelude::*;
    // Each band of TILE x-rows is a contiguous stretch of the output: bands go to the cores.
    let band = TILE * ny * nz;
    if band == 0 {
        return;
    }
    out.par_chunks_mut(band).enumerate().for_each(|(b, rows)| {
        let x0 = b * TILE;
        let width = TILE.min(nx - x0);
        let mut tile = [[T::default(); TILE]; TILE]; // [z - z0][x - x0]
        for y in 0..ny {
            for z0 in (0..nz).step_by(TILE) {
                let depth = TILE.min(nz - z0);
                for (dz, line) in tile[..depth].iter_mut().enumerate() {
                    let start = x0 + nx * (y + ny * (z0 + dz));
                    for (t, element) in line.iter_mut().zip(&source[start..start + width]) {
                        *t = convert(element);
                    }
                }
                for dx in 0..width {
                    let row = (dx * ny + y) * nz + z0;
                    for (o, line) in rows[row..row + depth].iter_mut().zip(&tile) {
                        *o = line[dx];
                    }
                }
            }
        }
    });
}

/// An array of `shape` over `values` stored in Fortran order.
#[cfg(test)]
use ndarray::ShapeBuilder;

#[cfg(test)]
fn fortran(shape: &[usize], values: Vec<u32>) -> ArrayD<u32> {
    ArrayD::from_shape_vec(IxDyn(shape).f(), values).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_ndarrays_own_conversion(
            shape in proptest::collection::vec(1usize..70, 1..5),
        ) {
            let n: usize = shape.iter().product();
            let array = fortran(&shape, (0..n as u32).collect());
            let expected = array.as_standard_layout().into_owned();
            let got = standard_layout(array);
            prop_assert!(got.is_standard_layout());
            prop_assert_eq!(got, expected);
        }
    }

    proptest! {
        #[test]
        fn converting_from_fortran_bytes_equals_converting_the_array(
            shape in proptest::collection::vec(1usize..40, 1..5),
        ) {
            let n: usize = shape.iter().product();
            let values: Vec<u32> = (0..n as u32).map(|v| v.wrapping_mul(2_654_435_761)).collect();
            let expected = fortran(&shape, values.clone())
                .as_standard_layout()
                .mapv(|v| u64::from(v) + 1);
            let got = row_major_from_fortran(&shape, &values, |&v| u64::from(v) + 1);
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn row_major_and_other_layouts_pass_through_unchanged() {
        let c = ArrayD::from_shape_vec(IxDyn(&[2, 3]), (0..6u32).collect()).unwrap();
        assert_eq!(standard_layout(c.clone()), c);
        let permuted = c.clone().permuted_axes(IxDyn(&[1, 0]));
        assert_eq!(
            standard_layout(permuted.clone()),
            permuted.as_standard_layout().into_owned()
        );
    }
}

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
    let shape = array.shape().to_vec();
    // The same array without its size-1 axes: NIfTI's (x, y, z, 1) is a 3-D transposition.
    let kept: Vec<usize> = shape.iter().copied().filter(|&n| n != 1).collect();
    let fortran = array.t().is_standard_layout();
    if !fortran || kept.len() > 3 {
        return array.as_standard_layout().into_owned();
    }
    let source = array
        .as_slice_memory_order()
        .expect("a Fortran-order array is contiguous");
    let mut out = vec![T::default(); source.len()];
    match kept.as_slice() {
        [x, y, z] => transpose_3d(source, &mut out, [*x, *y, *z]),
        [rows, columns] => transpose_3d(source, &mut out, [*rows, *columns, 1]),
        _ => out.copy_from_slice(source), // 0 or 1 axis of any length: same order
    }
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("one element each")
}

/// `source` indexed x + X (y + Y z) (Fortran order of (X, Y, Z)) into `out` indexed
/// (x Y + y) Z + z (C order), in tiles of x and z for each y.
fn transpose_3d<T: Copy + Send + Sync>(source: &[T], out: &mut [T], dims: [usize; 3]) {
    transpose_with(out, dims, |i| source[i]);
}

/// [`transpose_3d`] with element `i` of the Fortran-order source given by `get` (which may
/// convert it on the way: one memory pass for both).
fn transpose_with<T: Copy + Send>(
    out: &mut [T],
    [nx, ny, nz]: [usize; 3],
    get: impl Fn(usize) -> T + Sync,
) {
    use rayon::prelude::*;
    // Each band of TILE x-rows is a contiguous stretch of the output: bands go to the cores.
    let band = TILE * ny * nz;
    if band == 0 {
        return;
    }
    out.par_chunks_mut(band).enumerate().for_each(|(b, rows)| {
        let x0 = b * TILE;
        for y in 0..ny {
            for z0 in (0..nz).step_by(TILE) {
                for x in x0..(x0 + TILE).min(nx) {
                    let row = ((x - x0) * ny + y) * nz;
                    for z in z0..(z0 + TILE).min(nz) {
                        rows[row + z] = get(x + nx * (y + ny * z));
                    }
                }
            }
        }
    });
}

/// Voxels of `volume` (Fortran order, the file's byte order) of an element type read from `N`
/// bytes by `from_le` / `from_be` and converted by `convert`, as a row-major array; `None` if the
/// bytes do not hold exactly one element per voxel (the general reader then decides).
pub(crate) fn nifti_voxels<const N: usize, S, T: Copy + Default + Send>(
    volume: &nifti::InMemNiftiVolume,
    endianness: nifti::Endianness,
    from_le: fn([u8; N]) -> S,
    from_be: fn([u8; N]) -> S,
    convert: impl Fn(S) -> T + Sync,
) -> Option<ArrayD<T>> {
    use nifti::NiftiVolume;
    let shape: Vec<usize> = volume.dim().iter().map(|&d| d as usize).collect();
    let raw = volume.raw_data();
    if raw.len() != shape.iter().product::<usize>() * N {
        return None;
    }
    let read = match endianness {
        nifti::Endianness::Little => from_le,
        nifti::Endianness::Big => from_be,
    };
    Some(row_major_from_fortran(&shape, raw.len() / N, |i| {
        let bytes: [u8; N] = raw[i * N..(i + 1) * N]
            .try_into()
            .expect("N bytes per element");
        convert(read(bytes))
    }))
}

/// The row-major array of `shape` whose element `i` in Fortran order is `get(i)` (a NIfTI
/// file's voxels, converted): transposition and conversion in one pass over tiles.
pub(crate) fn row_major_from_fortran<T: Copy + Default + Send>(
    shape: &[usize],
    len: usize,
    get: impl Fn(usize) -> T + Sync,
) -> ArrayD<T> {
    let kept: Vec<usize> = shape.iter().copied().filter(|&n| n != 1).collect();
    let mut out = vec![T::default(); len];
    match kept.as_slice() {
        [x, y, z] => transpose_with(&mut out, [*x, *y, *z], get),
        [rows, columns] => transpose_with(&mut out, [*rows, *columns, 1], get),
        [] | [_] => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = get(i);
            }
        }
        _ => {
            let converted: Vec<T> = (0..len).map(get).collect();
            use ndarray::ShapeBuilder;
            let fortran =
                ArrayD::from_shape_vec(IxDyn(shape).f(), converted).expect("one element each");
            return fortran.as_standard_layout().into_owned();
        }
    }
    ArrayD::from_shape_vec(IxDyn(shape), out).expect("one element each")
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
            let got = row_major_from_fortran(&shape, n, |i| u64::from(values[i]) + 1);
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

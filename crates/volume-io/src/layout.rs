//! NIfTI stores voxels x fastest (Fortran order); every array this crate returns is row-major.
//! Converting element by element across a whole volume touches a new cache line per voxel (1.5 s
//! for a 512x512x61 label volume); converting in tiles that fit the cache costs a memory pass.

use ndarray::{ArrayD, IxDyn};

/// Tile side of the 3-D and 2-D transpositions (32 x 32 elements per tile).
const TILE: usize = 32;

/// `array` in row-major (C) order, whatever its layout.
pub(crate) fn standard_layout<T: Copy + Default>(array: ArrayD<T>) -> ArrayD<T> {
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
fn transpose_3d<T: Copy>(source: &[T], out: &mut [T], [nx, ny, nz]: [usize; 3]) {
    for y in 0..ny {
        for x0 in (0..nx).step_by(TILE) {
            for z0 in (0..nz).step_by(TILE) {
                for x in x0..(x0 + TILE).min(nx) {
                    let row = (x * ny + y) * nz;
                    for z in z0..(z0 + TILE).min(nz) {
                        out[row + z] = source[x + nx * (y + ny * z)];
                    }
                }
            }
        }
    }
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

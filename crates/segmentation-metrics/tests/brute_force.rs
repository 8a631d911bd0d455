//! Property test: surface distances (bounding-box cropped transforms) against a brute-force
//! search over every pair of surface elements, on random small 1-D, 2-D and 3-D inputs with
//! random spacing.

use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use segmentation_metrics::surface::SurfaceDistances;

#[path = "../../distmap/tests/common/brute.rs"]
mod brute;
use brute::{brute_nearest, close, coordinates, elements_where, labelled_volume};

/// medpy's surface by brute force: a mask element with a face neighbour outside the mask or
/// outside the image.
fn brute_surface(mask: &[bool], shape: &[usize]) -> Vec<bool> {
    (0..mask.len())
        .map(|i| {
            let c = coordinates(i, shape);
            mask[i]
                && (0..shape.len()).any(|axis| {
                    [-1isize, 1].iter().any(|&step| {
                        let n = c[axis] as isize + step;
                        if n < 0 || n >= shape[axis] as isize {
                            return true;
                        }
                        let mut neighbour = c.clone();
                        neighbour[axis] = n as usize;
                        let index = neighbour
                            .iter()
                            .zip(shape)
                            .fold(0usize, |f, (&x, &len)| f * len + x);
                        !mask[index]
                    })
                })
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Directed surface distances (bounding-box cropped transforms) against every pair of
    /// surface elements.
    #[test]
    fn surface_distances_equal_brute_force((shape, spacing, classes, labels) in labelled_volume()) {
        let class = (classes - 1) as u8;
        let first: Vec<bool> = labels.iter().map(|&l| l == class).collect();
        let second: Vec<bool> = labels.iter().map(|&l| l == 0).collect();
        let as_array = |m: &Vec<bool>| ArrayD::from_shape_vec(IxDyn(&shape), m.clone()).unwrap();
        let got = SurfaceDistances::new(as_array(&first).view(), as_array(&second).view(), &spacing)
            .unwrap();
        let (a, b) = (brute_surface(&first, &shape), brute_surface(&second, &shape));
        let (a_points, b_points) = (elements_where(&shape, |i| a[i]), elements_where(&shape, |i| b[i]));
        if a_points.is_empty() || b_points.is_empty() {
            prop_assert!(got.is_none());
            return Ok(());
        }
        let got = got.unwrap();
        let directed = |from: &[bool], to: &[Vec<isize>]| -> Vec<f64> {
            (0..from.len())
                .filter(|&i| from[i])
                .map(|i| brute_nearest(&shape, &spacing, to, i).unwrap())
                .collect()
        };
        let (want_ab, want_ba) = (directed(&a, &b_points), directed(&b, &a_points));
        prop_assert_eq!(got.first_to_second.len(), want_ab.len());
        prop_assert_eq!(got.second_to_first.len(), want_ba.len());
        for (g, w) in got.first_to_second.iter().zip(&want_ab).chain(got.second_to_first.iter().zip(&want_ba)) {
            prop_assert!(close(*g, *w), "{} vs {}", g, w);
        }
    }
}

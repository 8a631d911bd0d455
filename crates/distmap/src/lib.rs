//! Exact Euclidean distance transforms and the signed distance maps of the boundary loss.
//!
//! This crate owns the distance computations of the project and nothing else: no deep-learning
//! framework, no file formats. [`edt`] is scipy's `distance_transform_edt` (every nonzero element
//! gets its distance, in physical units, to the nearest zero element; the image border is not
//! background); [`distance_maps`] builds the per-class maps of the original `one_hot2dist` and
//! `one_hot2hd_dist` from a label map or a one-hot array, any spatial rank, one spacing per axis.
//!
//! Exactness: distances are accumulated exactly as scipy does (squared offsets times spacing,
//! summed in axis order, then one square root), so results are bit-identical to scipy for unit
//! spacing and for every anisotropic reference case; on large anisotropic volumes a few points
//! equidistant (in exact arithmetic) from two background points may differ by one ulp, where
//! scipy's feature transform keeps the larger of the two rounded sums. Speed: a separable lower-envelope transform (Felzenszwalb & Huttenlocher) that measures
//! the distance to the nearest element *of another code*, so one sweep gives both the inside and
//! the outside distances of a class, run in parallel over lines with rayon.
//!
//! ```
//! use distmap::{distance_maps, MapOptions};
//! use ndarray::{array, IxDyn};
//!
//! // A 1 x 5 label map: class 1 on the two middle-right elements, 0.5 mm per element.
//! let labels = array![[0u8, 0, 1, 1, 0]].into_dyn();
//! let maps = distance_maps::<u8, f64>(labels.view(), 2, &[1.0, 0.5], &MapOptions::default())
//!     .unwrap();
//! // The original `one_hot2dist`: outside a class its distance, inside -(distance - 1 voxel).
//! assert_eq!(maps[IxDyn(&[1, 0, 0])], 1.0); // two elements (1 mm) from class 1
//! assert_eq!(maps[IxDyn(&[1, 0, 2])], 0.5); // on the border: -(0.5 - 1)
//! ```

/// A choice among named options (a map kind, an HD95 definition...): one set of names for the
/// command line, the run files and the Python package.
pub trait NamedChoice:
    Sized + Copy + std::fmt::Display + std::str::FromStr<Err = String> + 'static
{
    /// Every accepted name, in declaration order.
    const NAMES: &'static [&'static str];
    /// This option's name.
    fn name(self) -> &'static str;
}

/// Implements [`NamedChoice`], `Display` and `FromStr` (whose error lists the accepted names);
/// exported so that the options of other crates (e.g. the losses') take names the same way.
#[macro_export]
macro_rules! named_choice {
    ($type:ty, $(($variant:path, $name:literal)),+) => {
        impl $crate::NamedChoice for $type {
            const NAMES: &'static [&'static str] = &[$($name),+];
            fn name(self) -> &'static str {
                match self { $($variant => $name),+ }
            }
        }
        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::NamedChoice::name(*self))
            }
        }
        impl ::std::str::FromStr for $type {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($name => Ok($variant),)+
                    _ => Err(format!(
                        "'{s}' is not one of {}",
                        <Self as $crate::NamedChoice>::NAMES.join(", ")
                    )),
                }
            }
        }
    };
}

mod error;
mod fill;
mod maps;
mod options;
mod transform;

pub use error::DistmapError;
pub use maps::{
    distance_maps, distance_maps_from_one_hot, distance_maps_from_one_hot_into, distance_maps_into,
};
pub use options::{
    AbsentClass, BorderOffset, ClassLabel, MapFloat, MapKind, MapOptions, WholeImageClass,
};
pub use page_buffers::zeroed_vec as map_buffer;
pub use transform::{edt, squared_edt_into};

/// Checks that `spacing` has one finite, positive value per axis of `shape`.
pub fn check_spacing(shape: &[usize], spacing: &[f64]) -> Result<(), DistmapError> {
    if spacing.len() != shape.len() {
        return Err(DistmapError::SpacingRank {
            expected: shape.len(),
            got: spacing.len(),
        });
    }
    if let Some(&bad) = spacing.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(DistmapError::BadSpacing(bad));
    }
    Ok(())
}

/// The diagonal of a grid in physical units: `sqrt(sum (n_i s_i)^2)`.
pub fn diagonal(shape: &[usize], spacing: &[f64]) -> f64 {
    shape
        .iter()
        .zip(spacing)
        .map(|(&n, &s)| (n as f64 * s).powi(2))
        .sum::<f64>()
        .sqrt()
}

//! The options of the distance maps and the element types they take and give: which map
//! ([`MapKind`]), the inside offset ([`BorderOffset`]), a class covering the whole image
//! ([`WholeImageClass`]), truncation ([`MapOptions`]); integer labels ([`ClassLabel`]) and f32/f64
//! outputs ([`MapFloat`]).

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

/// What a class absent from the image gets in a signed map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AbsentClass {
    /// All zeros, as the original ("another class will supervise that pixel"): the boundary
    /// loss then ignores whatever the network predicts for that class on that image.
    #[default]
    Zeros,
    /// The image's diagonal in mm, `sqrt(sum (n_i s_i)^2)`, everywhere: every pixel predicted
    /// for a class the image does not hold costs as much as the farthest pixel of any image of
    /// that shape can be from an object of that class. It bounds the map of a present class
    /// from above, so a false positive never costs less on an empty image than on an image
    /// holding the class, and it is the value the surface metrics give a prediction whose truth
    /// is empty. Hausdorff maps keep zeros (they only have values inside the class).
    Diagonal,
}

/// Options of [`distance_maps`]; the default reproduces the original's `one_hot2dist` in f64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapOptions {
    pub kind: MapKind,
    pub border: BorderOffset,
    pub whole_image: WholeImageClass,
    pub absent: AbsentClass,
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
    AbsentClass,
    (AbsentClass::Zeros, "zeros"),
    (AbsentClass::Diagonal, "diagonal")
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

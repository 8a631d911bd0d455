//! What a data set's streams are: the folder, how its files become arrays ([`StreamKind`]) and
//! how distance maps are scaled ([`MapNormalization`]); the run file's `[[streams]]`.

use distmap::AbsentClass;
use serde::{Deserialize, Serialize};

/// How a stream's files become a `(channels, H, W)` float array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// Network input: float32 `.npy` `(modalities, H, W)` or `(H, W)`, values in [0, 1].
    ImageNpy,
    /// Network input: 8-bit gray PNG divided by 255.
    ImagePng,
    /// Network input: 8-bit gray PNG, histogram-equalized as Pillow's `ImageOps.equalize`,
    /// divided by 255 (the original's `equalized_png`).
    ImagePngEqualized,
    /// Class map (`.npy` integers or gray PNG levels) to a one-hot `(K, H, W)`.
    OneHot,
    /// A class map's shape only: the one-hot `(K, H, W)` of class 0 everywhere (the original's
    /// `dummy_gt_transform`).
    DummyOneHot,
    /// Class map to its signed distance maps `(K, H, W)`, computed on the fly with the slice's
    /// spacing (the original 2-D data loader).
    DistanceMap,
    /// A precomputed float `.npy` `(K, H, W)`, read as is (e.g. `3d_distmap`).
    Precomputed,
}

/// How distance maps (computed or precomputed) are scaled before the loss sees them. The
/// boundary loss is linear in the map, so a scale divides the loss and its gradient by the same
/// factor (the original's FAQ: "several persons reported that normalization helped").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MapNormalization {
    /// Distances in mm (or voxels without spacing), as the original.
    #[default]
    None,
    /// Per image and class, divided by the largest absolute value of that map (maps in [-1, 1];
    /// an all-zero map stays zero).
    MaxAbs,
    /// Divided by a fixed distance in mm (e.g. `normalize = { scale = 10.0 }`).
    Scale(f64),
}

impl MapNormalization {
    /// Why the setting cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        match self {
            MapNormalization::Scale(s) if !(s.is_finite() && *s > 0.0) => {
                Err(format!("scale {s} must be a positive number of mm"))
            }
            _ => Ok(()),
        }
    }

    fn is_none(&self) -> bool {
        *self == MapNormalization::None
    }

    /// Scales `(classes, pixels)` maps in place.
    pub fn apply(&self, maps: &mut [f32], classes: usize) {
        match *self {
            MapNormalization::None => {}
            MapNormalization::Scale(scale) => {
                let inverse = (1.0 / scale) as f32;
                maps.iter_mut().for_each(|v| *v *= inverse);
            }
            MapNormalization::MaxAbs => {
                let pixels = maps.len() / classes.max(1);
                for map in maps.chunks_mut(pixels.max(1)) {
                    let largest = map.iter().fold(0f32, |m, v| m.max(v.abs()));
                    if largest > 0.0 {
                        map.iter_mut().for_each(|v| *v /= largest);
                    }
                }
            }
        }
    }
}

/// One input stream: a folder of the split and what to do with its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    pub folder: String,
    pub kind: StreamKind,
    /// Distance-map streams only (`distance_map`, `precomputed`).
    #[serde(default, skip_serializing_if = "MapNormalization::is_none")]
    pub normalize: MapNormalization,
    /// `distance_map` streams only: the map of a class absent from the slice, `zeros` (the
    /// original: predictions of that class go unpenalised) or `diagonal` (the slice's diagonal
    /// in mm everywhere: every pixel predicted for it costs the most any pixel can; see
    /// [`distmap::AbsentClass`]).
    #[serde(default, skip_serializing_if = "is_zeros", with = "absent_class_name")]
    pub absent_class: AbsentClass,
}

fn is_zeros(absent: &AbsentClass) -> bool {
    *absent == AbsentClass::Zeros
}

/// `AbsentClass` by its name in run files (`zeros`, `diagonal`).
mod absent_class_name {
    use distmap::{AbsentClass, NamedChoice};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &AbsentClass, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AbsentClass, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Pillow's `ImageOps.equalize` of 8-bit gray levels, in place: a lookup table from the
/// cumulative histogram, in steps of (pixels - pixels of the highest level) / 255; an image with
/// one level, or too few pixels for a step, is kept as it is. Values past 255 are clipped, as
/// Pillow clips its table.
pub fn equalize_levels(levels: &mut [u8]) {
    let mut histogram = [0u64; 256];
    for &l in levels.iter() {
        histogram[l as usize] += 1;
    }
    let Some(highest) = histogram.iter().rev().find(|&&h| h > 0) else {
        return;
    };
    if histogram.iter().filter(|&&h| h > 0).count() <= 1 {
        return;
    }
    let step = (levels.len() as u64 - highest) / 255;
    if step == 0 {
        return;
    }
    let mut table = [0u8; 256];
    let mut n = step / 2;
    for (entry, &count) in table.iter_mut().zip(&histogram) {
        *entry = (n / step).min(255) as u8;
        n += count;
    }
    for l in levels.iter_mut() {
        *l = table[*l as usize];
    }
}

impl Stream {
    pub fn new(folder: &str, kind: StreamKind) -> Self {
        Stream {
            folder: folder.to_string(),
            kind,
            normalize: MapNormalization::None,
            absent_class: AbsentClass::Zeros,
        }
    }
}

//! Integer label maps (class index per element) from `.npy`, 8/16-bit gray `.png` and NIfTI.

use std::path::Path;

use ndarray::ShapeBuilder;
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement};
use nifti::{IntoNdArray, NiftiType, NiftiVolume};

use crate::FileError;

/// File name endings [`read_label_map`] understands.
pub const LABEL_EXTENSIONS: [&str; 4] = [".npy", ".png", ".nii", ".nii.gz"];

/// A label map in row-major order, and the spacing its file declares (NIfTI only).
#[derive(Debug, Clone)]
pub struct LabelMap {
    pub labels: ArrayD<u32>,
    pub spacing: Option<Vec<f64>>,
}

/// Reads an integer label map; the array's axes are the file's spatial axes in their order
/// (NIfTI: x, y, z as nibabel gives them).
pub fn read_label_map(path: &Path) -> Result<LabelMap, FileError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".npy") {
        read_npy_labels(path)
    } else if name.ends_with(".png") {
        read_png_labels(path)
    } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        read_nifti_labels(path)
    } else {
        Err(FileError::new(
            path,
            format!(
                "unsupported file type: a label map must be one of {}",
                LABEL_EXTENSIONS.join(", ")
            ),
        ))
    }
}

fn to_labels<T: Copy + TryInto<u32> + std::fmt::Display>(
    path: &Path,
    array: ArrayD<T>,
) -> Result<ArrayD<u32>, FileError> {
    // In memory order, keeping the layout (NIfTI's is Fortran): the caller makes it row-major
    // in tiles.
    let array = if array.is_standard_layout() || array.t().is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    };
    let values = array
        .as_slice_memory_order()
        .expect("contiguous in one order or the other")
        .iter()
        .map(|&v| {
            v.try_into().map_err(|_| {
                FileError::new(
                    path,
                    format!("label {v} is not a class index (0 to 2^32-1)"),
                )
            })
        })
        .collect::<Result<Vec<u32>, FileError>>()?;
    let fortran = !array.is_standard_layout();
    Ok(
        ArrayD::from_shape_vec(array.raw_dim().set_f(fortran), values)
            .expect("one label per element"),
    )
}

fn read_npy_labels(path: &Path) -> Result<LabelMap, FileError> {
    let bytes = std::fs::read(path).map_err(|e| FileError::new(path, e))?;
    crate::guard::check_npy(&bytes, bytes.len() as u64)
        .map_err(|e| FileError::new(path, format!("not a readable .npy file: {e}")))?;

    /// Tries one element type; `Ok(None)` when the file holds another type.
    fn attempt<T: ReadableElement + Copy + TryInto<u32> + std::fmt::Display>(
        path: &Path,
        bytes: &[u8],
    ) -> Result<Option<ArrayD<u32>>, FileError> {
        match ArrayD::<T>::read_npy(bytes) {
            Ok(array) => to_labels(path, array.as_standard_layout().into_owned()).map(Some),
            Err(ReadNpyError::WrongDescriptor(_)) => Ok(None),
            Err(e) => Err(FileError::new(
                path,
                format!("not a readable .npy file: {e}"),
            )),
        }
    }

    macro_rules! try_types {
        ($($t:ty),*) => {$(
            if let Some(labels) = attempt::<$t>(path, &bytes)? {
                return Ok(LabelMap { labels, spacing: None });
            }
        )*};
    }
    // The common case, uint8 class maps, converts without per-element checks.
    if let Ok(array) = ArrayD::<u8>::read_npy(&bytes[..]) {
        return Ok(LabelMap {
            labels: array.as_standard_layout().mapv(u32::from),
            spacing: None,
        });
    }
    try_types!(u16, u32, u64, i8, i16, i32, i64);
    if let Ok(array) = ArrayD::<bool>::read_npy(&bytes[..]) {
        return Ok(LabelMap {
            labels: array.mapv(u32::from),
            spacing: None,
        });
    }
    let float =
        ArrayD::<f32>::read_npy(&bytes[..]).is_ok() || ArrayD::<f64>::read_npy(&bytes[..]).is_ok();
    Err(FileError::new(
        path,
        if float {
            "holds floating-point values: a label map must have an integer dtype".to_string()
        } else {
            "unsupported .npy dtype: a label map must have an integer dtype".to_string()
        },
    ))
}

fn read_png_labels(path: &Path) -> Result<LabelMap, FileError> {
    let image =
        image::open(path).map_err(|e| FileError::new(path, format!("not a readable PNG: {e}")))?;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let values: Vec<u32> = match image {
        image::DynamicImage::ImageLuma8(gray) => gray.into_raw().into_iter().map(u32::from).collect(),
        image::DynamicImage::ImageLuma16(gray) => gray.into_raw().into_iter().map(u32::from).collect(),
        other => {
            return Err(FileError::new(
                path,
                format!(
                    "is a {:?} PNG: a label map must be 8- or 16-bit gray levels (one class index per pixel)",
                    other.color()
                ),
            ))
        }
    };
    let labels = ArrayD::from_shape_vec(IxDyn(&[height, width]), values)
        .map_err(|e| FileError::new(path, e))?;
    Ok(LabelMap {
        labels,
        spacing: None,
    })
}

fn read_nifti_labels(path: &Path) -> Result<LabelMap, FileError> {
    let (header, volume) = crate::arrays::open_nifti(path)?;
    let rank = header
        .dimensionality()
        .map_err(|e| FileError::new(path, format!("bad NIfTI header: {e}")))?;
    let spacing: Vec<f64> = header.pixdim[1..=rank].iter().map(|&s| s as f64).collect();
    let unscaled = header.scl_slope == 0.0 || (header.scl_slope == 1.0 && header.scl_inter == 0.0);
    // The usual label types, unscaled: straight from the file's bytes to row-major class indices
    // in one pass (every value of these types is a class index).
    let fast = match volume.data_type() {
        NiftiType::Uint8 if unscaled => {
            crate::layout::nifti_voxels(&volume, header.endianness, |[b]| b, |[b]| b, u32::from)
        }
        NiftiType::Uint16 if unscaled => crate::layout::nifti_voxels(
            &volume,
            header.endianness,
            u16::from_le_bytes,
            u16::from_be_bytes,
            u32::from,
        ),
        _ => None,
    };
    if let Some(labels) = fast {
        return Ok(LabelMap {
            labels,
            spacing: Some(spacing),
        });
    }
    let float = matches!(volume.data_type(), NiftiType::Float32 | NiftiType::Float64);
    let labels = if float {
        let values = volume
            .into_ndarray::<f64>()
            .map_err(|e| FileError::new(path, format!("cannot read the NIfTI data: {e}")))?;
        if let Some(v) = values
            .iter()
            .find(|&&v| !(v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64))
        {
            return Err(FileError::new(
                path,
                format!("holds the value {v}, which is not a class index"),
            ));
        }
        values.mapv(|v| v as u32)
    } else {
        let read =
            |e: nifti::NiftiError| FileError::new(path, format!("cannot read the NIfTI data: {e}"));
        // Unscaled integers are read in their own type (not widened to i64 first: 8 bytes a
        // voxel for a uint8 volume); scaled ones go through i64.
        match volume.data_type() {
            NiftiType::Uint8 if unscaled => {
                to_labels(path, volume.into_ndarray::<u8>().map_err(read)?)?
            }
            NiftiType::Uint16 if unscaled => {
                to_labels(path, volume.into_ndarray::<u16>().map_err(read)?)?
            }
            NiftiType::Int16 if unscaled => {
                to_labels(path, volume.into_ndarray::<i16>().map_err(read)?)?
            }
            NiftiType::Int32 if unscaled => {
                to_labels(path, volume.into_ndarray::<i32>().map_err(read)?)?
            }
            _ => to_labels(path, volume.into_ndarray::<i64>().map_err(read)?)?,
        }
    };
    Ok(LabelMap {
        labels: crate::layout::standard_layout(labels),
        spacing: Some(spacing),
    })
}

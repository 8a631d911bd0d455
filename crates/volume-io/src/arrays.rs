//! Float arrays and gray images: `.npy` of float32 (images, precomputed maps), 8-bit gray PNGs
//! (images scaled to [0, 1], predicted class maps).

use std::path::Path;

use image::ImageEncoder;
use ndarray::{ArrayD, IxDyn};
use ndarray_npy::ReadNpyExt;

use crate::{write_atomically, FileError};

/// A float32 `.npy` (any shape, returned in row-major order); float64 files are converted.
pub fn read_npy_f32(path: &Path) -> Result<ArrayD<f32>, FileError> {
    crate::guard::check_npy_file(path)?;
    let open = || {
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .map_err(|e| FileError::new(path, e))
    };
    // Straight from the file into the array: no intermediate copy of the bytes.
    let first = ArrayD::<f32>::read_npy(open()?);
    if let Ok(a) = first {
        return Ok(if a.is_standard_layout() {
            a
        } else {
            a.as_standard_layout().into_owned()
        });
    }
    match ArrayD::<f64>::read_npy(open()?) {
        Ok(a) => Ok(a.mapv(|v| v as f32).as_standard_layout().into_owned()),
        Err(e) => Err(FileError::new(path, format!("not a float .npy array: {e}"))),
    }
}

/// An 8- or 16-bit gray PNG as raw levels, shape (H, W).
pub fn read_png_levels(path: &Path) -> Result<ArrayD<u16>, FileError> {
    let image =
        image::open(path).map_err(|e| FileError::new(path, format!("not a readable PNG: {e}")))?;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let levels: Vec<u16> = match image {
        image::DynamicImage::ImageLuma8(g) => g.into_raw().into_iter().map(u16::from).collect(),
        image::DynamicImage::ImageLuma16(g) => g.into_raw(),
        other => {
            return Err(FileError::new(
                path,
                format!(
                    "is a {:?} PNG, expected 8- or 16-bit gray levels",
                    other.color()
                ),
            ))
        }
    };
    ArrayD::from_shape_vec(IxDyn(&[h, w]), levels).map_err(|e| FileError::new(path, e))
}

/// Writes an 8-bit gray PNG of shape (H, W) atomically.
pub fn write_png_u8(
    path: &Path,
    pixels: &[u8],
    height: usize,
    width: usize,
) -> Result<(), FileError> {
    write_atomically(path, |out| encode_png_u8(out, pixels, height, width))
}

/// Encodes an 8-bit gray image of shape (H, W) as PNG into `out`.
pub fn encode_png_u8(
    out: &mut dyn std::io::Write,
    pixels: &[u8],
    height: usize,
    width: usize,
) -> std::io::Result<()> {
    image::codecs::png::PngEncoder::new(out)
        .write_image(
            pixels,
            width as u32,
            height as u32,
            image::ExtendedColorType::L8,
        )
        .map_err(std::io::Error::other)
}

/// Reads a NIfTI file: its header and its volume, with nibabel's reading of the scaling: a
/// slope of 0 or a non-finite slope means "not scaled" (NIfTI tools write NaN there; applied
/// literally it would turn every voxel into NaN), a non-finite intercept means 0.
///
/// The voxels of a single-file NIfTI (`n+1`, every `.nii` and `.nii.gz` we meet) are read straight
/// into one buffer of the declared size (huge pages, no growth, no copy), inflated by flate2's
/// zlib-rs backend for `.nii.gz`; a header whose voxels live in a separate `.img` (`ni1`) goes
/// through the `nifti` crate's reader.
pub(crate) fn open_nifti(
    path: &Path,
) -> Result<(nifti::NiftiHeader, nifti::InMemNiftiVolume), FileError> {
    use nifti::NiftiObject;
    let gzipped = is_gzipped(path);
    let layout = crate::guard::checked_nifti_header(path, gzipped)?;
    let (mut header, raw) = if &layout.header.magic == nifti::header::MAGIC_CODE_NIP1 {
        let raw = read_voxel_bytes(path, gzipped, layout.offset, layout.bytes)?;
        (layout.header, raw)
    } else {
        let object = nifti::ReaderOptions::new()
            .read_file(path)
            .map_err(|e| FileError::new(path, format!("not a readable NIfTI file: {e}")))?;
        (
            object.header().clone(),
            object.into_volume().into_raw_data(),
        )
    };
    if !header.scl_slope.is_finite() {
        header.scl_slope = 0.0;
    }
    if !header.scl_inter.is_finite() {
        header.scl_inter = 0.0;
    }
    let volume = nifti::InMemNiftiVolume::from_raw_data(&header, raw)
        .map_err(|e| FileError::new(path, format!("cannot read the NIfTI data: {e}")))?;
    Ok((header, volume))
}

/// The `bytes` voxel bytes at `offset` of a NIfTI file (of its inflated stream when `gzipped`).
fn read_voxel_bytes(
    path: &Path,
    gzipped: bool,
    offset: u64,
    bytes: u64,
) -> Result<Vec<u8>, FileError> {
    let file = std::fs::File::open(path).map_err(|e| FileError::new(path, e))?;
    let len = usize::try_from(bytes).map_err(|_| {
        FileError::new(
            path,
            format!("{bytes} bytes of voxels do not fit in memory"),
        )
    })?;
    if gzipped {
        read_inflated(path, file, offset, len)
    } else {
        read_plain(path, file, offset, len)
    }
}

/// Inflates `len` bytes at `offset` of the gzip stream of `file` (any number of members).
fn read_inflated(
    path: &Path,
    file: std::fs::File,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let error =
        |e: std::io::Error| FileError::new(path, format!("not a readable gzip stream: {e}"));
    // Larger reads than BufReader's 8 KB default: fewer calls between inflate runs.
    let compressed = std::io::BufReader::with_capacity(1 << 18, file);
    let mut stream = flate2::bufread::MultiGzDecoder::new(compressed);
    let skipped =
        std::io::copy(&mut (&mut stream).take(offset), &mut std::io::sink()).map_err(error)?;
    let mut raw = page_buffers::with_capacity::<u8>(len);
    if skipped == offset {
        stream
            .take(len as u64)
            .read_to_end(&mut raw)
            .map_err(error)?;
    }
    if raw.len() != len {
        return Err(FileError::new(
            path,
            format!(
                "the file ends after {} of the {len} bytes of voxels its header declares",
                raw.len()
            ),
        ));
    }
    Ok(raw)
}

/// Reads `len` bytes at `offset` of `file` (whose size the header checks already compared with
/// them): in one part per core for large volumes, so that copying from the page cache and
/// faulting in the buffer's pages are shared between the cores.
fn read_plain(
    path: &Path,
    file: std::fs::File,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, FileError> {
    let mut raw = page_buffers::zeroed_vec::<u8>(len);
    #[cfg(unix)]
    {
        use rayon::prelude::*;
        use std::os::unix::fs::FileExt;
        const PART: usize = 4 << 20;
        let part = len.div_ceil(rayon::current_num_threads()).max(PART);
        raw.par_chunks_mut(part)
            .enumerate()
            .try_for_each(|(i, chunk)| file.read_exact_at(chunk, offset + (i * part) as u64))
            .map_err(|e| FileError::new(path, e))?;
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek};
        let mut file = file;
        file.seek(std::io::SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut raw))
            .map_err(|e| FileError::new(path, e))?;
    }
    Ok(raw)
}

/// A NIfTI volume as float32 (scaled by the header's slope and intercept), axes as nibabel gives
/// them (x, y, z, ...), row-major, and the spacing of each axis from the header.
pub fn read_nifti_f32(path: &Path) -> Result<(ArrayD<f32>, Vec<f64>), FileError> {
    use nifti::{IntoNdArray, NiftiVolume};
    let (header, volume) = open_nifti(path)?;
    let rank = header
        .dimensionality()
        .map_err(|e| FileError::new(path, format!("bad NIfTI header: {e}")))?;
    let spacing: Vec<f64> = header.pixdim[1..=rank].iter().map(|&s| s as f64).collect();
    // Unscaled float32, int16, uint8 and uint16 (most images): straight from the file's bytes to
    // row-major floats in one pass.
    let unscaled = header.scl_slope == 0.0 || (header.scl_slope == 1.0 && header.scl_inter == 0.0);
    let endianness = header.endianness;
    let fast = match volume.data_type() {
        nifti::NiftiType::Float32 if unscaled => crate::layout::nifti_voxels(
            &volume,
            endianness,
            f32::from_le_bytes,
            f32::from_be_bytes,
            |v| v,
        ),
        nifti::NiftiType::Int16 if unscaled => crate::layout::nifti_voxels(
            &volume,
            endianness,
            i16::from_le_bytes,
            i16::from_be_bytes,
            f32::from,
        ),
        nifti::NiftiType::Uint16 if unscaled => crate::layout::nifti_voxels(
            &volume,
            endianness,
            u16::from_le_bytes,
            u16::from_be_bytes,
            f32::from,
        ),
        nifti::NiftiType::Uint8 if unscaled => {
            crate::layout::nifti_voxels(&volume, endianness, |[b]| b, |[b]| b, f32::from)
        }
        _ => None,
    };
    if let Some(values) = fast {
        return Ok((values, spacing));
    }
    let values = volume
        .into_ndarray::<f32>()
        .map_err(|e| FileError::new(path, format!("cannot read the NIfTI data: {e}")))?;
    Ok((crate::layout::standard_layout(values), spacing))
}

/// Writes a volume as NIfTI (`.nii`, or gzipped `.nii.gz`), in millimetres, with `spacing` per
/// axis in the header's pixel dimensions and a diagonal scanner transform; through a temporary
/// name, so readers never see half a file.
pub fn write_nifti<A, S, D>(
    path: &Path,
    volume: &ndarray::ArrayBase<S, D>,
    spacing: &[f32],
) -> Result<(), FileError>
where
    S: ndarray::Data<Elem = A>,
    A: nifti::DataElement + bytemuck::Pod,
    D: ndarray::Dimension + ndarray::RemoveAxis,
{
    let mut pixdim = [1.0f32; 8];
    for (p, &s) in pixdim[1..].iter_mut().zip(spacing) {
        *p = s;
    }
    let axis = |i: usize| {
        let mut row = [0.0f32; 4];
        row[i] = spacing.get(i).copied().unwrap_or(1.0);
        row
    };
    let header = nifti::NiftiHeader {
        pixdim,
        srow_x: axis(0),
        srow_y: axis(1),
        srow_z: axis(2),
        xyzt_units: 2 | 8, // mm, seconds
        ..Default::default()
    };
    write_nifti_with_header(path, volume, &header)
}

/// Writes `volume` as NIfTI with the geometry of `reference` (affine, qform/sform codes, pixel
/// dimensions, units), the element type and shape of `volume`, and no intensity scaling: a
/// label volume in the space of the image it was predicted from.
pub fn write_nifti_like<A, S, D>(
    path: &Path,
    volume: &ndarray::ArrayBase<S, D>,
    reference: &nifti::NiftiHeader,
) -> Result<(), FileError>
where
    S: ndarray::Data<Elem = A>,
    A: nifti::DataElement + bytemuck::Pod,
    D: ndarray::Dimension + ndarray::RemoveAxis,
{
    let header = nifti::NiftiHeader {
        scl_slope: 1.0,
        scl_inter: 0.0,
        cal_min: 0.0,
        cal_max: 0.0,
        ..reference.clone()
    };
    write_nifti_with_header(path, volume, &header)
}

/// The header of a NIfTI file (its geometry, codes, units), read without the voxels. Its scaling
/// fields are as stored: [`write_nifti_like`] replaces them anyway.
pub fn read_nifti_header(path: &Path) -> Result<nifti::NiftiHeader, FileError> {
    Ok(crate::guard::read_nifti_header_only(path, is_gzipped(path))?.0)
}

/// Whether a NIfTI path is gzipped, by its extension (as the `nifti` crate decides).
fn is_gzipped(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().to_lowercase().ends_with(".gz"))
}

/// gzip level of the `.nii.gz` files we write. flate2's zlib-rs backend at level 1 (the `nifti`
/// crate's default) trades ratio for speed: on a 512x512x61 label map 191 KB against the 108 KB
/// that miniz_oxide's level 1 wrote before, on a CT-like int16 volume 21.7 against 16.3 MB.
/// Level 2 writes smaller files than either (45 KB, 14.0 MB) in 9 ms and 0.42 s (level 1: 7-10 ms
/// and 0.21 s; miniz_oxide's level 1: 3-5 ms and 0.27-0.30 s).
const GZIP_LEVEL: u32 = 2;

fn write_nifti_with_header<A, S, D>(
    path: &Path,
    volume: &ndarray::ArrayBase<S, D>,
    header: &nifti::NiftiHeader,
) -> Result<(), FileError>
where
    S: ndarray::Data<Elem = A>,
    A: nifti::DataElement + bytemuck::Pod,
    D: ndarray::Dimension + ndarray::RemoveAxis,
{
    // The writer gzips by the extension and replaces the last one with `nii`: a temporary name
    // without other dots keeps its output where we rename it from (official names such as
    // `SMIR.Brain.XX.O.CT.345001.nii` have several).
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let gz = is_gzipped(path);
    let temp = path.with_file_name(format!(
        ".tmp-{}-{}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        if gz { "nii.gz" } else { "nii" }
    ));
    let mut options = nifti::writer::WriterOptions::new(&temp).reference_header(header);
    if gz {
        options = options.compression_level(flate2::Compression::new(GZIP_LEVEL));
    }
    let written = options
        .write_nifti(volume)
        .map_err(|e| FileError::new(path, format!("cannot write the NIfTI file: {e}")))
        .and_then(|()| std::fs::rename(&temp, path).map_err(|e| FileError::new(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    /// A `.nii.gz` we write is smaller than the `nifti` crate's default level would make it, and
    /// holds the volume.
    #[test]
    fn gzipped_nifti_files_use_the_smaller_level() {
        let dir = tempfile::tempdir().unwrap();
        let labels = ndarray::Array3::from_shape_fn((128, 128, 16), |(x, y, z)| {
            let (dx, dy, dz) = (x as f64 - 60.0, y as f64 - 70.0, (z as f64 - 8.0) * 4.0);
            u8::from(dx * dx + dy * dy + dz * dz < 900.0) + u8::from(x % 29 < 2 && y % 31 < 3)
        });
        let ours = dir.path().join("ours.nii.gz");
        super::write_nifti(&ours, &labels, &[1.0; 3]).unwrap();
        let default = dir.path().join("default.nii.gz");
        nifti::writer::WriterOptions::new(&default)
            .write_nifti(&labels)
            .unwrap();
        let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
        assert!(
            size(&ours) < size(&default),
            "{} >= {}",
            size(&ours),
            size(&default)
        );
        let read = crate::read_label_map(&ours).unwrap().labels;
        assert_eq!(read, labels.mapv(u32::from).into_dyn());
    }
}

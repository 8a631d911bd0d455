//! The NIfTI reader reads a file's voxel bytes itself (one buffer of the declared size, inflated
//! by zlib-rs for `.nii.gz`) and converts them in tiles; the `nifti` crate's own reader is the
//! reference. Random shapes, element types, byte orders, plain and gzipped, with and without an
//! extension area before the voxels; and the layouts the crate accepts that a careless reader
//! would not (vox_offset below 352, multi-member gzip), and files that end early.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use nifti::writer::WriterOptions;
use nifti::{Endianness, IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions};
use proptest::prelude::*;

/// The `nifti` crate's reading of `path` as float32, row-major (the reference).
fn reference_f32(path: &Path) -> ArrayD<f32> {
    let object = ReaderOptions::new().read_file(path).unwrap();
    let values = object.into_volume().into_ndarray::<f32>().unwrap();
    values.as_standard_layout().into_owned()
}

/// Writes `values` (C order over `shape`) as a NIfTI of element type `T`.
fn write<T: nifti::DataElement + bytemuck::Pod>(
    path: &Path,
    shape: &[usize],
    values: Vec<T>,
    endianness: Endianness,
) {
    let array = ArrayD::from_shape_vec(IxDyn(shape), values).unwrap();
    let header = NiftiHeader {
        endianness,
        ..NiftiHeader::default()
    };
    WriterOptions::new(path)
        .reference_header(&header)
        .write_nifti(&array)
        .unwrap();
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Rewrites the uncompressed NIfTI at `path` with `extra` bytes between the header's extension
/// flag and the voxels, vox_offset moved accordingly (bytes 108..112, in the file's byte order).
fn insert_before_voxels(path: &Path, extra: usize, endianness: Endianness) {
    let bytes = std::fs::read(path).unwrap();
    let offset = 352 + extra as u32;
    let mut out = bytes[..352].to_vec();
    let field = match endianness {
        Endianness::Little => (offset as f32).to_le_bytes(),
        Endianness::Big => (offset as f32).to_be_bytes(),
    };
    out[108..112].copy_from_slice(&field);
    out.extend((0..extra).map(|i| (i * 37 % 251) as u8));
    out.extend_from_slice(&bytes[352..]);
    std::fs::write(path, out).unwrap();
}

#[derive(Debug, Clone, Copy)]
enum Element {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
}

fn elements() -> impl Strategy<Value = Element> {
    prop_oneof![
        Just(Element::U8),
        Just(Element::I8),
        Just(Element::U16),
        Just(Element::I16),
        Just(Element::U32),
        Just(Element::I32),
        Just(Element::F32),
        Just(Element::F64),
    ]
}

/// Writes a volume of `element` whose values are all class indices below 200 (so every type
/// can be read as a label map too) and returns them as u32, C order.
fn write_labels(
    path: &Path,
    shape: &[usize],
    seed: u64,
    element: Element,
    order: Endianness,
) -> Vec<u32> {
    let n: usize = shape.iter().product();
    let labels: Vec<u32> = (0..n as u64)
        .map(|i| ((i.wrapping_add(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 200) as u32)
        .collect();
    // i8 cannot hold every label below 200: it stores half of each.
    let stored: Vec<u32> = match element {
        Element::I8 => labels.iter().map(|&v| v / 2).collect(),
        _ => labels,
    };
    match element {
        Element::U8 => write_as(path, shape, &stored, order, |v| v as u8),
        Element::I8 => write_as(path, shape, &stored, order, |v| v as i8),
        Element::U16 => write_as(path, shape, &stored, order, |v| v as u16),
        Element::I16 => write_as(path, shape, &stored, order, |v| v as i16),
        Element::U32 => write_as(path, shape, &stored, order, |v| v),
        Element::I32 => write_as(path, shape, &stored, order, |v| v as i32),
        Element::F32 => write_as(path, shape, &stored, order, |v| v as f32),
        Element::F64 => write_as(path, shape, &stored, order, |v| v as f64),
    }
    stored
}

/// [`write`] of `values` converted by `to`.
fn write_as<T: nifti::DataElement + bytemuck::Pod>(
    path: &Path,
    shape: &[usize],
    values: &[u32],
    order: Endianness,
    to: fn(u32) -> T,
) {
    write(path, shape, values.iter().map(|&v| to(v)).collect(), order);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn reads_what_the_nifti_crate_reads(
        shape in proptest::collection::vec(1usize..24, 1..5),
        seed in any::<u64>(),
        element in elements(),
        big_endian in any::<bool>(),
        gzipped in any::<bool>(),
        extension in prop_oneof![Just(0usize), 1usize..300],
    ) {
        let order = if big_endian { Endianness::Big } else { Endianness::Little };
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("v.nii");
        let labels = write_labels(&plain, &shape, seed, element, order);
        if extension > 0 {
            insert_before_voxels(&plain, extension, order);
        }
        let path = if gzipped {
            let path = dir.path().join("v.nii.gz");
            std::fs::write(&path, gzip(&std::fs::read(&plain).unwrap())).unwrap();
            path
        } else {
            plain.clone()
        };
        // The crate's reader only follows vox_offset past real extensions: the reference reads
        // the file without the inserted bytes.
        let reference_path = dir.path().join("reference.nii");
        write_labels(&reference_path, &shape, seed, element, order);
        let (values, spacing) = volume_io::read_nifti_f32(&path).unwrap();
        prop_assert_eq!(spacing.len(), shape.len());
        prop_assert!(values.is_standard_layout());
        prop_assert_eq!(&values, &reference_f32(&reference_path));
        let read = volume_io::read_label_map(&path).unwrap().labels;
        prop_assert!(read.is_standard_layout());
        prop_assert_eq!(read, ArrayD::from_shape_vec(IxDyn(&shape), labels).unwrap());
    }
}

/// vox_offset below 352 (0 is common in old writers): the voxels start after the header and its
/// extension flag, as the `nifti` crate reads them.
#[test]
fn a_vox_offset_inside_the_header_means_right_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.nii");
    let labels = write_labels(&path, &[7, 5, 3], 1, Element::U16, Endianness::Little);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[108..112].copy_from_slice(&0f32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let read = volume_io::read_label_map(&path).unwrap().labels;
    assert_eq!(
        read,
        ArrayD::from_shape_vec(IxDyn(&[7, 5, 3]), labels).unwrap()
    );
    assert_eq!(
        volume_io::read_nifti_f32(&path).unwrap().0,
        reference_f32(&path)
    );
}

/// A `.nii.gz` made of two gzip members (what `cat a.gz b.gz` and parallel compressors write).
#[test]
fn a_gzip_stream_of_several_members_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("v.nii");
    let labels = write_labels(&plain, &[9, 8, 7], 2, Element::U8, Endianness::Little);
    let bytes = std::fs::read(&plain).unwrap();
    let mut members = gzip(&bytes[..400]);
    members.extend(gzip(&bytes[400..]));
    let path = dir.path().join("v.nii.gz");
    std::fs::write(&path, members).unwrap();
    let read = volume_io::read_label_map(&path).unwrap().labels;
    assert_eq!(
        read,
        ArrayD::from_shape_vec(IxDyn(&[9, 8, 7]), labels).unwrap()
    );
}

/// A file cut short inside its voxels is an error naming the file and how much was there; a
/// gzip stream cut short is one too.
#[test]
fn a_file_ending_inside_its_voxels_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("v.nii");
    write_labels(&plain, &[40, 30, 20], 3, Element::I16, Endianness::Little);
    let bytes = std::fs::read(&plain).unwrap();
    let cut = dir.path().join("cut.nii.gz");
    let compressed = gzip(&bytes);
    std::fs::write(&cut, &compressed[..compressed.len() / 2]).unwrap();
    let error = volume_io::read_nifti_f32(&cut).unwrap_err();
    assert_eq!(error.path, cut);
    let short = dir.path().join("short.nii.gz");
    std::fs::write(&short, gzip(&bytes[..bytes.len() - 10])).unwrap();
    let error = volume_io::read_label_map(&short).unwrap_err().to_string();
    assert!(
        error.contains("short.nii.gz") && error.contains("47990 of the 48000 bytes"),
        "{error}"
    );
}

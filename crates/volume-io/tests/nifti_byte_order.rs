//! NIfTI files of either byte order read to the same values (the readers convert straight from
//! the file's bytes): uint8, uint16 labels and float32, int16 images, little and big endian.

use ndarray::Array3;
use nifti::writer::WriterOptions;
use nifti::{Endianness, NiftiHeader};

fn write<T: nifti::DataElement + bytemuck::Pod>(
    path: &std::path::Path,
    volume: &Array3<T>,
    endianness: Endianness,
) {
    let header = NiftiHeader {
        endianness,
        pixdim: [1.0, 0.5, 0.7, 2.0, 1.0, 1.0, 1.0, 1.0],
        ..NiftiHeader::default()
    };
    WriterOptions::new(path)
        .reference_header(&header)
        .write_nifti(volume)
        .unwrap();
    // The file really is in that byte order: sizeof_hdr (348) leads the header.
    let bytes = std::fs::read(path).unwrap();
    let expected = match endianness {
        Endianness::Little => 348i32.to_le_bytes(),
        Endianness::Big => 348i32.to_be_bytes(),
    };
    assert_eq!(bytes[..4], expected);
}

#[test]
fn both_byte_orders_read_to_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let shape = (5, 4, 3);
    let value = |(x, y, z): (usize, usize, usize)| x * 100 + y * 10 + z;
    for endianness in [Endianness::Little, Endianness::Big] {
        let path = dir.path().join(format!("{endianness:?}.nii"));
        let u16_labels = Array3::from_shape_fn(shape, |i| value(i) as u16);
        write(&path, &u16_labels, endianness);
        let read = volume_io::read_label_map(&path).unwrap();
        assert_eq!(read.labels.shape(), &[5, 4, 3]);
        assert_eq!(read.spacing, Some(vec![0.5, 0.699999988079071, 2.0]));
        for ((x, y, z), &v) in u16_labels.indexed_iter() {
            assert_eq!(read.labels[[x, y, z]], u32::from(v), "{endianness:?}");
        }
        let u8_labels = Array3::from_shape_fn(shape, |i| (value(i) % 251) as u8);
        write(&path, &u8_labels, endianness);
        let read = volume_io::read_label_map(&path).unwrap();
        for ((x, y, z), &v) in u8_labels.indexed_iter() {
            assert_eq!(read.labels[[x, y, z]], u32::from(v));
        }
        let image = Array3::from_shape_fn(shape, |i| value(i) as f32 * 0.25 - 7.0);
        write(&path, &image, endianness);
        let (read, spacing) = volume_io::read_nifti_f32(&path).unwrap();
        assert_eq!(spacing.len(), 3);
        for ((x, y, z), &v) in image.indexed_iter() {
            assert_eq!(read[[x, y, z]], v, "{endianness:?}");
        }
        let ct = Array3::from_shape_fn(shape, |i| value(i) as i16 - 300);
        write(&path, &ct, endianness);
        let (read, _) = volume_io::read_nifti_f32(&path).unwrap();
        for ((x, y, z), &v) in ct.indexed_iter() {
            assert_eq!(read[[x, y, z]], f32::from(v));
        }
    }
}

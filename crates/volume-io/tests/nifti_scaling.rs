//! NIfTI scaling as nibabel reads it: a NaN slope (what many tools write for "unscaled") leaves
//! the stored values alone instead of turning them into NaN; a finite slope is applied.

use ndarray::Array3;
use volume_io::{read_label_map, read_nifti_f32};

/// Writes an uncompressed `.nii` and patches its scl_slope / scl_inter (bytes 112..120).
fn write_with_scaling(path: &std::path::Path, slope: f32, inter: f32) -> Array3<u8> {
    let volume = Array3::from_shape_fn((4, 3, 2), |(x, y, z)| (x + 4 * y + 12 * z) as u8 % 3);
    nifti::writer::WriterOptions::new(path)
        .write_nifti(&volume)
        .unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    bytes[112..116].copy_from_slice(&slope.to_le_bytes());
    bytes[116..120].copy_from_slice(&inter.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
    volume
}

#[test]
fn a_nan_slope_means_unscaled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.nii");
    let volume = write_with_scaling(&path, f32::NAN, f32::NAN);
    let (values, _) = read_nifti_f32(&path).unwrap();
    assert_eq!(values, volume.mapv(f32::from).into_dyn());
    let labels = read_label_map(&path).unwrap().labels;
    assert_eq!(labels, volume.mapv(u32::from).into_dyn());
}

#[test]
fn a_finite_slope_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.nii");
    let volume = write_with_scaling(&path, 2.0, 1.0);
    let (values, _) = read_nifti_f32(&path).unwrap();
    assert_eq!(values, volume.mapv(|v| v as f32 * 2.0 + 1.0).into_dyn());
}

/// Label volumes of every integer type (and float32 holding integers), 3-D and 4-D, plain and
/// gzipped, read back as written: the typed, tiled path that replaced the element-by-element
/// conversion.
#[test]
fn label_volumes_of_every_type_read_back_in_row_major_order() {
    use ndarray::{Array3, Array4};
    let dir = tempfile::tempdir().unwrap();
    let labels = Array3::from_shape_fn((37, 29, 11), |(x, y, z)| {
        ((x * 5 + y * 3 + z * 7) % 6) as u32
    });
    let expected = labels.clone().into_dyn();
    fn check(path: &std::path::Path, expected: &ndarray::ArrayD<u32>) {
        let read = volume_io::read_label_map(path).unwrap();
        assert!(read.labels.is_standard_layout());
        assert_eq!(&read.labels, expected, "{}", path.display());
    }
    for ext in ["nii", "nii.gz"] {
        let p = |t: &str| dir.path().join(format!("{t}.{ext}"));
        volume_io::write_nifti(&p("u8"), &labels.mapv(|v| v as u8), &[1.0; 3]).unwrap();
        volume_io::write_nifti(&p("u16"), &labels.mapv(|v| v as u16), &[1.0; 3]).unwrap();
        volume_io::write_nifti(&p("i16"), &labels.mapv(|v| v as i16), &[1.0; 3]).unwrap();
        volume_io::write_nifti(&p("i32"), &labels.mapv(|v| v as i32), &[1.0; 3]).unwrap();
        volume_io::write_nifti(&p("u32"), &labels, &[1.0; 3]).unwrap();
        volume_io::write_nifti(&p("f32"), &labels.mapv(|v| v as f32), &[1.0; 3]).unwrap();
        for t in ["u8", "u16", "i16", "i32", "u32", "f32"] {
            check(&p(t), &expected);
        }
        let four = Array4::from_shape_fn((37, 29, 11, 1), |(x, y, z, _)| labels[[x, y, z]] as u8);
        volume_io::write_nifti(&p("4d"), &four, &[1.0; 4]).unwrap();
        check(
            &p("4d"),
            &expected
                .clone()
                .into_shape_with_order(vec![37, 29, 11, 1])
                .unwrap(),
        );
    }
}

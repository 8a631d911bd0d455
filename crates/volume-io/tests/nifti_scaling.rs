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

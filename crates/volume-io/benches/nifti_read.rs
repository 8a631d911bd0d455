//! NIfTI reading, the hot path of every command that takes volumes (`distmap`, `slice`,
//! `predict`, `surface-metrics`): medians of repeated reads of files in the page cache, through
//! the readers the commands use (`read_label_map`, `read_nifti_f32`), with the bytes per second
//! of the file's voxels and of the arrays returned; and inflation alone, flate2's zlib-rs backend
//! (ours) against miniz_oxide (flate2's default), on the same `.nii.gz` files.
//!
//! Usage:
//!   cargo bench -p volume-io --bench nifti_read            # its own 512x512x61 volumes
//!   cargo bench -p volume-io --bench nifti_read -- --json FILE...   # given files, JSON lines
//! A file whose name contains `label` is read with `read_label_map`, any other with
//! `read_nifti_f32`. (benches/compare_nifti.py runs the second form against nibabel and the
//! other inflaters.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array3;

/// Median milliseconds of `repeats` runs after one warm-up run.
fn median_ms(repeats: usize, mut run: impl FnMut()) -> f64 {
    run();
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The deflate stream of a gzip member (RFC 1952 header skipped), for miniz_oxide's raw inflate.
fn deflate_stream(gzip: &[u8]) -> &[u8] {
    assert!(
        gzip.len() > 10 && gzip[..3] == [0x1f, 0x8b, 8],
        "a gzip member"
    );
    let flags = gzip[3];
    let mut at = 10;
    if flags & 4 != 0 {
        at += 2 + usize::from(u16::from_le_bytes([gzip[at], gzip[at + 1]]));
    }
    for bit in [8, 16] {
        if flags & bit != 0 {
            at += gzip[at..].iter().position(|&b| b == 0).expect("terminated") + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    &gzip[at..]
}

struct Timing {
    reader: &'static str,
    ms: f64,
    /// Bytes of the array returned.
    array_bytes: usize,
    /// Inflation alone (`.nii.gz`): zlib-rs through flate2, miniz_oxide.
    inflate_ms: Option<(f64, f64)>,
}

fn time_file(path: &Path, repeats: usize) -> Timing {
    let labels = path.to_string_lossy().contains("label");
    let (reader, ms, array_bytes): (&'static str, f64, usize) = if labels {
        let len = volume_io::read_label_map(path).unwrap().labels.len();
        let ms = median_ms(repeats, || {
            std::hint::black_box(volume_io::read_label_map(path).unwrap());
        });
        ("read_label_map", ms, len * 4)
    } else {
        let len = volume_io::read_nifti_f32(path).unwrap().0.len();
        let ms = median_ms(repeats, || {
            std::hint::black_box(volume_io::read_nifti_f32(path).unwrap());
        });
        ("read_nifti_f32", ms, len * 4)
    };
    let inflate_ms = path.to_string_lossy().ends_with(".gz").then(|| {
        use std::io::Read;
        let compressed = std::fs::read(path).unwrap();
        let size = {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&compressed[..])
                .read_to_end(&mut out)
                .unwrap();
            out.len()
        };
        let zlib_rs = median_ms(repeats, || {
            let mut out = Vec::with_capacity(size);
            flate2::read::MultiGzDecoder::new(&compressed[..])
                .read_to_end(&mut out)
                .unwrap();
            std::hint::black_box(out);
        });
        let stream = deflate_stream(&compressed);
        let miniz = median_ms(repeats, || {
            let out = miniz_oxide::inflate::decompress_to_vec_with_limit(stream, size).unwrap();
            std::hint::black_box(out);
        });
        (zlib_rs, miniz)
    });
    Timing {
        reader,
        ms,
        array_bytes,
        inflate_ms,
    }
}

/// Voxel bytes of a NIfTI file (what the header declares), read from its header alone.
fn voxel_bytes(path: &Path) -> u64 {
    let header = volume_io::read_nifti_header(path).unwrap();
    let voxels: u64 = header.dim[1..=header.dim[0] as usize]
        .iter()
        .map(|&d| d as u64)
        .product();
    voxels * header.bitpix as u64 / 8
}

fn json_lines(files: &[PathBuf]) {
    for path in files {
        let t = time_file(path, 9);
        let (zlib_rs, miniz) = t.inflate_ms.unwrap_or((f64::NAN, f64::NAN));
        let number = |v: f64| {
            if v.is_finite() {
                format!("{v:.3}")
            } else {
                "null".into()
            }
        };
        println!(
            "{{\"file\": \"{}\", \"reader\": \"{}\", \"ms\": {:.3}, \"disk_bytes\": {}, \"voxel_bytes\": {}, \"array_bytes\": {}, \"inflate_zlib_rs_ms\": {}, \"inflate_miniz_oxide_ms\": {}}}",
            path.display(),
            t.reader,
            t.ms,
            std::fs::metadata(path).unwrap().len(),
            voxel_bytes(path),
            t.array_bytes,
            number(zlib_rs),
            number(miniz)
        );
    }
}

fn own_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let shape = (512, 512, 61);
    // Lesion-like labels: mostly background, some blobs (compresses like real label maps).
    let labels = Array3::from_shape_fn(shape, |(x, y, z)| {
        let (dx, dy, dz) = (x as f64 - 250.0, y as f64 - 260.0, (z as f64 - 30.0) * 4.0);
        u8::from(dx * dx + dy * dy + dz * dz < 60.0 * 60.0) + u8::from(x % 97 < 3 && y % 89 < 4)
    });
    // CT-like int16: a body of soft tissue with noise in air (compresses about 3x, like CT).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let ct = Array3::from_shape_fn(shape, |(x, y, _)| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 64) as i16 - 32;
        let (dx, dy) = (x as f64 - 256.0, y as f64 - 256.0);
        if dx * dx + dy * dy < 200.0 * 200.0 {
            40 + noise
        } else {
            -1000 + noise / 4
        }
    });
    let image = ct.mapv(|v| f32::from(v) * 0.5);
    for ext in ["nii", "nii.gz"] {
        let at = |name: &str| dir.path().join(format!("{name}.{ext}"));
        volume_io::write_nifti(&at("labels_u8"), &labels, &[0.5, 0.5, 3.0]).unwrap();
        volume_io::write_nifti(&at("ct_i16"), &ct, &[0.5, 0.5, 3.0]).unwrap();
        volume_io::write_nifti(&at("image_f32"), &image, &[0.5, 0.5, 3.0]).unwrap();
    }
    let npy = dir.path().join("labels_u8.npy");
    ndarray_npy::write_npy(&npy, &labels).unwrap();
    let threads = rayon::current_num_threads();
    println!("NIfTI reading, 512x512x61 volumes, page cache warm, {threads} threads, medians of 7");
    println!(
        "{:<20} {:>9} {:>8} {:>12} {:>12} | {:>13} {:>13}",
        "file", "on disk", "read", "voxels", "array", "inflate z-rs", "miniz_oxide"
    );
    let npy_ms = median_ms(7, || {
        std::hint::black_box(volume_io::read_label_map(&npy).unwrap());
    });
    println!(
        "{:<20} {:>6.1} MB {:>5.1} ms {:>7.0} MB/s {:>7.0} MB/s |",
        "labels_u8.npy (ref)",
        std::fs::metadata(&npy).unwrap().len() as f64 / 1e6,
        npy_ms,
        (512.0 * 512.0 * 61.0) / npy_ms / 1e3,
        (512.0 * 512.0 * 61.0 * 4.0) / npy_ms / 1e3
    );
    for name in ["labels_u8", "ct_i16", "image_f32"] {
        for ext in ["nii", "nii.gz"] {
            let path = dir.path().join(format!("{name}.{ext}"));
            let t = time_file(&path, 7);
            let inflate = t
                .inflate_ms
                .map(|(z, m)| format!("{z:>10.1} ms {m:>10.1} ms"))
                .unwrap_or_default();
            println!(
                "{:<20} {:>6.1} MB {:>5.1} ms {:>7.0} MB/s {:>7.0} MB/s | {inflate}",
                format!("{name}.{ext}"),
                std::fs::metadata(&path).unwrap().len() as f64 / 1e6,
                t.ms,
                voxel_bytes(&path) as f64 / t.ms / 1e3,
                t.array_bytes as f64 / t.ms / 1e3,
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--json") {
        let files: Vec<PathBuf> = args[at + 1..]
            .iter()
            .filter(|a| !a.starts_with("--"))
            .map(PathBuf::from)
            .collect();
        json_lines(&files);
    } else {
        own_volumes();
    }
}

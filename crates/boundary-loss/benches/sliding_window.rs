//! Sliding-window inference benchmark: the blended class probabilities of a whole volume with
//! UNet3D (2 modalities, 2 classes, base width 8, seeded) over windows of 32x32x16, overlap 0.5,
//! Gaussian blending, as 3-D validation and `predict` compute them. It writes the network as a
//! PyTorch state_dict (`pytorch::state_dict`), the input volume and the labels into --out, so
//! that `benches/compare_monai.py` runs MONAI's `sliding_window_inference` on the same weights,
//! input and windows in the same session. Prints one JSON line: seconds, windows, and the share
//! of the time in the network's forward pass.
//!
//! Usage: cargo bench --workspace --bench sliding_window -- [--x 512] [--y 512] [--z 64]
//! [--batch 8] [--base 8] --out DIR. Threads: RAYON_NUM_THREADS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use boundary_loss::nets::{Architecture, BuildNetwork};
use boundary_loss::pytorch::{state_dict, write_state_dict, TorchFormat};
use boundary_loss::train::volumetric::sliding_window_probabilities;
use boundary_loss::train::RunConfig;
use boundary_loss::volumes::patches::{Blending, PatchOptions};
use boundary_loss::volumes::{SlidingWindows, StreamVolume, Volume};
use burn::tensor::Device;

// The convolution benches' argument helper (their layer list is not used here).
#[allow(dead_code)]
#[path = "../../cpu-conv/benches/layers.rs"]
mod layers;
use layers::argument;

fn main() {
    boundary_loss::memory::keep_freed_memory();
    let shape = [
        argument("--x", 512),
        argument("--y", 512),
        argument("--z", 64),
    ];
    let batch = argument("--batch", 8);
    let base = argument("--base", 8);
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .iter()
        .position(|a| a == "--out")
        .map(|i| PathBuf::from(&args[i + 1]))
        .expect("--out DIR");
    std::fs::create_dir_all(&out).unwrap();

    let device = Device::flex();
    device.seed(0);
    let net = Architecture::UNet3D
        .build_with_base(2, 2, Some(base), &device)
        .unwrap();
    let tensors = state_dict(&net).unwrap();
    let weights = out.join("unet3d.safetensors");
    write_state_dict(
        &tensors,
        &weights,
        TorchFormat::Safetensors,
        &BTreeMap::new(),
    )
    .unwrap();

    // A smooth two-channel volume in [0, 1], the same on both sides.
    let [x, y, z] = shape;
    let image = ndarray::Array4::from_shape_fn((2, x, y, z), |(c, i, j, k)| {
        let (fi, fj, fk) = (
            i as f32 / x as f32,
            j as f32 / y as f32,
            k as f32 / z as f32,
        );
        0.5 + 0.5 * ((7.0 + c as f32) * fi + 5.0 * fj * fj - 3.0 * fk).sin() * (4.0 * fj).cos()
    });
    ndarray_npy::write_npy(out.join("image.npy"), &image).unwrap();
    let volume = Volume {
        name: "bench".into(),
        streams: vec![StreamVolume::Channels {
            values: image.into_dyn(),
            edge: false,
        }],
        truth: ndarray::ArrayD::zeros(ndarray::IxDyn(&shape)),
        spacing: [1.0; 3],
    };
    let patches = PatchOptions {
        size: [32, 32, 16],
        foreground_ratio: 1.0 / 3.0,
        flips: false,
        per_epoch: None,
        overlap: 0.5,
        blending: Blending::Gaussian,
    };
    let mut config = RunConfig::default();
    config.network.architecture = Architecture::UNet3D;
    config.network.base = Some(base);
    (config.network.modalities, config.network.classes) = (2, 2);
    config.data.batch_size = batch;
    config.data.patches = Some(patches.clone());
    let windows = SlidingWindows::new(shape, patches.size, patches.overlap)
        .positions()
        .len();
    let started = Instant::now();
    let probs = sliding_window_probabilities(&net, &volume, &patches, &config, &device).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let voxels = x * y * z;
    let labels: Vec<u8> = (0..voxels)
        .map(|v| u8::from(probs[voxels + v] > probs[v]))
        .collect();
    ndarray_npy::write_npy(
        out.join("labels.npy"),
        &ndarray::Array3::from_shape_vec((x, y, z), labels).unwrap(),
    )
    .unwrap();
    println!(
        "{{\"framework\": \"burn-0.22.1-flex\", \"shape\": {shape:?}, \"window\": [32, 32, 16], \"overlap\": 0.5, \"batch\": {batch}, \"base\": {base}, \"windows\": {windows}, \"seconds\": {seconds:.3}}}"
    );
}

//! PyTorch interchange against the original's networks: every architecture's state_dict has
//! exactly the names, shapes and types of the original's PyTorch module (listed from
//! `reference/original_networks/` by `reference/make_torch_names.py`); both file formats carry
//! every value bit for bit into a fresh network; and a file that does not fit is one error that
//! names the tensor, leaving nothing behind.

use std::collections::BTreeMap;
use std::path::Path;

use boundary_loss::nets::{Architecture, BuildNetwork, Network};
use boundary_loss::pytorch::{
    constructor, load_state_dict, read_state_dict, state_dict, write_state_dict, TorchFormat,
    TorchTensor, TorchValues,
};
use burn::tensor::Device;

/// The sizes `make_torch_names.py` builds (ENet: one modality, the only count its forward
/// takes in the original).
fn build(architecture: Architecture, classes: usize, seed: u64) -> Network {
    let device = Device::flex();
    device.seed(seed);
    let modalities = if architecture == Architecture::ENet {
        1
    } else {
        2
    };
    let base = matches!(architecture, Architecture::UNet | Architecture::UNet3D).then_some(4);
    architecture
        .build_with_base(modalities, classes, base, &device)
        .unwrap()
}

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/torch_names.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn entries(tensors: &[TorchTensor]) -> BTreeMap<String, (Vec<usize>, &'static str)> {
    tensors
        .iter()
        .map(|t| {
            let dtype = match t.values {
                TorchValues::F32(_) => "float32",
                TorchValues::I64(_) => "int64",
            };
            (t.name.clone(), (t.shape.clone(), dtype))
        })
        .collect()
}

#[test]
fn every_state_dict_matches_the_original_module() {
    let reference = reference();
    for architecture in Architecture::ALL {
        let case = &reference[architecture.name()];
        let expected: BTreeMap<String, (Vec<usize>, &'static str)> = case["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let shape = t[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                let dtype = if t[2] == "int64" { "int64" } else { "float32" };
                assert!(t[2] == "int64" || t[2] == "float32", "{t}");
                (t[0].as_str().unwrap().to_string(), (shape, dtype))
            })
            .collect();
        let net = build(architecture, 3, 1);
        let ours = state_dict(&net).unwrap();
        assert_eq!(
            ours.len(),
            expected.len(),
            "{architecture}: {} tensors, the original's module has {}",
            ours.len(),
            expected.len()
        );
        assert_eq!(entries(&ours), expected, "{architecture}");
        // The constructor arguments the description records are those the reference used.
        let modalities = net.modalities();
        let base = matches!(architecture, Architecture::UNet | Architecture::UNet3D).then_some(4);
        let (class, arguments) = constructor(architecture, modalities, 3, base);
        assert_eq!(class, architecture.name());
        let arguments: BTreeMap<String, u64> = arguments
            .into_iter()
            .map(|(k, v)| (k.to_string(), v as u64))
            .collect();
        let recorded: BTreeMap<String, u64> = case["constructor"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(arguments, recorded, "{architecture}");
    }
}

#[test]
fn both_formats_carry_every_value_into_a_fresh_network() {
    let dir = tempfile::tempdir().unwrap();
    for architecture in Architecture::ALL {
        let trained = build(architecture, 3, 7);
        let tensors = state_dict(&trained).unwrap();
        for format in [TorchFormat::Safetensors, TorchFormat::Pt] {
            let path = dir.path().join(format!("{architecture}.{format:?}"));
            write_state_dict(&tensors, &path, format, &BTreeMap::new()).unwrap();
            let fresh = build(architecture, 3, 8);
            assert_ne!(fresh.parameter_values(), trained.parameter_values());
            let loaded = load_state_dict(fresh, &path).unwrap();
            let (a, b) = (loaded.parameter_values(), trained.parameter_values());
            assert_eq!(a.len(), b.len());
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{architecture} {format:?}"
            );
        }
    }
}

fn error_of(net: Network, path: &Path) -> String {
    match load_state_dict(net, path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_file_that_does_not_fit_is_one_error_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let unet = state_dict(&build(Architecture::UNet, 3, 1)).unwrap();
    let save = |name: &str, tensors: &[TorchTensor]| {
        let path = dir.path().join(name);
        write_state_dict(
            tensors,
            &path,
            TorchFormat::of_path(&path),
            &BTreeMap::new(),
        )
        .unwrap();
        path
    };

    // Another class count: the last layer's shape.
    let path = save("unet.safetensors", &unet);
    let error = error_of(build(Architecture::UNet, 2, 1), &path);
    assert!(
        error.contains("'final.weight' has shape [3, 4, 1, 1]"),
        "{error}"
    );
    assert!(error.contains("[2, 4, 1, 1]"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");

    // Another architecture.
    let error = error_of(build(Architecture::ResidualUNet, 3, 1), &path);
    assert!(error.contains("none of the"), "{error}");
    assert!(error.contains("ResidualUNet"), "{error}");

    // A missing tensor, in both formats.
    let without: Vec<TorchTensor> = unet
        .iter()
        .filter(|t| t.name != "bridge.1.convs.2.running_var")
        .cloned()
        .collect();
    for name in ["missing.safetensors", "missing.pt"] {
        let error = error_of(build(Architecture::UNet, 3, 1), &save(name, &without));
        assert!(
            error.contains("'bridge.1.convs.2.running_var' (shape [32]) is missing"),
            "{error}"
        );
        assert!(error.contains(name), "the error names the file: {error}");
    }

    // A tensor the network does not have.
    let mut extra = unet.clone();
    extra.push(TorchTensor {
        name: "head.weight".into(),
        shape: vec![1],
        values: TorchValues::F32(vec![0.0]),
    });
    let error = error_of(build(Architecture::UNet, 3, 1), &save("extra.pt", &extra));
    assert!(
        error.contains("'head.weight' is not part of a UNet"),
        "{error}"
    );

    // Integers where floats belong.
    let mut integers = unet.clone();
    integers[0].values = TorchValues::I64(vec![0; integers[0].shape.iter().product()]);
    let error = error_of(build(Architecture::UNet, 3, 1), &save("ints.pt", &integers));
    assert!(
        error.contains("'conv0.0.0.weight' holds integers"),
        "{error}"
    );

    // Truncated files.
    for name in ["unet.safetensors", "unet.pt"] {
        let whole = std::fs::read(save(name, &unet)).unwrap();
        let cut = dir.path().join(format!("cut-{name}"));
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        let error = error_of(build(Architecture::UNet, 3, 1), &cut);
        assert!(error.contains(&format!("cut-{name}")), "{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
    assert!(read_state_dict(&dir.path().join("absent.pt")).is_err());
}

#[test]
fn a_failed_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = state_dict(&build(Architecture::Dimwit, 2, 1)).unwrap();
    let target = dir.path().join("no-such-folder").join("w.safetensors");
    assert!(write_state_dict(
        &tensors,
        &target,
        TorchFormat::Safetensors,
        &BTreeMap::new()
    )
    .is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

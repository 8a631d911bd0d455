//! The run file stays flat while the code reads sections: every top-level field lands in its
//! section (each set here to a value other than its default, so a swapped pair would show), the
//! sections write back the same flat file, and the defaults are the flat file's.

use std::path::Path;

use datasets::data::StreamKind;
use runs::config::{
    Activation, LossKind, LrHalving, OptimizerKind, RunConfig, Schedule, MAX_RUN_FILE_BYTES,
};
use runs::device::DeviceSpec;
use runs::network::Architecture;
use segmentation_metrics::EmptyMaskRule;

/// Every top-level field of a run file, none at its default.
const EVERY_FIELD: &str = r#"
dataset = "data"
network = "UNet"
network_base = 16
modalities = 3
classes = 4
schedule = { kind = "rebalance", step = 0.02 }
optimizer = "sgd"
learning_rate = 0.002
adam_epsilon = 1e-6
lr_halving = "original"
epochs = 7
batch_size = 5
temperature = 2.5
activation = "softmax"
metric_classes = [1, 3]
patient_regex = '(p\d+)_\d+'
resolution_regex = '(r\d+)_\d+'
empty_mask = "nan"
truth_folder = "labels"
group = true
group_train = true
balance_batches = false
save_train = true
weights = "start.bpk"
seed = 42
device = "cuda:1"
in_memory = true
debug = true
check_image_range = false
use_spacing = true
truncate_distance_maps = true
check_loss_inputs = false
recalibrate_batch_norm = true
val_every = 3

[[streams]]
folder = "img"
kind = "image_npy"

[[streams]]
folder = "labels"
kind = "one_hot"

[[losses]]
name = "GeneralizedDice"
idc = [0, 1, 2, 3]
weight = 1.0
stream = 1

[[losses]]
name = "CrossEntropy"
idc = [1, 2]
weight = 0.5
stream = 1
"#;

fn read(dir: &Path, text: &str) -> RunConfig {
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    RunConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_field_lands_in_its_section() {
    let dir = tempfile::tempdir().unwrap();
    let here = std::fs::canonicalize(dir.path()).unwrap();
    let config = read(dir.path(), EVERY_FIELD);

    let network = &config.network;
    assert_eq!(network.architecture, Architecture::UNet);
    assert_eq!(network.base, Some(16));
    assert_eq!((network.modalities, network.classes), (3, 4));
    assert_eq!(network.activation, Activation::Softmax);
    assert_eq!(network.temperature, 2.5);

    let data = &config.data;
    assert_eq!(data.dataset, here.join("data"));
    let kinds: Vec<StreamKind> = data.streams.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, [StreamKind::ImageNpy, StreamKind::OneHot]);
    assert!(data.patches.is_none());
    assert_eq!(data.batch_size, 5);
    assert!(data.group_train && !data.balance_batches && data.in_memory && data.debug);
    assert!(!data.check_image_range && data.use_spacing && data.truncate_distance_maps);

    assert_eq!(config.optimiser.kind, OptimizerKind::Sgd);
    assert_eq!(config.optimiser.learning_rate, 0.002);
    assert_eq!(config.optimiser.adam_epsilon, 1e-6);

    let kinds: Vec<LossKind> = config.losses.terms.iter().map(|t| t.kind).collect();
    assert_eq!(kinds.len(), 2);
    assert_eq!(kinds[1], LossKind::CrossEntropy);
    assert_eq!(config.losses.terms[1].idc, [1, 2]);
    assert!(!config.losses.check_inputs);

    assert_eq!(config.schedule.epochs, 7);
    assert_eq!(
        config.schedule.loss_weights,
        Schedule::Rebalance { step: 0.02 }
    );
    assert_eq!(config.schedule.lr_halving, LrHalving::Original);

    let validation = &config.validation;
    assert_eq!(validation.metric_classes, [1, 3]);
    assert_eq!(validation.patient_regex, r"(p\d+)_\d+");
    assert_eq!(validation.resolution_regex.as_deref(), Some(r"(r\d+)_\d+"));
    assert_eq!(validation.empty_mask, EmptyMaskRule::Nan);
    assert_eq!(validation.truth_folder.as_deref(), Some("labels"));
    assert!(validation.group && validation.recalibrate_batch_norm);
    assert_eq!(validation.val_every, 3);
    // Every third epoch and the last of 7: epochs 2, 5 and 6.
    let validated: Vec<usize> = (0..7).filter(|&e| config.validates(e)).collect();
    assert_eq!(validated, [2, 5, 6]);

    assert_eq!(config.run.seed, 42);
    assert_eq!(config.run.device, DeviceSpec::Cuda(1));
    assert_eq!(config.run.weights, Some(here.join("start.bpk")));
    assert!(config.run.save_train);
}

/// Written back, the sections are the same flat file: the same top-level keys, the same values
/// (paths made absolute), and read again the same run.
#[test]
fn the_sections_write_the_flat_file_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = read(dir.path(), EVERY_FIELD);
    let written = config.to_toml();
    let table: toml::Table = written.parse().unwrap();
    let original: toml::Table = EVERY_FIELD.parse().unwrap();
    let mut keys: Vec<&String> = table.keys().collect();
    let mut expected: Vec<&String> = original.keys().collect();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
    for (key, value) in &original {
        if key != "dataset" && key != "weights" {
            assert_eq!(&table[key], value, "{key}");
        }
    }
    assert!(written.len() as u64 <= MAX_RUN_FILE_BYTES);
    let copy = tempfile::tempdir().unwrap();
    assert_eq!(read(copy.path(), &written), config);
}

/// A run file naming only what is required gets the original's defaults in every section, the
/// same as `RunConfig::default()` apart from what the file names.
#[test]
fn defaults_are_the_flat_files() {
    let dir = tempfile::tempdir().unwrap();
    let minimal = r#"
dataset = "data"
network = "Dimwit"
modalities = 1
classes = 2

[[streams]]
folder = "img"
kind = "image_npy"

[[streams]]
folder = "gt"
kind = "one_hot"

[[losses]]
name = "CrossEntropy"
idc = [0, 1]
weight = 1.0
stream = 1
"#;
    let config = read(dir.path(), minimal);
    let mut expected = RunConfig::default();
    expected.network.architecture = Architecture::Dimwit;
    (expected.network.modalities, expected.network.classes) = (1, 2);
    expected.data.dataset = std::fs::canonicalize(dir.path()).unwrap().join("data");
    expected.data.streams = config.data.streams.clone();
    expected.losses.terms = config.losses.terms.clone();
    assert_eq!(config, expected);
    assert_eq!(config.schedule.epochs, 200);
    assert_eq!(config.data.batch_size, 8);
    assert_eq!(config.optimiser.learning_rate, 5e-4);
    assert_eq!(config.optimiser.adam_epsilon, 1e-8);
    assert_eq!(config.validation.empty_mask, EmptyMaskRule::AlwaysDiagonal);
    assert!(config.data.check_image_range && config.losses.check_inputs);
    assert!((0..200).all(|e| config.validates(e)));
}

//! PyTorch interchange: a network's weights as a PyTorch `state_dict` with the original's
//! module names (`conv0.0.0.weight`, `bridge.1.convs.2.running_var`, ...), written as
//! safetensors or as a `torch.save` file, and such a file read back into our network. The
//! running variance is already PyTorch's (unbiased, see [`crate::nets::BatchNorm`]), so values
//! are copied bit for bit; Burn's parameter names are translated by [`torch_name`]. A file that
//! does not fit the network (another architecture, another class count, a missing tensor) is one
//! error naming the tensor. [`export`] adds the run's description beside the weights.

pub mod export;
mod files;
mod names;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};

use crate::nets::{Architecture, Network};
use volume_io::FileError;

pub use files::{is_state_dict_file, read_state_dict, write_state_dict};
pub use names::torch_name;

/// The two files PyTorch users load: safetensors (`safetensors.torch.load_file`) and
/// `torch.save`'s zip (`torch.load`, which also reads it with `weights_only=True`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TorchFormat {
    Safetensors,
    Pt,
}

impl std::str::FromStr for TorchFormat {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "safetensors" => Ok(TorchFormat::Safetensors),
            "pt" | "pth" => Ok(TorchFormat::Pt),
            other => Err(format!("unknown format '{other}' (safetensors or pt)")),
        }
    }
}

impl TorchFormat {
    /// The format a file name asks for: `.pt` and `.pth` are `torch.save` files; anything else
    /// is safetensors.
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("pt" | "pth") => TorchFormat::Pt,
            _ => TorchFormat::Safetensors,
        }
    }
}

/// The values of one tensor of a state_dict.
#[derive(Debug, Clone, PartialEq)]
pub enum TorchValues {
    F32(Vec<f32>),
    /// `num_batches_tracked` (int64 scalars).
    I64(Vec<i64>),
}

/// One entry of a state_dict: its PyTorch name, shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: TorchValues,
}

/// A tensor as read from a file: float values (converted from any float type), or the name of a
/// type we cannot take.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadValues {
    Float(Vec<f32>),
    Int,
    Unsupported(String),
}

/// A tensor read from a state_dict file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadTensor {
    pub shape: Vec<usize>,
    pub values: ReadValues,
}

const BATCHES_TRACKED: &str = "num_batches_tracked";

/// One float tensor of a network: its Burn path, its PyTorch name, its shape, and its values
/// when they were asked for.
struct NamedTensor {
    path: String,
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// Every float tensor of `net` in module order, named for PyTorch; values are read only
/// `with_values` (checking a file's names and shapes needs none).
fn named_tensors(net: &Network, with_values: bool) -> Result<Vec<NamedTensor>, String> {
    struct Collect {
        path: Vec<String>,
        with_values: bool,
        tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            let shape = value.dims().to_vec();
            let values = if self.with_values {
                value
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            self.tensors.push((self.path.join("."), shape, values));
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        with_values,
        tensors: Vec::new(),
    };
    net.visit(&mut collect);
    let architecture = net.architecture();
    collect
        .tensors
        .into_iter()
        .map(|(path, shape, values)| {
            let name = torch_name(architecture, &path)
                .ok_or_else(|| format!("no PyTorch name for {architecture} tensor '{path}'"))?;
            Ok(NamedTensor {
                path,
                name,
                shape,
                values,
            })
        })
        .collect()
}

/// `net`'s state_dict as the original's PyTorch module would return it: every parameter and
/// running statistic under its PyTorch name, and `num_batches_tracked` (0: Burn does not count
/// batches; PyTorch reads it only with `momentum=None`, which no network of the original uses)
/// after each batch normalisation's running variance.
pub fn state_dict(net: &Network) -> Result<Vec<TorchTensor>, String> {
    let mut entries = Vec::new();
    for NamedTensor {
        name,
        shape,
        values,
        ..
    } in named_tensors(net, true)?
    {
        let batch_norm = name
            .strip_suffix(".running_var")
            .map(|prefix| format!("{prefix}.{BATCHES_TRACKED}"));
        entries.push(TorchTensor {
            name,
            shape,
            values: TorchValues::F32(values),
        });
        if let Some(name) = batch_norm {
            entries.push(TorchTensor {
                name,
                shape: Vec::new(),
                values: TorchValues::I64(vec![0]),
            });
        }
    }
    Ok(entries)
}

/// Checks `tensors` (read from `file`) against `net`: every expected name present with its
/// shape and a float type, nothing else but `num_batches_tracked`. The first problem is the
/// error, naming the tensor.
fn check_fit(
    net: &Network,
    table: &[NamedTensor],
    tensors: &BTreeMap<String, ReadTensor>,
) -> Result<(), String> {
    let network = net.architecture();
    let expected: HashMap<&str, &[usize]> = table
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice()))
        .collect();
    if !table.iter().any(|t| tensors.contains_key(&t.name)) {
        return Err(format!(
            "none of the {} tensors of a {network} state_dict is in it (first expected: '{}'); \
             a whole pickled module (the original's best.pkl) must be saved as its state_dict \
             first (see docs/pytorch.md)",
            table.len(),
            table.first().map_or("", |t| t.name.as_str())
        ));
    }
    for NamedTensor { name, shape, .. } in table {
        let Some(tensor) = tensors.get(name) else {
            return Err(format!(
                "tensor '{name}' (shape {shape:?}) is missing: not a {network} state_dict of \
                 these sizes?"
            ));
        };
        if tensor.shape != *shape {
            return Err(format!(
                "tensor '{name}' has shape {:?}, the run's {network} needs {shape:?} (another \
                 class count, modality count or base width?)",
                tensor.shape
            ));
        }
        match &tensor.values {
            ReadValues::Float(_) => {}
            ReadValues::Int => return Err(format!("tensor '{name}' holds integers, not floats")),
            ReadValues::Unsupported(dtype) => {
                return Err(format!(
                    "tensor '{name}' has type {dtype}, not a float type"
                ))
            }
        }
    }
    let unexpected = tensors.keys().find(|name| {
        !expected.contains_key(name.as_str()) && !name.ends_with(&format!(".{BATCHES_TRACKED}"))
    });
    if let Some(name) = unexpected {
        return Err(format!(
            "tensor '{name}' is not part of a {network}: another architecture?"
        ));
    }
    Ok(())
}

/// `net` with the weights of the state_dict `tensors` (read from `file`), which must fit it
/// exactly (see [`check_fit`]).
pub fn apply_state_dict(
    net: Network,
    tensors: BTreeMap<String, ReadTensor>,
    file: &Path,
) -> Result<Network, FileError> {
    let table = named_tensors(&net, false).map_err(|e| FileError::new(file, e))?;
    check_fit(&net, &table, &tensors).map_err(|e| FileError::new(file, e))?;
    let mut by_path: HashMap<String, (Vec<usize>, Vec<f32>)> = HashMap::new();
    let mut tensors = tensors;
    for NamedTensor {
        path, name, shape, ..
    } in table
    {
        if let Some(ReadTensor {
            values: ReadValues::Float(values),
            ..
        }) = tensors.remove(&name)
        {
            by_path.insert(path, (shape, values));
        }
    }
    struct Assign {
        path: Vec<String>,
        values: HashMap<String, (Vec<usize>, Vec<f32>)>,
    }
    impl ModuleMapper for Assign {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            match self.values.remove(&self.path.join(".")) {
                Some((shape, values)) => {
                    let device = param.val().device();
                    let tensor = Tensor::<D>::from_data(TensorData::new(values, shape), &device);
                    let id = param.id;
                    param.transform_for_load(tensor, id)
                }
                None => param,
            }
        }
    }
    let mut assign = Assign {
        path: Vec::new(),
        values: by_path,
    };
    Ok(net.map(&mut assign))
}

/// `net` with the weights of the state_dict file at `path` (safetensors or `torch.save`).
pub fn load_state_dict(net: Network, path: &Path) -> Result<Network, FileError> {
    let tensors = read_state_dict(path)?;
    apply_state_dict(net, tensors, path)
}

/// The original's class name and constructor arguments of `architecture` (`networks.py`):
/// `Dummy(in_dim, out_dim)`, `UNet(in_dim, out_dim, nG)`, `UNet3D(nin, nout, nG)`, ...
pub fn constructor(
    architecture: Architecture,
    modalities: usize,
    outputs: usize,
    base: Option<usize>,
) -> (&'static str, BTreeMap<&'static str, usize>) {
    let (input, output) = match architecture {
        Architecture::UNet3D => ("nin", "nout"),
        _ => ("in_dim", "out_dim"),
    };
    let mut arguments = BTreeMap::from([(input, modalities), (output, outputs)]);
    if matches!(architecture, Architecture::UNet | Architecture::UNet3D) {
        arguments.insert("nG", base.unwrap_or(crate::nets::UNet::DEFAULT_BASE));
    }
    (architecture.name(), arguments)
}

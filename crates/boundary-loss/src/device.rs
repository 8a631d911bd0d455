//! Which device (backend) tensors live on, chosen by a string such as `cpu`, `vulkan:0`,
//! `wgpu:0` or `cuda:0`. Only the backends compiled in (Cargo features) are accepted.

use burn::tensor::Device;

/// A device string the binary was not built for, or cannot parse.
#[derive(Debug, thiserror::Error)]
#[error("device '{given}': {reason}")]
pub struct DeviceError {
    pub given: String,
    pub reason: String,
}

/// The backends compiled into this build, for messages.
pub fn available() -> Vec<&'static str> {
    let mut names = Vec::new();
    if cfg!(feature = "flex") {
        names.push("cpu");
    }
    if cfg!(feature = "wgpu") {
        names.push("wgpu:N");
    }
    if cfg!(feature = "vulkan") {
        names.push("vulkan:N");
    }
    if cfg!(feature = "cuda") {
        names.push("cuda:N");
    }
    names
}

/// A device as written in run files and on the command line: `cpu`, `wgpu[:N]`, `vulkan[:N]` or
/// `cuda[:N]`. Parsing accepts every backend; [`DeviceSpec::device`] refuses the ones this build
/// lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Wgpu(usize),
    Vulkan(usize),
    Cuda(usize),
}

impl std::str::FromStr for DeviceSpec {
    type Err = DeviceError;
    fn from_str(given: &str) -> Result<Self, DeviceError> {
        let error = |reason: String| DeviceError {
            given: given.to_string(),
            reason,
        };
        let (name, index) = match given.split_once(':') {
            Some((name, index)) => {
                let index: usize = index
                    .parse()
                    .map_err(|_| error(format!("'{index}' is not a device index")))?;
                (name, index)
            }
            None => (given, 0),
        };
        match name {
            "cpu" | "flex" => Ok(DeviceSpec::Cpu),
            "wgpu" => Ok(DeviceSpec::Wgpu(index)),
            "vulkan" => Ok(DeviceSpec::Vulkan(index)),
            "cuda" => Ok(DeviceSpec::Cuda(index)),
            other => Err(error(format!(
                "unknown backend '{other}' (cpu, wgpu:N, vulkan:N, cuda:N; built: {})",
                available().join(", ")
            ))),
        }
    }
}

impl TryFrom<String> for DeviceSpec {
    type Error = DeviceError;
    fn try_from(given: String) -> Result<Self, DeviceError> {
        given.parse()
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Cpu => f.write_str("cpu"),
            DeviceSpec::Wgpu(i) => write!(f, "wgpu:{i}"),
            DeviceSpec::Vulkan(i) => write!(f, "vulkan:{i}"),
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl From<DeviceSpec> for String {
    fn from(spec: DeviceSpec) -> String {
        spec.to_string()
    }
}

impl DeviceSpec {
    /// The device, if this build has its backend.
    pub fn device(self) -> Result<Device, DeviceError> {
        let not_built = |feature: &str| DeviceError {
            given: self.to_string(),
            reason: format!(
                "this binary was built without the '{feature}' feature (available: {})",
                available().join(", ")
            ),
        };
        match self {
            DeviceSpec::Cpu => {
                #[cfg(feature = "flex")]
                return Ok(Device::flex());
                #[cfg(not(feature = "flex"))]
                Err(not_built("flex"))
            }
            DeviceSpec::Wgpu(_index) => {
                #[cfg(feature = "wgpu")]
                return Ok(Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(_index)));
                #[cfg(not(feature = "wgpu"))]
                Err(not_built("wgpu"))
            }
            DeviceSpec::Vulkan(_index) => {
                #[cfg(feature = "vulkan")]
                return Ok(Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(
                    _index,
                )));
                #[cfg(not(feature = "vulkan"))]
                Err(not_built("vulkan"))
            }
            DeviceSpec::Cuda(_index) => {
                #[cfg(feature = "cuda")]
                return Ok(Device::cuda(_index));
                #[cfg(not(feature = "cuda"))]
                Err(not_built("cuda"))
            }
        }
    }
}

/// Parses `cpu`, `wgpu[:N]`, `vulkan[:N]` or `cuda[:N]` into a device of a compiled-in backend.
pub fn parse(given: &str) -> Result<Device, DeviceError> {
    given.parse::<DeviceSpec>()?.device()
}

//! Devices as run files and the command line name them (`cpu`, `cuda:0`, ...). Turning a name
//! into a Burn device, and refusing backends a build lacks, is `boundary-loss`'s `device` module.

/// A device string the binary was not built for, or cannot parse.
#[derive(Debug, thiserror::Error)]
#[error("device '{given}': {reason}")]
pub struct DeviceError {
    pub given: String,
    pub reason: String,
}

/// A device as written in run files and on the command line: `cpu`, `wgpu[:N]`, `vulkan[:N]` or
/// `cuda[:N]`. Parsing accepts every backend; `boundary-loss` (`device::ToDevice`) refuses the ones a
/// build lacks.
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
                "unknown backend '{other}' (cpu, wgpu:N, vulkan:N, cuda:N)"
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

//! Which device (backend) tensors live on, chosen by a string such as `cpu`, `vulkan:0`,
//! `wgpu:0` or `cuda:0`. Only the backends compiled in (Cargo features) are accepted.

use burn::tensor::Device;
pub use runs::device::{DeviceError, DeviceSpec};

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

/// A [`DeviceSpec`] (a name, in the Burn-free `runs` crate) as a device of this build.
pub trait ToDevice {
    /// The device, if this build has its backend.
    fn device(self) -> Result<Device, DeviceError>;
}

impl ToDevice for DeviceSpec {
    fn device(self) -> Result<Device, DeviceError> {
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

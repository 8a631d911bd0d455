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

/// Parses `cpu`, `wgpu[:N]`, `vulkan[:N]` or `cuda[:N]` into a device of a compiled-in backend.
pub fn parse(given: &str) -> Result<Device, DeviceError> {
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
    let not_built = |feature: &str| {
        error(format!(
            "this binary was built without the '{feature}' feature (available: {})",
            available().join(", ")
        ))
    };
    match name {
        "cpu" | "flex" => {
            #[cfg(feature = "flex")]
            {
                let _ = index;
                Ok(Device::flex())
            }
            #[cfg(not(feature = "flex"))]
            Err(not_built("flex"))
        }
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            {
                Ok(Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index)))
            }
            #[cfg(not(feature = "wgpu"))]
            Err(not_built("wgpu"))
        }
        "vulkan" => {
            #[cfg(feature = "vulkan")]
            {
                Ok(Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(index)))
            }
            #[cfg(not(feature = "vulkan"))]
            Err(not_built("vulkan"))
        }
        "cuda" => {
            #[cfg(feature = "cuda")]
            {
                Ok(Device::cuda(index))
            }
            #[cfg(not(feature = "cuda"))]
            Err(not_built("cuda"))
        }
        other => Err(error(format!(
            "unknown backend '{other}' (available: {})",
            available().join(", ")
        ))),
    }
}

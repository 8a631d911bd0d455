//! The original's network names (its `--network` option) and what a name says about its input:
//! spatial rank, side multiple, channels. Building a network is `boundary-loss`'s
//! (`nets::BuildNetwork`); this is what run files, reports and exports need without Burn.

/// A network name of the original's `--network` option; in run files and on the command line as
/// that name (`"UNet"`, `"ENet"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Architecture {
    Dimwit,
    Dimwit3D,
    UNet,
    UNet3D,
    ENet,
    ResidualUNet,
}

/// Wrong network name, wrong input, or a configuration the network cannot take.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetError {
    #[error("unknown network '{0}' (known: Dimwit, Dummy, Dimwit3D, Dummy3D, UNet, UNet3D, ENet, ResidualUNet)")]
    Unknown(String),
    #[error("{network} takes {expected} input channels (modalities), got {got}")]
    Channels {
        network: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{network} needs a rank-{expected} input (B, C, {axes}), got shape {got:?}")]
    Rank {
        network: &'static str,
        expected: usize,
        axes: &'static str,
        got: Vec<usize>,
    },
    #[error("{network} needs spatial sides divisible by {multiple}, got {got:?}")]
    Sides {
        network: &'static str,
        multiple: usize,
        got: Vec<usize>,
    },
    #[error(
        "{network}: a base width of {base} is not supported (UNet and UNet3D only, at least 1)"
    )]
    Base { network: &'static str, base: usize },
    #[error("{network} supports 1 to {max} modalities, got {got}")]
    Modalities {
        network: &'static str,
        max: usize,
        got: usize,
    },
}

impl std::str::FromStr for Architecture {
    type Err = NetError;
    fn from_str(name: &str) -> Result<Self, NetError> {
        Architecture::parse(name)
    }
}

impl TryFrom<String> for Architecture {
    type Error = NetError;
    fn try_from(name: String) -> Result<Self, NetError> {
        Architecture::parse(&name)
    }
}

impl From<Architecture> for String {
    fn from(architecture: Architecture) -> String {
        architecture.name().to_string()
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Architecture {
    pub const ALL: [Architecture; 6] = [
        Architecture::Dimwit,
        Architecture::Dimwit3D,
        Architecture::UNet,
        Architecture::UNet3D,
        Architecture::ENet,
        Architecture::ResidualUNet,
    ];

    /// Parses the original's names (`Dummy` and `Dummy3D` are aliases of the Dimwits).
    pub fn parse(name: &str) -> Result<Self, NetError> {
        Ok(match name {
            "Dimwit" | "Dummy" => Architecture::Dimwit,
            "Dimwit3D" | "Dummy3D" => Architecture::Dimwit3D,
            "UNet" => Architecture::UNet,
            "UNet3D" => Architecture::UNet3D,
            "ENet" => Architecture::ENet,
            "ResidualUNet" => Architecture::ResidualUNet,
            other => return Err(NetError::Unknown(other.to_string())),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Architecture::Dimwit => "Dimwit",
            Architecture::Dimwit3D => "Dimwit3D",
            Architecture::UNet => "UNet",
            Architecture::UNet3D => "UNet3D",
            Architecture::ENet => "ENet",
            Architecture::ResidualUNet => "ResidualUNet",
        }
    }

    /// 2 or 3 spatial axes.
    pub fn spatial_rank(self) -> usize {
        match self {
            Architecture::Dimwit3D | Architecture::UNet3D => 3,
            _ => 2,
        }
    }

    /// What every spatial side must be a multiple of.
    pub fn side_multiple(self) -> usize {
        match self {
            Architecture::Dimwit | Architecture::Dimwit3D => 2,
            Architecture::UNet | Architecture::UNet3D | Architecture::ENet => 8,
            Architecture::ResidualUNet => 16,
        }
    }

    /// Checks an input shape `(B, C, *spatial)` against this network built for `modalities`.
    pub fn check_input(self, modalities: usize, shape: &[usize]) -> Result<(), NetError> {
        let network = self.name();
        let rank = self.spatial_rank() + 2;
        if shape.len() != rank {
            let axes = if rank == 4 { "H, W" } else { "D, H, W" };
            return Err(NetError::Rank {
                network,
                expected: rank,
                axes,
                got: shape.to_vec(),
            });
        }
        if shape[1] != modalities {
            return Err(NetError::Channels {
                network,
                expected: modalities,
                got: shape[1],
            });
        }
        let multiple = self.side_multiple();
        if shape[2..].iter().any(|&s| s == 0 || s % multiple != 0) {
            return Err(NetError::Sides {
                network,
                multiple,
                got: shape[2..].to_vec(),
            });
        }
        Ok(())
    }
}

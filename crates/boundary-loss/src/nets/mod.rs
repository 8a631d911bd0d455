//! The original's networks, layer for layer and parameter for parameter: [`UNet`], [`ENet`],
//! [`ResidualUNet`], [`Dimwit`] (2-D) and [`UNet3D`], [`Dimwit3D`] (3-D). All return logits; the
//! trainer applies the softmax. [`Architecture`] names them (as the original's `--network`) and
//! checks input sizes, so a wrong side is a clear error and not a shape panic deep in a layer.

mod batch_norm;
mod blocks;
mod dimwit;
mod enet;
mod residual_unet;
mod unet;

pub use batch_norm::BatchNorm;
pub use blocks::Init;
pub use dimwit::{Dimwit, Dimwit3D};
pub use enet::ENet;
pub use residual_unet::ResidualUNet;
pub use unet::{UNet, UNet3D};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

pub use runs::network::{Architecture, NetError};

/// Builds an [`Architecture`] (a name, in the Burn-free `runs` crate) as a Burn network.
pub trait BuildNetwork: Sized {
    /// Builds the network with the original's initialisation.
    fn build(
        self,
        modalities: usize,
        classes: usize,
        device: &Device,
    ) -> Result<Network, NetError> {
        self.build_with_base(modalities, classes, None, device)
    }

    /// [`build`](Self::build) with UNet's base width (`nG`, 64 by default); other networks have
    /// no such parameter.
    fn build_with_base(
        self,
        modalities: usize,
        classes: usize,
        base: Option<usize>,
        device: &Device,
    ) -> Result<Network, NetError>;
}

impl BuildNetwork for Architecture {
    fn build_with_base(
        self,
        modalities: usize,
        classes: usize,
        base: Option<usize>,
        device: &Device,
    ) -> Result<Network, NetError> {
        if let Some(base) = base {
            return match self {
                Architecture::UNet if base > 0 => Ok(Network::UNet(UNet::with_base(
                    modalities, classes, base, device,
                ))),
                Architecture::UNet3D if base > 0 => Ok(Network::UNet3D(UNet3D::with_base(
                    modalities, classes, base, device,
                ))),
                _ => Err(NetError::Base {
                    network: self.name(),
                    base,
                }),
            };
        }
        let net = match self {
            Architecture::Dimwit => Network::Dimwit(Dimwit::new(modalities, classes, device)),
            Architecture::Dimwit3D => Network::Dimwit3D(Dimwit3D::new(modalities, classes, device)),
            Architecture::UNet => Network::UNet(UNet::new(modalities, classes, device)),
            Architecture::UNet3D => Network::UNet3D(UNet3D::new(modalities, classes, device)),
            Architecture::ENet => Network::ENet(ENet::new(modalities, classes, device)?),
            Architecture::ResidualUNet => {
                Network::ResidualUNet(ResidualUNet::new(modalities, classes, device))
            }
        };
        Ok(net)
    }
}

/// Burn-style configuration of a network, for code that builds networks the Burn way:
/// `NetworkConfig::new(Architecture::UNet, modalities, classes).with_base(Some(8)).init(&device)`.
#[derive(burn::config::Config, Debug)]
pub struct NetworkConfig {
    pub architecture: Architecture,
    /// Input channels.
    pub modalities: usize,
    /// Output classes (logits).
    pub classes: usize,
    /// UNet's base width (the original's `nG`, 64 when none).
    pub base: Option<usize>,
}

impl NetworkConfig {
    /// The network with the original's initialisation (see [`Architecture::build_with_base`]).
    pub fn init(&self, device: &Device) -> Result<Network, NetError> {
        self.architecture
            .build_with_base(self.modalities, self.classes, self.base, device)
    }
}

/// A built network of any architecture. (Built once per run, so the size difference between
/// variants does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    Dimwit(Dimwit),
    Dimwit3D(Dimwit3D),
    UNet(UNet),
    UNet3D(UNet3D),
    ENet(ENet),
    ResidualUNet(ResidualUNet),
}

impl Network {
    /// Every float parameter and running statistic, flattened in module order: what two weight
    /// files are compared by (their bytes also hold random parameter ids).
    pub fn parameter_values(&self) -> Vec<f32> {
        struct Collect(Vec<f32>);
        impl burn::module::ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                self.0.extend(
                    param
                        .val()
                        .into_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .unwrap_or_default(),
                );
            }
        }
        let mut collect = Collect(Vec::new());
        self.visit(&mut collect);
        collect.0
    }

    /// The input channels (modalities) the network was built for: those of its first
    /// convolution, the first weight of rank 4 or 5 in module order (`(out, in, *kernel)`).
    pub fn modalities(&self) -> usize {
        struct FirstConv(Option<usize>);
        impl burn::module::ModuleVisitor for FirstConv {
            fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
                if self.0.is_none() && D >= 4 {
                    self.0 = Some(param.val().dims()[1]);
                }
            }
        }
        let mut first = FirstConv(None);
        self.visit(&mut first);
        first.0.expect("every network starts with a convolution")
    }

    pub fn architecture(&self) -> Architecture {
        match self {
            Network::Dimwit(_) => Architecture::Dimwit,
            Network::Dimwit3D(_) => Architecture::Dimwit3D,
            Network::UNet(_) => Architecture::UNet,
            Network::UNet3D(_) => Architecture::UNet3D,
            Network::ENet(_) => Architecture::ENet,
            Network::ResidualUNet(_) => Architecture::ResidualUNet,
        }
    }

    /// Trainable parameters of each top-level block, in forward order.
    pub fn blocks(&self) -> Vec<(&'static str, usize)> {
        match self {
            Network::Dimwit(n) => n.blocks(),
            Network::Dimwit3D(n) => n.blocks(),
            Network::UNet(n) => n.blocks(),
            Network::UNet3D(n) => n.blocks(),
            Network::ENet(n) => n.blocks(),
            Network::ResidualUNet(n) => n.blocks(),
        }
    }

    /// Logits of a 2-D batch `(B, C, H, W)`; a 3-D network or a bad shape is an error.
    pub fn forward_2d(&self, x: Tensor<4>) -> Result<Tensor<4>, NetError> {
        self.architecture()
            .check_input(self.modalities(), &x.dims())?;
        Ok(match self {
            Network::Dimwit(n) => n.forward(x),
            Network::UNet(n) => n.forward(x),
            Network::ENet(n) => n.forward(x),
            Network::ResidualUNet(n) => n.forward(x),
            Network::Dimwit3D(_) | Network::UNet3D(_) => unreachable!("rank checked above"),
        })
    }

    /// Logits of a batch given as an array `(B, C, *spatial)` of the network's rank, on
    /// `device`, as an array of the same layout: what compares a network with another
    /// framework's (`boundary-loss network --input`).
    pub fn logits_of(
        &self,
        input: ndarray::ArrayViewD<f32>,
        device: &Device,
    ) -> Result<ndarray::ArrayD<f32>, NetError> {
        let shape = input.shape().to_vec();
        self.architecture().check_input(self.modalities(), &shape)?;
        let values: Vec<f32> = input.iter().copied().collect();
        let (out_shape, out) = if shape.len() == 4 {
            let x = Tensor::<4>::from_data(TensorData::new(values, shape), device);
            let y = self.forward_2d(x)?;
            (y.dims().to_vec(), y.into_data())
        } else {
            let x = Tensor::<5>::from_data(TensorData::new(values, shape), device);
            let y = self.forward_3d(x)?;
            (y.dims().to_vec(), y.into_data())
        };
        let out = out
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        Ok(ndarray::ArrayD::from_shape_vec(out_shape, out).expect("the logits fill their shape"))
    }

    /// Logits of a 3-D batch `(B, C, D, H, W)`.
    pub fn forward_3d(&self, x: Tensor<5>) -> Result<Tensor<5>, NetError> {
        self.architecture()
            .check_input(self.modalities(), &x.dims())?;
        Ok(match self {
            Network::Dimwit3D(n) => n.forward(x),
            Network::UNet3D(n) => n.forward(x),
            _ => unreachable!("rank checked above"),
        })
    }
}

/// Trainable parameters of a module, as PyTorch counts them: Burn's `num_params` also counts
/// the running mean and variance of batch normalisation, which are statistics, not parameters.
pub fn trainable_parameters<M: Module>(module: &M) -> usize {
    #[derive(Default)]
    struct Counter {
        path: Vec<String>,
        count: usize,
    }
    impl burn::module::ModuleVisitor for Counter {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let statistic = matches!(
                self.path.last().map(String::as_str),
                Some("running_mean" | "running_var")
            );
            if !statistic {
                self.count += param.lazy_shape().num_elements();
            }
        }
    }
    let mut counter = Counter::default();
    module.visit(&mut counter);
    counter.count
}

/// [`trainable_parameters`] as a method of every module.
pub trait TrainableParams {
    fn trainable_params(&self) -> usize;
}

impl<M: Module> TrainableParams for M {
    fn trainable_params(&self) -> usize {
        trainable_parameters(self)
    }
}

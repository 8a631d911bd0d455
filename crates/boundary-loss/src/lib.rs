//! The boundary loss and its baselines on Burn: losses, networks, data, training, evaluation.
//!
//! This crate owns everything that touches the deep-learning framework: tensors, networks,
//! losses, the training loop, weights files, inference. What needs no framework lives in
//! crates of its own, re-exported here at the same paths: data sets ([`data`], [`volumes`]:
//! the `datasets` crate), the run file, run folder and evaluation (`runs`: [`train::config`],
//! [`eval`]), the metric definitions (`segmentation-metrics`), distance maps (`distmap`) and
//! file formats (`volume-io`); the command line lives in the `boundary-loss` binary. Losses take
//! softmax probabilities of shape `(B, K, *spatial)` (any spatial rank) and return a one-element
//! tensor; networks return logits. Data flows one way: files -> [`data`] -> batches ->
//! [`nets`] -> [`losses`] -> [`train`] (run folder) -> [`eval`]; [`pytorch`] carries a trained
//! network to PyTorch and back.
//!
//! A network's probabilities and the boundary loss against the signed distance maps of a label
//! map (what one training step computes):
//!
//! ```
//! use boundary_loss::losses::{BoundaryLoss, Loss};
//! use boundary_loss::nets::{Architecture, NetworkConfig};
//! use boundary_loss::train::{step::probabilities, Activation};
//! use burn::tensor::{Device, Tensor, TensorData};
//! use distmap::{distance_maps, MapOptions};
//!
//! let device = Device::flex();
//! let net = NetworkConfig::new(Architecture::Dimwit, 1, 2).init(&device).unwrap();
//! let image = Tensor::<4>::zeros([1, 1, 8, 8], &device);
//! let logits = net.forward_2d(image).unwrap();
//! let probs = probabilities(logits, Activation::Softmax, 1.0); // (1, 2, 8, 8)
//!
//! let mut labels = ndarray::ArrayD::<u8>::zeros(ndarray::IxDyn(&[8, 8]));
//! labels[[3, 4]] = 1;
//! let maps = distance_maps::<u8, f32>(labels.view(), 2, &[1.0, 1.0], &MapOptions::default())
//!     .unwrap();
//! let phi = Tensor::<4>::from_data(TensorData::new(maps.into_raw_vec_and_offset().0, [1, 2, 8, 8]), &device);
//! let loss = BoundaryLoss::new(vec![1]).loss(probs, phi).unwrap();
//! assert!(loss.into_scalar::<f32>().is_finite());
//! ```

pub mod device;
pub mod infer;
pub mod losses;
pub mod memory;
pub mod nets;
pub mod pytorch;
pub mod train;

// The Burn-free parts, at the paths they had when they lived here.
pub use datasets::{data, volumes};
pub use runs::eval;

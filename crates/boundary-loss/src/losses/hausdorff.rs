use burn::tensor::{Tensor, TensorData};
use distmap::{distance_maps_from_one_hot, MapKind, MapOptions};
use rayon::prelude::*;

use super::{argmax_classes, supervised, validate, LossError, SecondInput};

/// The Hausdorff-distance loss of Karimi & Salcudean (the original's `HausdorffLoss`): mean of
/// `(p - t)^2 (dt_t^2 + dt_p^2)`, where `dt_t` and `dt_p` are the Hausdorff-variant distance maps
/// (distance to the outside, inside each class) of the target and of the current hard prediction
/// (arg-max over all classes), recomputed at every call on the CPU with the `distmap` crate. The
/// maps are constants for the gradient.
#[derive(Debug, Clone)]
pub struct HausdorffLoss {
    pub idc: Vec<usize>,
    pub checks: bool,
    /// Spacing per spatial axis [default: 1 each, as the original].
    pub spacing: Option<Vec<f64>>,
    /// Truncate the prediction's map toward zero, as the original does (it builds it from an
    /// int32 one-hot). Off by default: the map is exact.
    pub truncate_prediction_map: bool,
}

impl HausdorffLoss {
    pub fn new(idc: Vec<usize>) -> Self {
        HausdorffLoss {
            idc,
            checks: true,
            spacing: None,
            truncate_prediction_map: false,
        }
    }

    pub fn forward<const D: usize>(
        &self,
        probs: Tensor<D>,
        target: Tensor<D>,
    ) -> Result<Tensor<1>, LossError> {
        validate(
            "HausdorffLoss",
            &self.idc,
            &probs,
            &target,
            SecondInput::OneHot,
            self.checks,
        )?;
        let dims = probs.dims();
        let spatial = dims[2..].to_vec();
        let spacing = self
            .spacing
            .clone()
            .unwrap_or_else(|| vec![1.0; spatial.len()]);
        if spacing.len() != spatial.len() {
            return Err(LossError::new(
                "HausdorffLoss",
                format!(
                    "{} spacing values for {} spatial axes",
                    spacing.len(),
                    spatial.len()
                ),
            ));
        }
        let device = probs.device();
        let (batch, classes, pixels) = (dims[0], dims[1], spatial.iter().product::<usize>());

        let probs_host = host_values(probs.clone());
        let target_host = host_values(target.clone());
        // Per batch element: the supervised channels of the target and of the arg-max one-hot.
        let maps = |masks: Vec<u8>, truncate: bool| -> Result<Vec<f32>, LossError> {
            let mut shape = vec![self.idc.len()];
            shape.extend(&spatial);
            let one_hot = burn_free_array(&shape, masks);
            let options = MapOptions {
                kind: MapKind::Hausdorff,
                truncate,
                ..MapOptions::default()
            };
            let maps = distance_maps_from_one_hot::<f32>(one_hot.view(), &spacing, &options)
                .map_err(|e| LossError::new("HausdorffLoss", e.to_string()))?;
            Ok(maps.into_raw_vec_and_offset().0)
        };
        let per_sample: Vec<(Vec<f32>, Vec<f32>)> = (0..batch)
            .into_par_iter()
            .map(|b| {
                let sample_size = classes * pixels;
                let probs_b = &probs_host[b * sample_size..(b + 1) * sample_size];
                let target_b = &target_host[b * sample_size..(b + 1) * sample_size];
                let target_masks: Vec<u8> = self
                    .idc
                    .iter()
                    .flat_map(|&k| {
                        target_b[k * pixels..(k + 1) * pixels]
                            .iter()
                            .map(|&v| u8::from(v > 0.5))
                    })
                    .collect();
                let winners = argmax_classes(probs_b, classes, pixels);
                let prediction_masks: Vec<u8> = self
                    .idc
                    .iter()
                    .flat_map(|&k| winners.iter().map(move |&w| u8::from(w as usize == k)))
                    .collect();
                Ok((
                    maps(target_masks, false)?,
                    maps(prediction_masks, self.truncate_prediction_map)?,
                ))
            })
            .collect::<Result<_, LossError>>()?;
        let (target_maps, prediction_maps): (Vec<Vec<f32>>, Vec<Vec<f32>>) =
            per_sample.into_iter().unzip();
        let shape = [batch, self.idc.len(), pixels];
        let to_tensor = |values: Vec<Vec<f32>>| {
            Tensor::<3>::from_data(TensorData::new(values.concat(), shape), &device)
        };
        let target_dt = to_tensor(target_maps);
        let prediction_dt = to_tensor(prediction_maps);
        let pc = supervised(probs, &self.idc);
        let tc = supervised(target, &self.idc);
        let delta = pc.sub(tc).powi_scalar(2);
        let weight = target_dt.powi_scalar(2).add(prediction_dt.powi_scalar(2));
        Ok(delta.mul(weight).mean())
    }
}

/// Values of a tensor, row-major, as f32 on the host.
fn host_values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .detach()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data after conversion")
}

fn burn_free_array(shape: &[usize], values: Vec<u8>) -> ndarray::ArrayD<u8> {
    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), values).expect("shape matches")
}

//! Repeat a tensor along a dimension.

use alloc::vec::Vec;
use burn_std::Shape;

use crate::{FlexTensor, Layout};

/// Repeat `tensor` along `dim` by `times`.
pub fn repeat_dim(tensor: FlexTensor, dim: usize, times: usize) -> FlexTensor {
    if times == 1 {
        return tensor;
    }

    let ndims = tensor.layout().num_dims();
    assert!(
        dim < ndims,
        "repeat_dim: dim {} out of bounds for tensor with {} dimensions",
        dim,
        ndims
    );

    let tensor = tensor.to_contiguous();
    let shape = tensor.layout().shape().clone();
    let dtype = tensor.dtype();
    let elem_size = crate::tensor::dtype_size(dtype);

    let mut new_dims: Vec<usize> = shape.iter().cloned().collect();
    new_dims[dim] *= times;
    let new_shape = Shape::from(new_dims);

    let src: &[u8] = tensor.bytes();
    let inner: usize = shape.iter().skip(dim + 1).product();
    let dim_size = shape[dim];
    let chunk_bytes = dim_size * inner * elem_size;

    // boundary-loss patch: written in parallel into an allocation with the element's alignment;
    // was a serial byte copy into a `Vec<u8>` that `Bytes::from_bytes_vec` copied once more.
    let mut bytes = crate::tensor::zeroed_bytes(new_shape.num_elements(), elem_size);
    if chunk_bytes > 0 {
        let repeat = |(dst, src): (&mut [u8], &[u8])| {
            for copy in dst.chunks_exact_mut(chunk_bytes) {
                copy.copy_from_slice(src);
            }
        };
        let dst: &mut [u8] = &mut bytes;
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            let per_task = (256 * 1024 / (chunk_bytes * times)).max(1);
            dst.par_chunks_mut(chunk_bytes * times)
                .zip(src.par_chunks(chunk_bytes))
                .with_min_len(per_task)
                .for_each(repeat);
        }
        #[cfg(not(feature = "rayon"))]
        dst.chunks_mut(chunk_bytes * times)
            .zip(src.chunks(chunk_bytes))
            .for_each(repeat);
    }

    FlexTensor::new(bytes, Layout::contiguous(new_shape), dtype)
}

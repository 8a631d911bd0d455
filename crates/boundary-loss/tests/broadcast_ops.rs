//! Broadcast element-wise operations on the CPU backend, large enough to be split between
//! threads by the flex patch (`zip_map`, `zip_apply_inplace`): every element against the same
//! operation applied element by element to the broadcast indices, bit for bit. Each shape pair
//! runs with the left operand reusable in place, shared (a fresh output), as a permuted view,
//! and with the broadcast operand on the left.

use burn::tensor::{Device, Tensor, TensorData};

fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len as u32)
        .map(|i| {
            let h =
                (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)).wrapping_mul(2246822519);
            (h >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0 + 1.5
        })
        .collect()
}

/// Row-major index into `shape` of the multi-index of element `i` of `full`, broadcasting
/// size-1 axes.
fn broadcast_index(full: &[usize], shape: &[usize], mut i: usize) -> usize {
    let mut index = 0;
    let mut stride = 1;
    for axis in (0..full.len()).rev() {
        let coordinate = i % full[axis];
        i /= full[axis];
        if shape[axis] != 1 {
            index += coordinate * stride;
        }
        stride *= shape[axis];
    }
    index
}

fn check(full: [usize; 4], small: [usize; 4]) {
    let device = Device::flex();
    let len: usize = full.iter().product();
    let (a, b) = (values(len, 1), values(small.iter().product(), 2));
    let tensor = |v: &[f32], shape: [usize; 4]| {
        Tensor::<4>::from_data(TensorData::new(v.to_vec(), shape), &device)
    };
    type Op = (&'static str, fn(f32, f32) -> f32);
    let ops: [Op; 4] = [
        ("add", |x, y| x + y),
        ("sub", |x, y| x - y),
        ("mul", |x, y| x * y),
        ("div", |x, y| x / y),
    ];
    for (name, op) in ops {
        let expected: Vec<f32> = (0..len)
            .map(|i| op(a[i], b[broadcast_index(&full, &small, i)]))
            .collect();
        let flipped: Vec<f32> = (0..len)
            .map(|i| op(b[broadcast_index(&full, &small, i)], a[i]))
            .collect();
        let apply = |x: Tensor<4>, y: Tensor<4>| match name {
            "add" => x + y,
            "sub" => x - y,
            "mul" => x * y,
            _ => x / y,
        };
        let read = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
        // Left operand uniquely owned: written in place.
        let in_place = read(apply(tensor(&a, full), tensor(&b, small)));
        assert!(
            in_place == expected,
            "{name} in place, {full:?} by {small:?}"
        );
        // Left operand shared: a fresh output.
        let shared = tensor(&a, full);
        let fresh = read(apply(shared.clone(), tensor(&b, small)));
        assert!(
            fresh == expected,
            "{name} into a new tensor, {full:?} by {small:?}"
        );
        drop(shared);
        // Broadcast operand on the left, the full one reused in place.
        let right = read(apply(tensor(&b, small), tensor(&a, full)));
        assert!(
            right == flipped,
            "{name} with the broadcast operand first, {full:?} by {small:?}"
        );
        // The full operand as a permuted view (strided inner loop).
        let mut swapped_shape = full;
        swapped_shape.swap(2, 3);
        let mut swapped = vec![0f32; len];
        for (i, &value) in a.iter().enumerate() {
            let (outer, h, w) = (
                i / (full[2] * full[3]),
                (i / full[3]) % full[2],
                i % full[3],
            );
            swapped[(outer * full[3] + w) * full[2] + h] = value;
        }
        let view = tensor(&swapped, swapped_shape).swap_dims(2, 3);
        let strided = read(apply(view, tensor(&b, small)));
        assert!(
            strided == expected,
            "{name} of a permuted view, {full:?} by {small:?}"
        );
    }
}

#[test]
fn large_broadcasts_match_element_by_element_results() {
    // Per channel (batch norm, biases), per sample, per pixel, a single scalar; run lengths that
    // do not divide the threads' chunks.
    check([8, 64, 33, 31], [1, 64, 1, 1]);
    check([8, 16, 65, 63], [8, 1, 1, 1]);
    check([4, 8, 91, 97], [4, 1, 91, 97]);
    check([2, 3, 211, 409], [1, 1, 1, 1]);
    check([3, 5, 127, 131], [1, 5, 127, 1]);
}

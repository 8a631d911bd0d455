//! What the two kernel benches (`kernels`, 2-D, and `kernels_3d`) share: the same deterministic
//! operands, and one JSON line per layer with the three passes' seconds and GFLOP/s.

/// Input, weight and output-gradient values of the given lengths: fixed, non-trivial, cheap.
pub fn operands(
    input_len: usize,
    weight_len: usize,
    output_len: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let ramp = |len: usize, period: usize| -> Vec<f32> {
        (0..len)
            .map(|i| (i % period) as f32 / period as f32)
            .collect()
    };
    (
        ramp(input_len, 97),
        ramp(weight_len, 89),
        ramp(output_len, 83),
    )
}

/// Prints a layer's line: seconds per call of the forward pass, input gradient and weight
/// gradient, and the GFLOP/s of each for `flops` floating-point operations per pass.
pub fn report(name: &str, batch: usize, flops: f64, [forward, input_grad, weight_grad]: [f64; 3]) {
    println!(
        "{{\"layer\": \"{name}\", \"batch\": {batch}, \"forward\": {forward:.5}, \"input_grad\": {input_grad:.5}, \"weight_grad\": {weight_grad:.5}, \"gflops\": [{:.1}, {:.1}, {:.1}]}}",
        flops / forward / 1e9,
        flops / input_grad / 1e9,
        flops / weight_grad / 1e9
    );
}

//! On wgpu, a quantized linear layer runs as burn's fused unit-tile matmul, whose blueprint the
//! vendored fusion crate fits to problems with few rows (third_party/burn-cubecl-fusion/PATCHED.md):
//! a prompt tree has a few dozen rows, an image 50. Checked here for those row counts against the
//! weights expanded to f64 on the host, in the form the model writes (bias viewed first, so the
//! bias and QuickGELU fuse into the matmul's kernel).

mod common;

use burn::tensor::quantization::{
    Calibration, QuantScheme, QuantStore, QuantValue, ScaleDtype, compute_q_params, compute_range,
};
use burn::tensor::{DType, Distribution, Tensor, TensorData};

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    pollster::block_on(tensor.into_data_async()).unwrap().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn few_row_quantized_linear_layers_on_wgpu_match_the_expanded_weights() {
    let Some(backend) = common::wgpu_backend() else { return };
    let device = backend.device;
    // The bundles' 8-bit scheme: one f32 scale per 128 values along the output dimension.
    let scheme = QuantScheme::default()
        .with_value(QuantValue::Q8S)
        .with_store(QuantStore::PackedU32(0))
        .per_block(&[1, 128], ScaleDtype::F32);
    for (d_in, d_out) in [(512, 512), (512, 2048), (768, 768)] {
        let weight = Tensor::<2>::random([d_in, d_out], Distribution::Normal(0.0, 0.05), &device);
        let range = compute_range(&scheme, &weight, &Calibration::MinMax);
        let qparams = compute_q_params(&scheme, range);
        let weight = weight.quantize(&scheme, qparams);
        assert!(matches!(weight.dtype(), DType::QFloat(_)), "the weight is quantized");
        let expanded = values(weight.clone().dequantize());
        let bias: Vec<f32> = (0..d_out).map(|j| (j % 13) as f32 * 0.01 - 0.06).collect();
        let bias_tensor = Tensor::<1>::from_data(TensorData::new(bias.clone(), [d_out]), &device).reshape([1, 1, d_out]);
        let weight = weight.unsqueeze::<3>();
        // One prompt, ten prompts' tree, an image, and past one cube's rows.
        for rows in [1, 7, 33, 50, 65, 130] {
            let input = Tensor::<3>::random([1, rows, d_in], Distribution::Normal(0.0, 1.0), &device);
            let host = values(input.clone());
            let x = input.matmul(weight.clone()) + bias_tensor.clone();
            let out = values(x.clone() * burn::tensor::activation::sigmoid(x * 1.702));
            for r in 0..rows {
                for c in 0..d_out {
                    let x: f64 = (0..d_in).map(|k| f64::from(host[r * d_in + k]) * f64::from(expanded[k * d_out + c])).sum::<f64>()
                        + f64::from(bias[c]);
                    let expected = x / (1.0 + (-1.702 * x).exp());
                    let got = f64::from(out[r * d_out + c]);
                    assert!(
                        (got - expected).abs() <= 1e-4 * (1.0 + expected.abs()),
                        "{rows} × {d_in} → {d_out} on {}: ({r}, {c}) is {got}, expected {expected}",
                        backend.description
                    );
                }
            }
        }
    }
}

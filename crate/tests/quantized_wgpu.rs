//! 8-bit linear layers on wgpu, for the row counts the towers run (a prompt tree has a few dozen
//! rows, an image 50), against the weights expanded to f64 on the host: the model's own kernel
//! (`clip::model::quantized_linear_gpu`, which the encoder runs for Q8S weights), and burn's fused
//! unit-tile matmul, whose blueprint the vendored fusion crate fits to problems with few rows
//! (third_party/burn-cubecl-fusion/PATCHED.md) and which still runs the 4-bit weights.

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

/// The model's own 8-bit Linear kernel (`model::quantized_linear_gpu`), which the encoder runs for
/// every 8-bit weight on a GPU: bias then QuickGELU, bias then a residual add, and bias alone,
/// for a prompt's rows up to past two cubes', batches of more than one, and a block narrower than
/// the two words an invocation sums (one scale per 4 columns), against the weights expanded to
/// f64 on the host.
#[test]
fn the_gpu_quantized_linear_kernel_matches_the_expanded_weights() {
    use clip::model::quantized_linear_gpu::{Epilogue, fits, linear, linear_add};
    let Some(backend) = common::wgpu_backend() else { return };
    let device = backend.device;
    for (d_in, d_out, block) in [(512, 512, 128), (512, 2048, 128), (3072, 768, 128), (24, 20, 4)] {
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::PackedU32(0))
            .per_block(&[1, block], ScaleDtype::F32);
        let weight = Tensor::<2>::random([d_in, d_out], Distribution::Normal(0.0, 0.05), &device);
        let range = compute_range(&scheme, &weight, &Calibration::MinMax);
        let weight = weight.quantize(&scheme, compute_q_params(&scheme, range));
        assert!(fits(&weight), "{d_in} → {d_out} in blocks of {block} runs on the kernel");
        let expanded = values(weight.clone().dequantize());
        let bias: Vec<f32> = (0..d_out).map(|j| (j % 13) as f32 * 0.01 - 0.06).collect();
        let bias_tensor = Tensor::<1>::from_data(TensorData::new(bias.clone(), [d_out]), &device);
        for (batch, rows) in [(1, 1), (1, 7), (1, 33), (1, 50), (3, 17), (1, 130)] {
            let input = Tensor::<3>::random([batch, rows, d_in], Distribution::Normal(0.0, 1.0), &device);
            let residual = Tensor::<3>::random([batch, rows, d_out], Distribution::Normal(0.0, 1.0), &device);
            let host = values(input.clone());
            let host_residual = values(residual.clone());
            let plain = values(linear(input.clone(), &weight, &bias_tensor, Epilogue::None));
            let gelu = values(linear(input.clone(), &weight, &bias_tensor, Epilogue::QuickGelu));
            let added = values(linear_add(input, &weight, &bias_tensor, residual));
            for r in 0..batch * rows {
                for c in 0..d_out {
                    let x: f64 = (0..d_in).map(|k| f64::from(host[r * d_in + k]) * f64::from(expanded[k * d_out + c])).sum::<f64>()
                        + f64::from(bias[c]);
                    let at = r * d_out + c;
                    for (what, got, expected) in [
                        ("bias", plain[at], x),
                        ("QuickGELU", gelu[at], x / (1.0 + (-1.702 * x).exp())),
                        ("residual", added[at], x + f64::from(host_residual[at])),
                    ] {
                        let got = f64::from(got);
                        assert!(
                            (got - expected).abs() <= 1e-4 * (1.0 + expected.abs()),
                            "{batch} × {rows} × {d_in} → {d_out} with {what} on {}: ({r}, {c}) is {got}, expected {expected}",
                            backend.description
                        );
                    }
                }
            }
        }
    }
}

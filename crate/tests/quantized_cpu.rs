//! On the CPU, quantized weights stay quantized: burn-flex, as patched in
//! third_party/burn-flex, multiplies their i8 values as integers, reshapes and row-selects them
//! without expanding them. Checked here through burn's public API against the same operations
//! on the weights expanded to f32 (`dequantize`), which is what upstream computes.

use burn::nn::LinearConfig;
use burn::tensor::quantization::{
    Calibration, QuantScheme, QuantStore, QuantValue, ScaleDtype, compute_q_params, compute_range,
};
use burn::tensor::{DType, Device, Distribution, Int, Tensor, TensorData};

/// The scheme `clip convert` writes: symmetric, one f32 scale per `block` values along the last
/// dimension, packed into u32 on disk.
fn scheme(value: QuantValue, block: u8) -> QuantScheme {
    QuantScheme::default()
        .with_value(value)
        .with_store(QuantStore::PackedU32(0))
        .per_block(&[1, block], ScaleDtype::F32)
}

/// Quantize `tensor` and bring it back through its stored bytes, as a bundle is loaded.
fn quantized<const D: usize>(tensor: Tensor<D>, scheme: &QuantScheme, device: &Device) -> Tensor<D> {
    let range = compute_range(scheme, &tensor, &Calibration::MinMax);
    let qparams = compute_q_params(scheme, range);
    let data = pollster::block_on(tensor.quantize(scheme, qparams).into_data_async()).unwrap();
    let loaded = Tensor::<D>::from_data(data, device);
    assert!(matches!(loaded.dtype(), DType::QFloat(_)), "the weight loads quantized");
    loaded
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    pollster::block_on(tensor.into_data_async()).unwrap().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn linear_layers_on_quantized_weights_match_the_expanded_weights() {
    let device = Device::flex();
    // ViT-B/32's shapes: 50 tokens; attention (768 → 768) and the MLP (768 → 3072 → 768); a
    // batch of one (burn keeps the batched form and unsqueezes the weight) and of several.
    for (value, block) in [(QuantValue::Q8S, 128), (QuantValue::Q4S, 32)] {
        for (batch, d_in, d_out) in [(1, 768, 768), (1, 768, 3072), (3, 3072, 768), (2, 96, 40)] {
            let linear = LinearConfig::new(d_in, d_out).init(&device);
            // 40 columns take blocks of 20: two 8-column tiles and a tail of 4 each.
            let block = if d_out % usize::from(block) == 0 { block } else { 20 };
            let weight = quantized(linear.weight.val(), &scheme(value, block), &device);
            let expanded = weight.clone().dequantize();
            let input = Tensor::<3>::random([batch, 50, d_in], Distribution::Normal(0.0, 1.0), &device);
            let bias = linear.bias.as_ref().map(|b| b.val());
            let ours = burn::tensor::module::linear(input.clone(), weight, bias.clone());
            let upstream = burn::tensor::module::linear(input, expanded, bias);
            assert_eq!(ours.dims(), upstream.dims());
            let (ours, upstream) = (values(ours), values(upstream));
            // Rounding the activations always moves some output: bit-identical results would
            // mean the weights were expanded after all (the patch not in use).
            assert_ne!(ours, upstream, "{value:?} {batch}×50×{d_in} → {d_out}: computed on expanded weights");
            // The only difference is the activations' rounding to ≥ 12 bits per row: far below
            // the weights' own quantization error.
            let worst = ours
                .iter()
                .zip(&upstream)
                .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
                .fold(0.0f32, f32::max);
            let cos = cosine(&ours, &upstream);
            assert!(cos > 0.99999, "{value:?} {batch}×50×{d_in} → {d_out}: cosine {cos}");
            assert!(worst < 2e-3, "{value:?} {batch}×50×{d_in} → {d_out}: worst error {worst}");
        }
    }
}

#[test]
fn reshaping_and_selecting_rows_keep_the_quantized_values_exactly() {
    let device = Device::flex();
    let table = Tensor::<2>::random([300, 256], Distribution::Normal(0.0, 0.02), &device);
    let table = quantized(table, &scheme(QuantValue::Q8S, 128), &device);
    let expanded = values(table.clone().dequantize());

    let ids = Tensor::<1, Int>::from_data(TensorData::new(vec![5i64, 0, 299, 5, 17], [5]), &device);
    let rows = table.clone().select(0, ids);
    assert!(matches!(rows.dtype(), DType::QFloat(_)), "selected rows stay quantized");
    let rows = values(rows.dequantize());
    for (i, id) in [5usize, 0, 299, 5, 17].into_iter().enumerate() {
        assert_eq!(&rows[i * 256..(i + 1) * 256], &expanded[id * 256..(id + 1) * 256], "row {id}");
    }

    let unsqueezed = table.clone().unsqueeze::<3>();
    assert!(matches!(unsqueezed.dtype(), DType::QFloat(_)));
    assert_eq!(values(unsqueezed.dequantize()), expanded, "a leading unit dimension changes nothing");
    let regrouped = table.reshape([600, 128]);
    assert_eq!(values(regrouped.dequantize()), expanded, "rows of whole blocks regroup exactly");
}

#[test]
fn non_finite_inputs_propagate_through_a_quantized_linear() {
    let device = Device::flex();
    let linear = LinearConfig::new(64, 16).with_bias(false).init(&device);
    let weight = quantized(linear.weight.val(), &scheme(QuantValue::Q8S, 16), &device);
    let mut input = vec![0.5f32; 3 * 64];
    input[3] = f32::NAN;
    input[64..128].fill(0.0);
    let input = Tensor::<2>::from_data(TensorData::new(input, [3, 64]), &device);
    let out = values(burn::tensor::module::linear(input, weight, None));
    assert!(out[..16].iter().all(|v| v.is_nan()), "a NaN input gives NaN outputs");
    assert!(out[16..32].iter().all(|&v| v == 0.0), "a zero row gives zeros");
    assert!(out[32..].iter().all(|v| v.is_finite()));
}

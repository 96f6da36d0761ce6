//! Quantized tensor operations for the Flex backend.

use alloc::vec::Vec;
#[cfg(not(feature = "std"))]
#[allow(unused_imports)]
use num_traits::Float;

use burn_backend::{
    DType, ExecutionError, FloatDType, TensorData, TensorMetadata,
    TensorPrimitive, get_or_init_device_settings,
    ops::{FloatTensorOps, IntTensorOps, QTensorOps},
    quantization::{
        BlockLayout, BlockSize, QuantPropagation, QuantScheme, QuantStore,
        QuantValue, QuantizationParametersPrimitive, QuantizedBytes, ScaleDtype, global_scale_dtype,
        scale_to_dtype,
    },
    tensor::{Device, FloatTensor, IntTensor, QuantizedTensor},
};
use burn_std::{Bytes, Shape, Slice, bf16, f16};

use super::float_storage_as_f32;
use crate::{Flex, FlexQTensor, FlexTensor, Layout};

/// The blocks over `shape`, which must be a whole number of blocks along every axis.
fn block_layout(shape: &Shape, block: &BlockSize) -> BlockLayout {
    let blocks = BlockLayout::new(shape, block);
    assert!(
        blocks.divides(),
        "tensor {shape:?} is not a whole number of {block:?} blocks"
    );
    blocks
}

/// The largest magnitude in each block of `values`, laid out as `blocks`.
fn block_max_abs(values: &[f32], blocks: &BlockLayout) -> Vec<f32> {
    let mut peaks = alloc::vec![0.0f32; blocks.num_blocks()];
    for (index, &x) in values.iter().enumerate() {
        let peak = &mut peaks[blocks.block_of(index)];
        *peak = peak.max(x.abs());
    }
    peaks
}

/// 8-bit values already lie in memory as the i8 tensor they decode to (one byte each, in order,
/// for the native store and, on little-endian machines, for four to a `u32`), followed by the
/// scales. When the data is a window into a shared buffer (a model file read into memory, whose
/// tensors burn-pack hands out as views) the tensor keeps a view of its values instead of a
/// copy: the loaded model then costs its file's size once, not twice. Anything else (owned
/// buffers, 4- or 2-bit values, padded rows, unusual scale types) is handed back for the copying
/// path.
fn borrow_q8(
    data: TensorData,
    shape: &Shape,
    scheme: QuantScheme,
) -> Result<FlexQTensor, TensorData> {
    use burn_std::quantization::{global_scale_size, params_shape, scale_size};

    let packed_in_order = match scheme.store {
        QuantStore::Native => true,
        QuantStore::PackedU32(0) => {
            cfg!(target_endian = "little") && shape.as_slice().last().is_some_and(|n| n % 4 == 0)
        }
        _ => false,
    };
    let eight_bit = matches!(scheme.value, QuantValue::Q8S | QuantValue::Q8F);
    let scale_dtype = scheme.scale_dtype();
    let decodable = matches!(scale_dtype, ScaleDtype::F32 | ScaleDtype::F16 | ScaleDtype::BF16);
    if !(packed_in_order && eight_bit && decodable) {
        return Err(data);
    }
    let values = shape.num_elements();
    let num_params = params_shape(shape, &scheme).num_elements();
    let block_bytes = num_params * scale_size(scale_dtype);
    let global_bytes = global_scale_size(&scheme);
    let bytes = data.as_bytes();
    let Some(scales_at) = bytes.len().checked_sub(block_bytes + global_bytes) else {
        return Err(data);
    };
    if scales_at < values {
        return Err(data);
    }
    let decode = |raw: &[u8], dtype: ScaleDtype| -> Vec<f32> {
        match dtype {
            ScaleDtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            ScaleDtype::F16 => raw
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            _ => raw
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        }
    };
    let scales = decode(&bytes[scales_at..scales_at + block_bytes], scale_dtype);
    let global = global_scale_dtype(&scheme)
        .map(|dtype| decode(&bytes[scales_at + block_bytes..], dtype).first().copied());
    let global = match global {
        None => None,
        Some(Some(global)) => Some(global),
        Some(None) => return Err(data),
    };
    if scales.is_empty() {
        return Err(data);
    }
    // Only a shared buffer gives a view; a plain allocation says so, and is copied as before.
    let Ok(view) = data.bytes().view(0, values) else {
        return Err(data);
    };
    let tensor = FlexTensor::from_data(TensorData::from_bytes(view, shape.clone(), DType::I8));
    Ok(FlexQTensor::new(
        tensor,
        scheme.with_store(QuantStore::Native),
        scales,
        global,
    ))
}

impl QTensorOps<Flex> for Flex {
    fn q_from_data(data: TensorData, _device: &Device<Flex>) -> QuantizedTensor<Flex> {
        let scheme = match data.dtype() {
            DType::QFloat(scheme) => scheme,
            _ => panic!("Expected quantized dtype, got {:?}", data.dtype()),
        };

        let shape = data.shape().clone();

        // Patched: 8-bit values borrowed in place (see `borrow_q8`), not copied out.
        let data = match borrow_q8(data, &shape, scheme) {
            Ok(tensor) => return tensor,
            Err(data) => data,
        };

        let q_bytes = QuantizedBytes {
            shape: shape.clone(),
            bytes: data.into_bytes(),
            scheme,
        };

        let (values, qparams) = q_bytes.into_vec_i8();
        let tensor_data = TensorData::new(values, shape);
        let tensor = FlexTensor::from_data(tensor_data);

        // Use native storage since we've unpacked to i8
        let scheme = scheme.with_store(QuantStore::Native);

        FlexQTensor::new(tensor, scheme, qparams.block, qparams.global)
    }

    fn quantize_dynamic(tensor: FloatTensor<Flex>, scheme: &QuantScheme) -> QuantizedTensor<Flex> {
        let shape = tensor.shape();
        let tensor = tensor.to_contiguous();
        let float_data = float_storage_as_f32(&tensor);
        let (a, b) = scheme.value.range();
        let range = b - a;

        let (quantized, scales, global) = match (scheme.block_size(), global_scale_dtype(scheme)) {
            (Some(block), Some(global_dtype)) => {
                let blocks = block_layout(&shape, &block);
                let raw: Vec<f32> = block_max_abs(&float_data, &blocks)
                    .into_iter()
                    .map(|alpha| 2.0 * alpha / range)
                    .collect();
                let peak = raw.iter().copied().fold(0.0f32, f32::max);

                let global = validated_scale(
                    peak / scheme.scale_dtype().max_representable(),
                    global_dtype,
                );

                let scales: Vec<f32> = raw
                    .iter()
                    .map(|&raw| validated_scale(raw / global, scheme.scale_dtype()))
                    .collect();
                let quantized = float_data
                    .iter()
                    .enumerate()
                    .map(|(index, &x)| {
                        let inv_scale = 1.0 / (global * scales[blocks.block_of(index)]);
                        (x * inv_scale).round().clamp(a, b) as i8
                    })
                    .collect();

                (quantized, scales, Some(global))
            }
            (None, _) => {
                let scale = validated_scale(
                    block_max_abs_scale(&float_data, range),
                    scheme.scale_dtype(),
                );
                let inv_scale = 1.0 / scale;

                // Pass 2: quantize
                let quantized = float_data
                    .iter()
                    .map(|&x| (x * inv_scale).round().clamp(a, b) as i8)
                    .collect::<Vec<i8>>();

                (quantized, alloc::vec![scale], None)
            }
            (Some(block_size), None) => {
                let blocks = block_layout(&shape, &block_size);
                let scales: Vec<f32> = block_max_abs(&float_data, &blocks)
                    .into_iter()
                    .map(|alpha| validated_scale(2.0 * alpha / range, scheme.scale_dtype()))
                    .collect();
                let quantized = float_data
                    .iter()
                    .enumerate()
                    .map(|(index, &x)| {
                        let inv_scale = 1.0 / scales[blocks.block_of(index)];
                        (x * inv_scale).round().clamp(a, b) as i8
                    })
                    .collect();

                (quantized, scales, None)
            }
        };

        let bytes = Bytes::from_elems(quantized);
        let layout = Layout::contiguous(shape);
        let qt = FlexTensor::new(bytes, layout, DType::I8);

        FlexQTensor::new(qt, scheme.with_store(QuantStore::Native), scales, global)
    }

    fn quantize(
        tensor: FloatTensor<Flex>,
        scheme: &QuantScheme,
        qparams: QuantizationParametersPrimitive<Flex>,
    ) -> QuantizedTensor<Flex> {
        let shape = tensor.shape();
        let tensor = tensor.to_contiguous();
        let float_data = float_storage_as_f32(&tensor);

        // Extract and validate scales from the qparams tensor. The scales tensor
        // shares its dtype with the float element type, which can be any of
        // f32/f64/f16/bf16, so we normalise via float_storage_as_f32 instead of
        // assuming f32 storage.
        let scales_tensor = qparams.scales.to_contiguous();
        let scales_data = float_storage_as_f32(&scales_tensor);
        let scales: Vec<f32> = scales_data
            .iter()
            .copied()
            .map(|s| validated_scale(s, scheme.scale_dtype()))
            .collect();

        let global = qparams.global.map(|global| {
            let dtype = global_scale_dtype(scheme)
                .expect("a per-tensor scale should come with a two-level scheme");
            let global = global.to_contiguous();
            validated_scale(float_storage_as_f32(&global)[0], dtype)
        });

        let (a, b) = scheme.value.range();

        let quantized = match scheme.block_size() {
            None => {
                let inv_scale = 1.0 / scales[0];
                float_data
                    .iter()
                    .map(|&x| (x * inv_scale).round().clamp(a, b) as i8)
                    .collect::<Vec<i8>>()
            }
            Some(block_size) => {
                let blocks = block_layout(&shape, &block_size);
                let multiplier = global.unwrap_or(1.0);
                float_data
                    .iter()
                    .enumerate()
                    .map(|(index, &x)| {
                        let inv_scale = 1.0 / (multiplier * scales[blocks.block_of(index)]);
                        (x * inv_scale).round().clamp(a, b) as i8
                    })
                    .collect()
            }
        };

        let bytes = Bytes::from_elems(quantized);
        let layout = Layout::contiguous(shape);
        let qt = FlexTensor::new(bytes, layout, DType::I8);

        FlexQTensor::new(qt, scheme.with_store(QuantStore::Native), scales, global)
    }

    fn dequantize(tensor: QuantizedTensor<Flex>, dtype: FloatDType) -> FloatTensor<Flex> {
        let tensor = tensor.row_major();
        let shape = tensor.tensor.shape();
        let qt = tensor.tensor.to_contiguous();
        let q_data: &[i8] = qt.storage();

        let dequantized = match tensor.scheme.block_size() {
            None => {
                let scale = tensor.scales[0];
                q_data
                    .iter()
                    .map(|&x_q| scale * x_q as f32)
                    .collect::<Vec<f32>>()
            }
            // Patched: blocks along the last dimension are consecutive runs of values, one
            // scale each; no per-element block arithmetic.
            Some(_)
                if last_dim_block(&tensor.scheme).is_some_and(|run| {
                    shape.as_slice().last().is_some_and(|&last| last % run == 0)
                        && q_data.len() == tensor.scales.len() * run
                }) =>
            {
                let run = q_data.len() / tensor.scales.len();
                let multiplier = tensor.global.unwrap_or(1.0);
                let mut out = Vec::with_capacity(q_data.len());
                for (values, &scale) in q_data.chunks_exact(run).zip(&tensor.scales) {
                    let scale = multiplier * scale;
                    out.extend(values.iter().map(|&x_q| scale * x_q as f32));
                }
                out
            }
            Some(block_size) => {
                let blocks = BlockLayout::new(&shape, &block_size);
                let multiplier = tensor.global.unwrap_or(1.0);
                q_data
                    .iter()
                    .enumerate()
                    .map(|(index, &x_q)| {
                        multiplier * tensor.scales[blocks.block_of(index)] * x_q as f32
                    })
                    .collect::<Vec<f32>>()
            }
        };

        let layout = Layout::contiguous(shape);
        match dtype {
            FloatDType::F32 | FloatDType::Flex32 => {
                FlexTensor::new(Bytes::from_elems(dequantized), layout, DType::F32)
            }
            FloatDType::F64 => {
                let data: Vec<f64> = dequantized.iter().map(|&v| v as f64).collect();
                FlexTensor::new(Bytes::from_elems(data), layout, DType::F64)
            }
            FloatDType::F16 => {
                let data: Vec<f16> = dequantized.iter().map(|&v| f16::from_f32(v)).collect();
                FlexTensor::new(Bytes::from_elems(data), layout, DType::F16)
            }
            FloatDType::BF16 => {
                let data: Vec<bf16> = dequantized.iter().map(|&v| bf16::from_f32(v)).collect();
                FlexTensor::new(Bytes::from_elems(data), layout, DType::BF16)
            }
        }
    }

    fn q_to_device(tensor: QuantizedTensor<Flex>, _device: &Device<Flex>) -> QuantizedTensor<Flex> {
        tensor
    }

    fn q_reshape(tensor: QuantizedTensor<Flex>, shape: Shape) -> QuantizedTensor<Flex> {
        let scheme = tensor.scheme;
        // Patched: panel-ordered values stay so under a reshape that only adds or drops leading
        // ones (`Linear`'s `unsqueeze`); any other reshape reads them back in row-major order.
        let old = tensor.tensor.shape();
        let trailing = |dims: &[usize]| -> Option<(usize, usize)> {
            match dims {
                [lead @ .., k, n] if lead.iter().all(|&d| d == 1) => Some((*k, *n)),
                _ => None,
            }
        };
        if tensor.panels && trailing(old.as_slice()).is_some() && trailing(old.as_slice()) == trailing(shape.as_slice()) {
            let mut reshaped = FlexQTensor::new(tensor.tensor.reshape(shape), scheme, tensor.scales, tensor.global);
            reshaped.panels = true;
            return reshaped;
        }
        let tensor = tensor.row_major();
        // Patched: blocks that run along the last dimension only stay whole, and in the same
        // row-major order, under any reshape whose old and new last dimensions they both
        // divide; so e.g. `Linear`'s `weight.unsqueeze()` keeps the weight quantized instead
        // of dequantizing and requantizing it on every forward pass.
        if let Some(run) = last_dim_block(&scheme) {
            let old_last = tensor.tensor.shape().as_slice().last().copied();
            let new_last = shape.as_slice().last().copied();
            if let (Some(old_last), Some(new_last)) = (old_last, new_last)
                && old_last % run == 0
                && new_last % run == 0
            {
                return FlexQTensor::new(
                    tensor.tensor.reshape(shape),
                    scheme,
                    tensor.scales,
                    tensor.global,
                );
            }
        }
        block_safe_layout_op(tensor, scheme, |t| t.reshape(shape))
    }

    async fn q_into_data(tensor: QuantizedTensor<Flex>) -> Result<TensorData, ExecutionError> {
        let tensor = tensor.row_major();
        let shape = tensor.tensor.shape();
        let scheme = tensor.scheme;
        let qt = tensor.tensor.to_contiguous();
        let values: Vec<i8> = qt.storage::<i8>().to_vec();

        Ok(TensorData::quantized(
            values,
            shape.to_vec(),
            scheme,
            &tensor.scales,
            tensor.global,
        ))
    }

    fn q_swap_dims(
        tensor: QuantizedTensor<Flex>,
        dim1: usize,
        dim2: usize,
    ) -> QuantizedTensor<Flex> {
        let mut scheme = tensor.scheme;
        let rank = tensor.tensor.shape().num_dims();
        scheme.swap_block_dims(rank, dim1, dim2);
        // Patched: a matrix whose blocks run along its rows, transposed, moves its values and
        // its block scales as they are. The dequantize-requantize round trip below re-derives
        // each block's scale from its largest value, which changes the values of a block whose
        // largest is not at full scale.
        let last_two = rank >= 2 && dim1 != dim2 && dim1.max(dim2) == rank - 1 && dim1.min(dim2) == rank - 2;
        if last_two && last_dim_block(&tensor.scheme).is_some_and(|run| run > 1) {
            let tensor = tensor.row_major();
            let dims = tensor.tensor.shape().as_slice().to_vec();
            let (rows, cols) = (dims[rank - 2], dims[rank - 1]);
            let run = last_dim_block(&tensor.scheme).unwrap_or(1);
            let per_matrix = rows * (cols / run);
            if cols % run == 0 && per_matrix > 0 && tensor.scales.len() % per_matrix == 0 {
                // Scale grid [.., rows, cols / run] becomes [.., cols / run, rows].
                let mut scales = alloc::vec![0.0f32; tensor.scales.len()];
                for (matrix, from) in scales.chunks_exact_mut(per_matrix).zip(tensor.scales.chunks_exact(per_matrix)) {
                    for r in 0..rows {
                        for b in 0..cols / run {
                            matrix[b * rows + r] = from[r * (cols / run) + b];
                        }
                    }
                }
                let values = tensor.tensor.transpose(dim1, dim2).to_contiguous();
                return FlexQTensor::new(values, scheme, scales, tensor.global);
            }
            return block_safe_layout_op(tensor, scheme, |t| t.transpose(dim1, dim2));
        }
        block_safe_layout_op(tensor, scheme, |t| t.transpose(dim1, dim2))
    }

    fn q_permute(tensor: QuantizedTensor<Flex>, axes: &[usize]) -> QuantizedTensor<Flex> {
        let mut scheme = tensor.scheme;
        scheme.permute_block_dims(tensor.tensor.shape().num_dims(), axes);
        block_safe_layout_op(tensor, scheme, |t| t.permute(axes))
    }

    fn q_flip(tensor: QuantizedTensor<Flex>, axes: &[usize]) -> QuantizedTensor<Flex> {
        let scheme = tensor.scheme;
        block_safe_layout_op(tensor, scheme, |t| crate::ops::flip::flip(t, axes))
    }

    fn q_expand(tensor: QuantizedTensor<Flex>, shape: Shape) -> QuantizedTensor<Flex> {
        let scheme = tensor.scheme;
        block_safe_layout_op(tensor, scheme, |t| crate::ops::expand::expand(t, shape))
    }

    fn q_select(
        tensor: QuantizedTensor<Flex>,
        dim: usize,
        indices: IntTensor<Flex>,
    ) -> QuantizedTensor<Flex> {
        let tensor = tensor.row_major();
        match tensor.scheme.block_size() {
            None => FlexQTensor::new(
                crate::ops::gather_scatter::select::<i8>(tensor.tensor, dim, indices),
                tensor.scheme,
                tensor.scales,
                tensor.global,
            ),
            Some(_) => {
                let scheme = tensor.scheme;
                // Patched: selecting along any dimension but the last, with blocks along the
                // last only, takes whole blocks: select the values and their scales alike
                // (an embedding lookup then reads a few rows, not the whole table).
                let shape = tensor.tensor.shape();
                let rank = shape.num_dims();
                if let Some(run) = last_dim_block(&scheme)
                    && dim + 1 < rank
                    && shape[rank - 1] % run == 0
                {
                    let mut grid = shape.clone();
                    grid[rank - 1] /= run;
                    let scales = FlexTensor::from_data(TensorData::new(tensor.scales, grid));
                    let scales =
                        crate::ops::gather_scatter::select::<f32>(scales, dim, indices.clone());
                    let values =
                        crate::ops::gather_scatter::select::<i8>(tensor.tensor, dim, indices);
                    let scales = scales.to_contiguous().storage::<f32>().to_vec();
                    return FlexQTensor::new(values, scheme, scales, tensor.global);
                }
                let float_tensor = Flex::dequantize(tensor, FloatDType::F32);
                let result = crate::ops::gather_scatter::select::<f32>(float_tensor, dim, indices);
                Flex::quantize_dynamic(result, &scheme)
            }
        }
    }

    /// Patched: a float matrix times a block-quantized one computes on the quantized values
    /// (`qmatmul.rs`); every other combination is upstream's default, which dequantizes.
    fn q_matmul(lhs: TensorPrimitive<Flex>, rhs: TensorPrimitive<Flex>) -> TensorPrimitive<Flex> {
        match (lhs, rhs) {
            (TensorPrimitive::Float(lhs), TensorPrimitive::QFloat(rhs)) => {
                match float_by_quantized(lhs, rhs) {
                    Ok(out) => {
                        let settings = get_or_init_device_settings::<Flex>(&Default::default());
                        match settings.quantization.propagation {
                            QuantPropagation::Propagate => {
                                TensorPrimitive::QFloat(Flex::quantize_dynamic(out.0, &out.1))
                            }
                            QuantPropagation::Inhibit => TensorPrimitive::Float(out.0),
                        }
                    }
                    Err((lhs, rhs)) => dequantizing_matmul(
                        TensorPrimitive::Float(lhs),
                        TensorPrimitive::QFloat(rhs),
                    ),
                }
            }
            (lhs, rhs) => dequantizing_matmul(lhs, rhs),
        }
    }

    fn q_slice(tensor: QuantizedTensor<Flex>, slices: &[Slice]) -> QuantizedTensor<Flex> {
        let scheme = tensor.scheme;
        block_safe_layout_op(tensor, scheme, |t| crate::ops::slice::slice(t, slices))
    }

    fn q_argmax(
        tensor: QuantizedTensor<Flex>,
        dim: usize,
        out_dtype: burn_std::IntDType,
    ) -> IntTensor<Flex> {
        let tensor = tensor.row_major();
        let result = crate::ops::reduce::argmax(tensor.tensor, dim);
        if result.dtype() != DType::from(out_dtype) {
            Flex::int_cast(result, out_dtype)
        } else {
            result
        }
    }

    fn q_argmin(
        tensor: QuantizedTensor<Flex>,
        dim: usize,
        out_dtype: burn_std::IntDType,
    ) -> IntTensor<Flex> {
        let tensor = tensor.row_major();
        let result = crate::ops::reduce::argmin(tensor.tensor, dim);
        if result.dtype() != DType::from(out_dtype) {
            Flex::int_cast(result, out_dtype)
        } else {
            result
        }
    }

    fn q_gather(
        dim: usize,
        tensor: QuantizedTensor<Flex>,
        indices: IntTensor<Flex>,
    ) -> QuantizedTensor<Flex> {
        let tensor = tensor.row_major();
        match tensor.scheme.block_size() {
            None => FlexQTensor::new(
                crate::ops::gather_scatter::gather::<i8>(tensor.tensor, dim, indices),
                tensor.scheme,
                tensor.scales,
                tensor.global,
            ),
            Some(_) => {
                let scheme = tensor.scheme;
                let float_tensor = Flex::dequantize(tensor, FloatDType::F32);
                let result = crate::ops::gather_scatter::gather::<f32>(float_tensor, dim, indices);
                Flex::quantize_dynamic(result, &scheme)
            }
        }
    }
}

/// The length of a block, when blocks run along the last dimension only (or the scheme is
/// per-tensor-free per-element blocks); `None` for per-tensor or multi-dimensional blocks.
pub(crate) fn last_dim_block(scheme: &QuantScheme) -> Option<usize> {
    let block = scheme.block_size()?;
    match block.as_slice() {
        [] => Some(1),
        [run] if *run > 0 => Some(*run as usize),
        _ => None,
    }
}

/// `lhs · rhs` on the integer kernel, when `lhs` is f32 `[.., m, k]` and `rhs` is `[1.., k, n]`
/// with blocks along `n` (or one scale); otherwise both operands back, untouched.
#[allow(clippy::result_large_err)]
fn float_by_quantized(
    lhs: FlexTensor,
    rhs: FlexQTensor,
) -> Result<(FlexTensor, QuantScheme), (FlexTensor, FlexQTensor)> {
    let (lhs_shape, rhs_shape) = (lhs.shape(), rhs.tensor.shape());
    let (lhs_dims, rhs_dims) = (lhs_shape.as_slice(), rhs_shape.as_slice());
    let (lr, rr) = (lhs_dims.len(), rhs_dims.len());
    let run = match rhs.scheme.block_size() {
        None => rhs_dims.last().copied(),
        Some(_) => last_dim_block(&rhs.scheme),
    };
    let fits = lhs.dtype() == DType::F32
        && rr >= 2
        && lr >= rr
        && rhs_dims[..rr - 2].iter().all(|&d| d == 1)
        && lhs_dims[lr - 1] == rhs_dims[rr - 2]
        && run.is_some_and(|run| run > 0 && rhs_dims[rr - 1] % run == 0)
        && rhs_dims[rr - 1] > 0;
    if let Some(out) = by_k_blocks(&lhs, &rhs) {
        return Ok((out, rhs.scheme));
    }
    let Some(run) = run.filter(|_| fits) else {
        return Err((lhs, rhs));
    };
    let (k, n) = (rhs_dims[rr - 2], rhs_dims[rr - 1]);
    let m: usize = lhs_dims[..lr - 1].iter().product();
    let per_tensor;
    let scales: &[f32] = match rhs.scheme.block_size() {
        None => {
            per_tensor = alloc::vec![rhs.scales[0]; k];
            &per_tensor
        }
        Some(_) => &rhs.scales,
    };
    if scales.len() != k * (n / run) {
        return Err((lhs, rhs));
    }
    let lhs_c = lhs.to_contiguous();
    let values = rhs.tensor.to_contiguous();
    let out = super::qmatmul::matmul(
        lhs_c.storage::<f32>(),
        m,
        &super::qmatmul::QuantizedMatrix {
            values: values.storage::<i8>(),
            scales,
            global: rhs.global.unwrap_or(1.0),
            k,
            n,
            block: run,
            panels: rhs.panels,
        },
    );
    let mut out_dims = lhs_dims.to_vec();
    out_dims[lr - 1] = n;
    let out = FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(Shape::from(out_dims)),
        DType::F32,
    );
    Ok((out, rhs.scheme))
}

/// `lhs · rhs` on the integer kernel for blocks along `k` (`qmatmul::matmul_k_blocks`), when
/// `lhs` is f32 `[.., m, k]` and `rhs` a `[1.., k, n]` matrix with `run × 1` blocks: a matrix
/// whose blocks ran along its rows, transposed (a convolution's kernel as a patch matmul).
fn by_k_blocks(lhs: &FlexTensor, rhs: &FlexQTensor) -> Option<FlexTensor> {
    let (lhs_shape, rhs_shape) = (lhs.shape(), rhs.tensor.shape());
    let (lhs_dims, rhs_dims) = (lhs_shape.as_slice(), rhs_shape.as_slice());
    let (lr, rr) = (lhs_dims.len(), rhs_dims.len());
    if lhs.dtype() != DType::F32 || rr < 2 || lr < rr || rhs_dims[..rr - 2].iter().any(|&d| d != 1) {
        return None;
    }
    let block = rhs.scheme.block_size()?.to_dim_vec(rr);
    let run = block[rr - 2] as usize;
    let (k, n) = (rhs_dims[rr - 2], rhs_dims[rr - 1]);
    // (Panel order is only declared for blocks along `n`: never these.)
    let fits = !rhs.panels
        && block[rr - 1] == 1
        && block[..rr - 2].iter().all(|&d| d == 1)
        && run > 1
        && run % 2 == 0
        && k % run == 0
        && lhs_dims[lr - 1] == k
        && rhs.scales.len() == k / run * n;
    if !fits {
        return None;
    }
    let m: usize = lhs_dims[..lr - 1].iter().product();
    let lhs_c = lhs.to_contiguous();
    let values = rhs.tensor.to_contiguous();
    let out = super::qmatmul::matmul_k_blocks(
        lhs_c.storage::<f32>(),
        m,
        &super::qmatmul::KBlockMatrix {
            values: values.storage::<i8>(),
            scales: &rhs.scales,
            global: rhs.global.unwrap_or(1.0),
            k,
            n,
            run,
        },
    );
    let mut out_dims = lhs_dims.to_vec();
    out_dims[lr - 1] = n;
    Some(FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(Shape::from(out_dims)), DType::F32))
}

/// Upstream's default `q_matmul`: dequantize what is quantized, multiply in float.
fn dequantizing_matmul(
    lhs: TensorPrimitive<Flex>,
    rhs: TensorPrimitive<Flex>,
) -> TensorPrimitive<Flex> {
    let mut propagation = QuantPropagation::Inhibit;
    let mut scheme = QuantScheme::default();
    let target_dtype: Option<FloatDType> = match (&lhs, &rhs) {
        (TensorPrimitive::Float(t), _) | (_, TensorPrimitive::Float(t)) => Some(t.dtype().into()),
        _ => None,
    };
    let mut float = |side: TensorPrimitive<Flex>| match side {
        TensorPrimitive::Float(t) => t,
        TensorPrimitive::QFloat(q) => {
            let settings = get_or_init_device_settings::<Flex>(&Default::default());
            propagation = settings.quantization.propagation;
            scheme = q.scheme;
            Flex::dequantize(q, target_dtype.unwrap_or(settings.float_dtype))
        }
    };
    let (lhs, rhs) = (float(lhs), float(rhs));
    let out = Flex::float_matmul(lhs, rhs);
    match propagation {
        QuantPropagation::Propagate => TensorPrimitive::QFloat(Flex::quantize_dynamic(out, &scheme)),
        QuantPropagation::Inhibit => TensorPrimitive::Float(out),
    }
}

/// Apply a layout operation to a quantized tensor. A block-quantized tensor is dequantized,
/// moved, and requantized under `scheme`, which the caller has already rewritten to follow the
/// move (a permuted tensor's blocks are permuted with it, as every other backend keeps them).
fn block_safe_layout_op(
    qtensor: FlexQTensor,
    scheme: QuantScheme,
    op: impl FnOnce(FlexTensor) -> FlexTensor,
) -> FlexQTensor {
    let qtensor = qtensor.row_major();
    match qtensor.scheme.block_size() {
        None => FlexQTensor::new(
            op(qtensor.tensor),
            qtensor.scheme,
            qtensor.scales,
            qtensor.global,
        ),
        Some(_) => {
            let float_tensor = Flex::dequantize(qtensor, FloatDType::F32);
            let result = op(float_tensor);
            Flex::quantize_dynamic(result, &scheme)
        }
    }
}

/// Unrounded; callers round separately.
fn block_max_abs_scale(block: &[f32], range: f32) -> f32 {
    let alpha = block.iter().fold(0.0f32, |alpha, &x| alpha.max(x.abs()));
    2.0 * alpha / range
}

/// Only an exactly zero scale is replaced: the dtype's subnormals carry real information for a
/// small tensor, and the replacement goes back through the dtype because `f32::MIN_POSITIVE`
/// would itself encode to zero in a narrow one.
fn validated_scale(scale: f32, dtype: ScaleDtype) -> f32 {
    let scale = scale_to_dtype(scale, dtype);
    if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        scale_to_dtype(f32::MIN_POSITIVE, dtype)
    }
}

// Tests kept here exercise flex-specific behavior: quantization scheme
// roundtrips, per-block / dynamic quantization, block-quantized layout
// ops (transpose / select / flip dequantize), and f16/f64 dequantize
// dtype paths. Plain layout-preservation / select / slice / argmax /
// argmin / gather tests are covered generically in
// crates/burn-backend-tests/tests/tensor/float/quantization/ops/extended/
// so they run on every backend.
#[cfg(test)]
mod tests {
    use super::*;
    use burn_backend::{TensorMetadata, quantization::QuantValue};

    /// Patched: an 8-bit tensor read from a shared buffer (how burn-pack hands out a model
    /// file's tensors) is a view of that buffer, and decodes exactly as the copying path does.
    #[test]
    fn q8_from_a_shared_buffer_is_a_view_with_the_same_values() {
        let (k, n) = (4, 64);
        let values: Vec<i8> = (0..k * n).map(|i| ((i * 37) % 255) as i8 - 127 + 1).collect();
        let scales: Vec<f32> = (0..k * n / 32).map(|i| 0.01 + i as f32 * 0.003).collect();
        for store in [QuantStore::PackedU32(0), QuantStore::Native] {
            let scheme = QuantScheme::default()
                .with_value(QuantValue::Q8S)
                .with_store(store)
                .per_block([1u8, 32], ScaleDtype::F32);
            let stored = TensorData::quantized(values.clone(), [k, n], scheme, &scales, None);
            let (bytes, shape, dtype) = stored.clone().into_parts();
            let shared = bytes.shared();
            let source = shared.as_ptr() as usize..shared.as_ptr() as usize + shared.len();

            let viewed =
                Flex::q_from_data(TensorData::from_bytes(shared, shape, dtype), &Default::default());
            let copied = Flex::q_from_data(stored, &Default::default());

            let at = viewed.tensor.storage::<i8>().as_ptr() as usize;
            assert!(source.contains(&at), "{store:?}: the values were copied");
            assert_eq!(viewed.tensor.storage::<i8>(), values.as_slice());
            assert_eq!(viewed.scales, copied.scales);
            assert_eq!(viewed.scheme, copied.scheme);
            let a = Flex::dequantize(viewed, FloatDType::F32);
            let b = Flex::dequantize(copied, FloatDType::F32);
            assert_eq!(a.storage::<f32>(), b.storage::<f32>());
        }
    }

    /// Patched: a matrix declared in panel order (values rewritten with `to_panels`) multiplies
    /// to the same bits as the row-major one, keeps the order through `Linear`'s unsqueeze, and
    /// reads back row-major for every other operation.
    #[test]
    fn a_panel_ordered_matrix_behaves_as_the_row_major_one() {
        let (m, k, n) = (5, 64, 256);
        let values: Vec<i8> = (0..k * n).map(|i| ((i * 37) % 255) as i8 - 127 + 1).collect();
        let scales: Vec<f32> = (0..k * n / 128).map(|i| 0.01 + i as f32 * 0.003).collect();
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native)
            .per_block([1u8, 128], ScaleDtype::F32);
        let data = TensorData::quantized(values.clone(), [k, n], scheme, &scales, None);
        let row_major = Flex::q_from_data(data.clone(), &Default::default());
        let mut panel_values = values.clone();
        crate::ops::qmatmul::to_panels(&mut panel_values, k, n);
        let data = TensorData::quantized(panel_values.clone(), [k, n], scheme, &scales, None);
        let panels = Flex::q_from_data(data, &Default::default()).in_panel_order().unwrap();
        assert!(panels.is_panel_ordered() && !row_major.is_panel_ordered());

        let lhs: Vec<f32> = (0..m * k).map(|i| ((i * 13) % 17) as f32 / 8.0 - 1.0).collect();
        let lhs = FlexTensor::from_data(TensorData::new(lhs, [m, k]));
        let product = |rhs: FlexQTensor| {
            let rhs = Flex::q_reshape(rhs, Shape::from(vec![1, k, n]));
            match Flex::q_matmul(TensorPrimitive::Float(lhs.clone()), TensorPrimitive::QFloat(rhs)) {
                TensorPrimitive::Float(out) => out.storage::<f32>().to_vec(),
                TensorPrimitive::QFloat(_) => panic!("a float product was expected"),
            }
        };
        let unsqueezed = Flex::q_reshape(panels.clone(), Shape::from(vec![1, k, n]));
        assert!(unsqueezed.is_panel_ordered());
        assert_eq!(product(panels.clone()), product(row_major.clone()));

        let dequantized = |t: FlexQTensor| Flex::dequantize(t, FloatDType::F32).storage::<f32>().to_vec();
        assert_eq!(dequantized(panels.clone()), dequantized(row_major.clone()));
        let swapped = |t: FlexQTensor| dequantized(Flex::q_swap_dims(t, 0, 1));
        assert_eq!(swapped(panels.clone()), swapped(row_major.clone()));
        let flat = Flex::q_reshape(panels.clone(), Shape::from(vec![k * n / 128, 128]));
        assert!(!flat.is_panel_ordered());
        assert_eq!(flat.tensor.storage::<i8>(), values.as_slice());
        // `q_into_data` awaits nothing: one poll completes it.
        fn ready<T>(future: impl core::future::Future<Output = T>) -> T {
            let mut future = core::pin::pin!(future);
            match future.as_mut().poll(&mut core::task::Context::from_waker(core::task::Waker::noop())) {
                core::task::Poll::Ready(value) => value,
                core::task::Poll::Pending => panic!("q_into_data did not complete"),
            }
        }
        let data = ready(Flex::q_into_data(panels.clone())).unwrap();
        let expected = ready(Flex::q_into_data(row_major)).unwrap();
        assert_eq!(data.as_bytes(), expected.as_bytes());

        // Where the order cannot apply, nothing changes.
        let odd = TensorData::quantized(vec![1i8; 3 * 128], [3, 128], scheme, &[1.0; 3], None);
        assert!(Flex::q_from_data(odd, &Default::default()).in_panel_order().is_err());
        assert!(panels.in_panel_order().is_err(), "declared twice");
    }

    #[test]
    fn test_quantize_dequantize_roundtrip() {
        // Create a float tensor
        let values = vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [2, 3]));

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        // Compute scale: symmetric, so scale = 2 * max(|min|, |max|) / (b - a)
        // max_abs = 5.0, range = 127 - (-127) = 254
        // scale = 2 * 5.0 / 254 = 0.03937008
        let scale: f32 = 2.0 * 5.0 / 254.0;
        let scales_tensor = FlexTensor::from_data(TensorData::new(vec![scale], [1]));

        let qparams = QuantizationParametersPrimitive {
            scales: scales_tensor,
            global: None,
        };

        // Quantize
        let qtensor = Flex::quantize(tensor, &scheme, qparams);
        assert_eq!(qtensor.tensor.shape().to_vec(), vec![2, 3]);
        assert_eq!(qtensor.tensor.dtype(), DType::I8);

        // Check quantized values
        let q_vals: &[i8] = qtensor.tensor.storage();
        // 0 / 0.03937 = 0, 1 / 0.03937 = 25.4 -> 25, etc.
        assert_eq!(q_vals[0], 0);
        assert_eq!(q_vals[1], 25);
        assert_eq!(q_vals[5], 127);

        // Dequantize
        let result = Flex::dequantize(qtensor, FloatDType::F32);
        assert_eq!(result.shape().to_vec(), vec![2, 3]);
        assert_eq!(result.dtype(), DType::F32);

        let result_vals: &[f32] = result.storage();
        // Values should be approximately equal (quantization introduces small errors)
        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!((orig - deq).abs() < 0.05, "orig={orig}, dequantized={deq}");
        }
    }

    #[test]
    fn test_quantize_dequantize_negative_values() {
        let values = vec![-3.0f32, -1.5, 0.0, 1.5, 3.0];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [5]));

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        let scale: f32 = 2.0 * 3.0 / 254.0;
        let scales_tensor = FlexTensor::from_data(TensorData::new(vec![scale], [1]));

        let qparams = QuantizationParametersPrimitive {
            scales: scales_tensor,
            global: None,
        };

        let qtensor = Flex::quantize(tensor, &scheme, qparams);
        let result = Flex::dequantize(qtensor, FloatDType::F32);
        let result_vals: &[f32] = result.storage();

        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!((orig - deq).abs() < 0.05, "orig={orig}, dequantized={deq}");
        }
    }

    #[test]
    fn test_q_from_data_into_data_roundtrip() {
        // Create quantized TensorData the standard way
        let values = vec![0i8, 25, 51, 76, 102, 127];
        let scale = 0.03937008f32;
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        let data = TensorData::quantized(values.clone(), [2, 3], scheme, &[scale], None);

        // Load into FlexQTensor
        let qtensor = Flex::q_from_data(data, &Default::default());
        assert_eq!(qtensor.tensor.shape().to_vec(), vec![2, 3]);
        assert_eq!(qtensor.scales, vec![scale]);

        // Dequantize and check values
        let float_tensor = Flex::dequantize(qtensor, FloatDType::F32);
        let result: &[f32] = float_tensor.storage();
        assert!((result[0]).abs() < 0.01); // 0 * scale ~ 0
        assert!((result[5] - 5.0).abs() < 0.05); // 127 * scale ~ 5.0
    }

    #[test]
    fn test_quantize_zero_tensor() {
        let values = vec![0.0f32; 4];
        let tensor = FlexTensor::from_data(TensorData::new(values, [4]));

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        // Scale of 0 should be handled gracefully
        let scales_tensor = FlexTensor::from_data(TensorData::new(vec![0.0f32], [1]));
        let qparams = QuantizationParametersPrimitive {
            scales: scales_tensor,
            global: None,
        };

        let qtensor = Flex::quantize(tensor, &scheme, qparams);
        let q_vals: &[i8] = qtensor.tensor.storage();
        assert_eq!(q_vals, &[0, 0, 0, 0]);
    }

    /// The scale a narrow dtype can represent is coarser than the exact one, so the stored scale
    /// must reflect the dtype rather than staying at full `f32` precision. Before scales were
    /// rounded, every scale dtype produced byte-identical results here.
    #[test]
    fn test_quantize_dynamic_honors_scale_dtype_precision() {
        // 4.5 / 127 is not representable in e4m3, so rounding is observable.
        let values = vec![-3.0f32, -1.5, 0.0, 1.5, 3.0, 4.5];
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        let quantize_with = |dtype| {
            let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [2, 3]));
            Flex::quantize_dynamic(tensor, &scheme.per_tensor(dtype)).scales[0]
        };

        let exact = quantize_with(ScaleDtype::F32);
        let coarse = quantize_with(ScaleDtype::UE4M3);

        assert_ne!(
            exact, coarse,
            "UE4M3 scale should differ from the exact f32 scale"
        );
        assert_eq!(
            coarse,
            scale_to_dtype(exact, ScaleDtype::UE4M3),
            "stored scale should be the exact scale rounded to the scale dtype"
        );
    }

    #[test]
    fn test_quantize_dynamic_roundtrip() {
        let values = vec![-3.0f32, -1.5, 0.0, 1.5, 3.0, 4.5];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [2, 3]));

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);
        assert_eq!(qtensor.tensor.shape().to_vec(), vec![2, 3]);
        assert_eq!(qtensor.scales.len(), 1);

        // Scale should be 2 * 4.5 / 254
        let expected_scale: f32 = 2.0 * 4.5 / 254.0;
        assert!(
            (qtensor.scales[0] - expected_scale).abs() < 1e-6,
            "scale={}, expected={}",
            qtensor.scales[0],
            expected_scale
        );

        let result = Flex::dequantize(qtensor, FloatDType::F32);
        let result_vals: &[f32] = result.storage();
        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!((orig - deq).abs() < 0.1, "orig={orig}, dequantized={deq}");
        }
    }

    #[test]
    fn test_per_block_quantize_dequantize() {
        use burn_std::quantization::BlockSize;

        let values = vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [8]));

        let block_size = BlockSize::new([4]);
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .per_block(block_size.as_slice(), ScaleDtype::F32)
            .with_store(QuantStore::Native);

        // Block 1: [0, 1, 2, 3] -> max_abs=3, scale = 6/254
        // Block 2: [4, 5, 6, 7] -> max_abs=7, scale = 14/254
        let scale_1: f32 = 2.0 * 3.0 / 254.0;
        let scale_2: f32 = 2.0 * 7.0 / 254.0;
        let scales_tensor = FlexTensor::from_data(TensorData::new(vec![scale_1, scale_2], [2]));

        let qparams = QuantizationParametersPrimitive {
            scales: scales_tensor,
            global: None,
        };

        let qtensor = Flex::quantize(tensor, &scheme, qparams);
        assert_eq!(qtensor.scales.len(), 2);

        let result = Flex::dequantize(qtensor, FloatDType::F32);
        let result_vals: &[f32] = result.storage();

        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!((orig - deq).abs() < 0.1, "orig={orig}, dequantized={deq}");
        }
    }

    #[test]
    fn test_quantize_dynamic_block() {
        use burn_std::quantization::BlockSize;

        let values = vec![-2.0f32, -1.0, 0.0, 1.0, 4.0, 5.0, 6.0, 7.0];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [8]));

        let block_size = BlockSize::new([4]);
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .per_block(block_size.as_slice(), ScaleDtype::F32)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);
        assert_eq!(qtensor.scales.len(), 2);

        // Block 1: [-2, -1, 0, 1] -> alpha=2, scale = 4/254
        // Block 2: [4, 5, 6, 7] -> alpha=7, scale = 14/254
        let expected_scale_1: f32 = 2.0 * 2.0 / 254.0;
        let expected_scale_2: f32 = 2.0 * 7.0 / 254.0;
        assert!((qtensor.scales[0] - expected_scale_1).abs() < 1e-6);
        assert!((qtensor.scales[1] - expected_scale_2).abs() < 1e-6);

        let result = Flex::dequantize(qtensor, FloatDType::F32);
        let result_vals: &[f32] = result.storage();
        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!((orig - deq).abs() < 0.1, "orig={orig}, dequantized={deq}");
        }
    }

    #[test]
    fn test_quantize_dynamic_q8f() {
        // Q8F uses asymmetric range [-128, 127]
        let values = vec![-5.0f32, -2.5, 0.0, 2.5, 5.0, 7.5];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [6]));

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8F)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);

        // Q8F range: [-128, 127], so range = 255
        // alpha = 7.5, scale = 2 * 7.5 / 255
        let expected_scale: f32 = 2.0 * 7.5 / 255.0;
        assert!(
            (qtensor.scales[0] - expected_scale).abs() < 1e-6,
            "scale={}, expected={}",
            qtensor.scales[0],
            expected_scale
        );

        let result = Flex::dequantize(qtensor, FloatDType::F32);
        let result_vals: &[f32] = result.storage();
        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!((orig - deq).abs() < 0.1, "orig={orig}, dequantized={deq}");
        }
    }

    #[test]
    fn a_row_blocked_matrix_transposes_exactly_and_multiplies_on_its_k_blocks() {
        // A convolution kernel as a matrix [n, k], blocks of 32 along k (its rows), with block
        // peaks below full scale (values up to 100 of 127): transposed, it must keep every
        // value and scale, and a float times it must be the float
        // product of its expansion.
        let (m, k, n, run) = (7, 256, 24, 32);
        let values: Vec<i8> = (0..n * k).map(|i| ((i * 37) % 201) as i8 - 100).collect();
        let scales: Vec<f32> = (0..n * k / run).map(|i| 0.01 + i as f32 * 0.001).collect();
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native)
            .per_block([run as u8], ScaleDtype::F32);
        let data = TensorData::quantized(values.clone(), [n, k], scheme, &scales, None);
        let weight = Flex::q_from_data(data, &Default::default());
        let expanded = Flex::dequantize(weight.clone(), FloatDType::F32).storage::<f32>().to_vec();
        let transposed = Flex::q_swap_dims(weight, 0, 1);
        assert_eq!(transposed.tensor.shape().to_vec(), vec![k, n]);
        let moved = Flex::dequantize(transposed.clone(), FloatDType::F32).storage::<f32>().to_vec();
        for row in 0..n {
            for col in 0..k {
                assert_eq!(moved[col * n + row].to_bits(), expanded[row * k + col].to_bits(), "({row}, {col})");
            }
        }

        let lhs: Vec<f32> = (0..m * k).map(|i| ((i * 13) % 17) as f32 / 8.0 - 1.0).collect();
        let product = match Flex::q_matmul(
            TensorPrimitive::Float(FlexTensor::from_data(TensorData::new(lhs.clone(), [m, k]))),
            TensorPrimitive::QFloat(transposed),
        ) {
            TensorPrimitive::Float(out) => out.storage::<f32>().to_vec(),
            TensorPrimitive::QFloat(_) => panic!("a float product was expected"),
        };
        for row in 0..m {
            let peak = lhs[row * k..(row + 1) * k].iter().fold(0.0f32, |a, v| a.max(v.abs()));
            for col in 0..n {
                let weights = (0..k).map(|kk| f64::from(expanded[col * k + kk]));
                let expected: f64 = weights.clone().zip(&lhs[row * k..]).map(|(w, &x)| w * f64::from(x)).sum();
                // Half an activation step times the weights' mass, plus f32 rounding.
                let bound = f64::from(peak) / 32767.0 * 0.5 * weights.map(f64::abs).sum::<f64>() + 1e-5;
                let error = (f64::from(product[row * n + col]) - expected).abs();
                assert!(error <= bound, "({row}, {col}): {error} > {bound}");
            }
        }
    }

    #[test]
    fn test_block_quantized_transpose_dequantize() {
        use burn_std::quantization::BlockSize;

        // 2x4 tensor, 2 blocks of 4
        let values = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let tensor = FlexTensor::from_data(TensorData::new(values, [2, 4]));

        let block_size = BlockSize::new([4]);
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .per_block(block_size.as_slice(), ScaleDtype::F32)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);

        // Transpose to [4, 2], then dequantize
        let transposed = Flex::q_swap_dims(qtensor, 0, 1);
        assert_eq!(transposed.tensor.shape().to_vec(), vec![4, 2]);

        let result = Flex::dequantize(transposed, FloatDType::F32);
        let result_vals: &[f32] = result.storage();

        // Original [[1,2,3,4],[5,6,7,8]] transposed to [[1,5],[2,6],[3,7],[4,8]]
        let expected = [1.0f32, 5.0, 2.0, 6.0, 3.0, 7.0, 4.0, 8.0];
        for (exp, deq) in expected.iter().zip(result_vals.iter()) {
            assert!(
                (exp - deq).abs() < 0.15,
                "expected={exp}, dequantized={deq}"
            );
        }
    }

    #[test]
    fn test_block_quantized_select() {
        use burn_std::quantization::BlockSize;

        // 2x4 tensor, 2 blocks of 4
        let values = vec![1.0f32, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0];
        let tensor = FlexTensor::from_data(TensorData::new(values, [2, 4]));

        let block_size = BlockSize::new([4]);
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .per_block(block_size.as_slice(), ScaleDtype::F32)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);

        // Select row 1 -> [10, 20, 30, 40]
        let indices = FlexTensor::from_data(TensorData::new(vec![1i64], [1]));
        let selected = Flex::q_select(qtensor, 0, indices);
        assert_eq!(selected.tensor.shape().to_vec(), vec![1, 4]);

        let result = Flex::dequantize(selected, FloatDType::F32);
        let result_vals: &[f32] = result.storage();
        let expected = [10.0f32, 20.0, 30.0, 40.0];
        for (exp, deq) in expected.iter().zip(result_vals.iter()) {
            assert!((exp - deq).abs() < 0.5, "expected={exp}, dequantized={deq}");
        }
    }

    #[test]
    fn test_block_quantized_flip_dequantize() {
        use burn_std::quantization::BlockSize;

        let values = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let tensor = FlexTensor::from_data(TensorData::new(values, [2, 4]));

        let block_size = BlockSize::new([4]);
        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .per_block(block_size.as_slice(), ScaleDtype::F32)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);

        // Flip along axis 0: [[5,6,7,8],[1,2,3,4]]
        let flipped = Flex::q_flip(qtensor, &[0]);
        assert_eq!(flipped.tensor.shape().to_vec(), vec![2, 4]);

        let result = Flex::dequantize(flipped, FloatDType::F32);
        let result_vals: &[f32] = result.storage();
        let expected = [5.0f32, 6.0, 7.0, 8.0, 1.0, 2.0, 3.0, 4.0];
        for (exp, deq) in expected.iter().zip(result_vals.iter()) {
            assert!(
                (exp - deq).abs() < 0.15,
                "expected={exp}, dequantized={deq}"
            );
        }
    }

    #[test]
    fn test_quantize_dynamic_f64_tensor() {
        use burn_backend::quantization::QuantValue;

        let values = vec![0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0];
        let tensor = FlexTensor::new(
            Bytes::from_elems(values),
            Layout::contiguous([6].into()),
            DType::F64,
        );
        assert_eq!(tensor.dtype(), DType::F64);

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);
        assert_eq!(qtensor.tensor.dtype(), DType::I8);

        // Dequantize and verify round-trip accuracy
        let result = Flex::dequantize(qtensor, FloatDType::F32);
        let result_vals: &[f32] = result.storage();
        let expected = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
        for (exp, deq) in expected.iter().zip(result_vals.iter()) {
            assert!(
                (exp - deq).abs() < 0.15,
                "expected={exp}, dequantized={deq}"
            );
        }
    }

    #[test]
    fn test_dequantize_f64() {
        let values = vec![0.0f32, 1.0, 2.0, 3.0];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [4]));

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);
        let result = Flex::dequantize(qtensor, FloatDType::F64);
        assert_eq!(result.dtype(), DType::F64);
        let result_vals: &[f64] = result.storage();
        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!(
                (*orig as f64 - deq).abs() < 0.05,
                "orig={orig}, dequantized={deq}"
            );
        }
    }

    #[test]
    fn test_dequantize_f16() {
        let values = vec![0.0f32, 1.0, 2.0, 3.0];
        let tensor = FlexTensor::from_data(TensorData::new(values.clone(), [4]));

        let scheme = QuantScheme::default()
            .with_value(QuantValue::Q8S)
            .with_store(QuantStore::Native);

        let qtensor = Flex::quantize_dynamic(tensor, &scheme);
        let result = Flex::dequantize(qtensor, FloatDType::F16);
        assert_eq!(result.dtype(), DType::F16);
        let result_vals: &[f16] = result.storage();
        for (orig, deq) in values.iter().zip(result_vals.iter()) {
            assert!(
                (*orig - f32::from(*deq)).abs() < 0.05,
                "orig={orig}, dequantized={deq}"
            );
        }
    }
}

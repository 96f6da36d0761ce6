//! An 8-bit Linear on the GPU in one kernel: `x · dequantize(weight) + bias`, then QuickGELU or
//! a residual add, for a weight stored as burn's Q8S (four values to a little-endian word, one f32
//! scale per block of columns along a row).
//!
//! Why not burn's fused matmul: cubecl's unit-tile kernel stages both operands through workgroup
//! memory and computes every load's address through fusion's generic layouts (about nine integer
//! divisions and remainders per vector loaded, read from its WGSL). On SwiftShader, the adapter a
//! browser without a GPU gives a page, that ran at about 120 M multiply-adds a second. Here each
//! invocation keeps an 8-row × 8-column block of sums in registers and walks the reduction
//! reading its rows of `x` and its two words of weights directly, with no barrier: the same
//! multiply-adds, a few times faster there (docs/performance.md). The weights are expanded in
//! registers, never in memory.
//!
//! Runs through burn's backend extensions: `Fusion<CubeBackend>` queues it as an opaque custom
//! operation, so the ops around it still fuse with their other neighbours.

use burn::backend::tensor::{FloatTensor, QuantizedTensor};
use burn::backend::wgpu::{CubeBackend, CubeTensor};
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::quantization::{QuantMode, QuantScheme, QuantStore, QuantValue, ScaleDtype};
use burn::tensor::{DType, Shape, Tensor};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use cubecl::prelude::CubeDim;
use cubecl::calculate_cube_count_elemwise;

/// What the kernel applies to `x · w + bias` before storing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    None,
    /// y·σ(1.702·y), OpenAI's GELU approximation.
    QuickGelu,
}

#[backend_extension(Cube: cfg(feature = "wgpu"), Fusion: cfg(feature = "wgpu"))]
pub trait QuantizedLinearOps: Backend {
    /// `x` [.., k] · `weight` [k, n] (8-bit) + `bias` [n], then the epilogue (0: none, 1: QuickGELU).
    #[fusion(dtype = x, shape = linear_shape(x, weight))]
    fn quantized_linear(x: FloatTensor<Self>, weight: QuantizedTensor<Self>, bias: FloatTensor<Self>, epilogue: u32) -> FloatTensor<Self>;

    /// `residual` + `x` · `weight` + `bias`.
    #[fusion(dtype = x, shape = linear_shape(x, weight))]
    fn quantized_linear_add(x: FloatTensor<Self>, weight: QuantizedTensor<Self>, bias: FloatTensor<Self>, residual: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn linear_shape(x: &Shape, weight: &Shape) -> Shape {
    let mut shape = x.clone();
    let last = shape.num_dims() - 1;
    shape[last] = weight[1];
    shape
}

/// Whether [`linear`] runs this weight: Q8S, four to a word, f32 scales in blocks along a row
/// whose width is a multiple of 4, and both dimensions multiples of 4 (every released CLIP's).
pub fn fits(weight: &Tensor<2>) -> bool {
    let DType::QFloat(scheme) = weight.dtype() else { return false };
    let [k, n] = weight.dims();
    let block = row_block(&scheme);
    scheme.value == QuantValue::Q8S
        && scheme.store == QuantStore::PackedU32(0)
        && scheme.mode == QuantMode::Symmetric
        && scheme.tensor_scale().is_none()
        && scheme.scale_dtype() == ScaleDtype::F32
        && block.is_some_and(|block| block % 4 == 0 && n % block == 0)
        && k % 4 == 0
        && n % 4 == 0
}

/// The columns one scale covers, for blocks along a row (`[1, run]`); `None` for other layouts.
fn row_block(scheme: &QuantScheme) -> Option<usize> {
    scheme.block_size().and_then(|block| match block.as_slice() {
        [1, run] | [run] => Some(*run as usize),
        _ => None,
    })
}

/// `x · weight + bias` then the epilogue, for a weight [`fits`] accepts, on a GPU device.
pub fn linear<const D: usize>(x: Tensor<D>, weight: &Tensor<2>, bias: &Tensor<1>, epilogue: Epilogue) -> Tensor<D> {
    let code = match epilogue {
        Epilogue::None => 0,
        Epilogue::QuickGelu => 1,
    };
    Tensor::from_dispatch(Dispatch::quantized_linear(x.into_dispatch(), weight.clone().into_dispatch(), bias.clone().into_dispatch(), code))
}

/// `residual + x · weight + bias`, for a weight [`fits`] accepts, on a GPU device.
pub fn linear_add<const D: usize>(x: Tensor<D>, weight: &Tensor<2>, bias: &Tensor<1>, residual: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::quantized_linear_add(x.into_dispatch(), weight.clone().into_dispatch(), bias.clone().into_dispatch(), residual.into_dispatch()))
}

impl QuantizedLinearOps for CubeBackend {
    fn quantized_linear(x: CubeTensor, weight: CubeTensor, bias: CubeTensor, epilogue: u32) -> CubeTensor {
        launch(x, weight, bias, None, epilogue == 1)
    }

    fn quantized_linear_add(x: CubeTensor, weight: CubeTensor, bias: CubeTensor, residual: CubeTensor) -> CubeTensor {
        launch(x, weight, bias, Some(residual), false)
    }
}

/// Rows and 4-column words of sums each invocation keeps.
const ROWS_PER_UNIT: usize = 8;
const WORDS_PER_UNIT: usize = 2;
const UNITS_PER_CUBE: u32 = 64;

fn launch(x: CubeTensor, weight: CubeTensor, bias: CubeTensor, residual: Option<CubeTensor>, quick_gelu: bool) -> CubeTensor {
    let x = into_contiguous(x);
    let bias = into_contiguous(bias);
    let residual = residual.map(into_contiguous);
    let x_shape = x.meta.shape().clone();
    let k = x_shape[x_shape.num_dims() - 1];
    let rows = x_shape.num_elements() / k.max(1);
    let n = weight.meta.shape()[1];
    let Some(block) = (match weight.dtype {
        DType::QFloat(scheme) => row_block(&scheme),
        _ => None,
    }) else {
        unreachable!("fits() checked the weight's scheme")
    };
    let (values, scales) = weight.quantized_handles().expect("a quantized weight has values and scales");
    let (words, block_words) = (n / 4, block / 4);
    // The kernel indexes the words and scales as stored rows and reads f32 activations: how the
    // towers load and run them (a transposed view of a packed weight could not be read so).
    assert!(
        x.dtype == DType::F32 && values.meta.strides()[..] == [words, 1] && scales.meta.strides()[1] == 1,
        "quantized_linear: f32 activations and a row-major 8-bit weight expected"
    );
    let scale_stride = scales.meta.strides()[0];
    let words_per_unit = if block_words % WORDS_PER_UNIT == 0 { WORDS_PER_UNIT } else { 1 };

    let out = empty_device_dtype(x.client.clone(), x.device.clone(), linear_shape(&x_shape, &Shape::from([k, n])), x.dtype);
    let units = rows.div_ceil(ROWS_PER_UNIT) * (words / words_per_unit);
    let cube_dim = CubeDim::new_1d(UNITS_PER_CUBE);
    let client = x.client.clone();
    let cube_count = calculate_cube_count_elemwise(&client, units, cube_dim);
    unsafe {
        kernel::quantized_linear_kernel::launch_unchecked(
            &client,
            cube_count,
            cube_dim,
            4,
            x.into_tensor_arg(),
            values.into_tensor_arg(),
            scales.into_tensor_arg(),
            bias.into_tensor_arg(),
            residual.map(|r| r.into_buffer_arg()).into(),
            out.clone().into_tensor_arg(),
            rows,
            k / 4,
            words,
            scale_stride,
            ROWS_PER_UNIT,
            words_per_unit,
            block_words,
            quick_gelu,
        );
    }
    out
}

mod kernel {
    use cubecl::prelude::*;

    /// One invocation: rows `row0..row0 + rows_per_unit` × words `word0..word0 + words_per_unit` of
    /// the output (4 columns a word), summed over k in order, four k at a time.
    #[cube(launch_unchecked)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn quantized_linear_kernel<N: Size>(
        x: &Tensor<Vector<f32, N>>,
        weights: &Tensor<u32>,
        scales: &Tensor<f32>,
        bias: &Tensor<Vector<f32, N>>,
        residual: ComptimeOption<&[Vector<f32, N>]>,
        out: &mut Tensor<Vector<f32, N>>,
        rows: usize,
        k_vectors: usize,
        words: usize,
        scale_stride: usize,
        #[comptime] rows_per_unit: usize,
        #[comptime] words_per_unit: usize,
        #[comptime] block_words: usize,
        #[comptime] quick_gelu: bool,
    ) {
        let groups = words / words_per_unit;
        let row0 = (ABSOLUTE_POS / groups) * rows_per_unit;
        if row0 >= rows {
            terminate!();
        }
        let word0 = (ABSOLUTE_POS % groups) * words_per_unit;
        let scale_col = word0 / block_words;

        // Rows past the end read the last row (no branch in the loop); their sums are never stored.
        let mut x_at = Array::<usize>::new(rows_per_unit);
        #[unroll]
        for r in 0..rows_per_unit {
            x_at[r] = min(row0 + r, rows - 1) * k_vectors;
        }
        let mut sums = Array::<Vector<f32, N>>::new(rows_per_unit * words_per_unit);
        #[unroll]
        for i in 0..rows_per_unit * words_per_unit {
            sums[i] = Vector::new(0.0);
        }
        // A word's four bytes, each moved to the top of its lane, then shifted back down with its sign.
        let mut to_top = Vector::<u32, N>::empty();
        to_top.insert(0usize, 24u32);
        to_top.insert(1usize, 16u32);
        to_top.insert(2usize, 8u32);
        to_top.insert(3usize, 0u32);
        let down = Vector::<i32, N>::new(24i32);

        let mut xs = Array::<Vector<f32, N>>::new(rows_per_unit);
        for kq in 0..k_vectors {
            #[unroll]
            for r in 0..rows_per_unit {
                xs[r] = x[x_at[r] + kq];
            }
            #[unroll]
            for j in 0..4usize {
                let kk = kq * 4 + j;
                let scale = Vector::<f32, N>::new(scales[kk * scale_stride + scale_col]);
                #[unroll]
                for c in 0..words_per_unit {
                    let word = weights[kk * words + word0 + c];
                    let bytes = Vector::<i32, N>::cast_from(Vector::<u32, N>::new(word) << to_top) >> down;
                    let w = Vector::<f32, N>::cast_from(bytes) * scale;
                    #[unroll]
                    for r in 0..rows_per_unit {
                        let i = r * words_per_unit + c;
                        sums[i] = fma(Vector::<f32, N>::new(xs[r].extract(j)), w, sums[i]);
                    }
                }
            }
        }

        #[unroll]
        for r in 0..rows_per_unit {
            let row = row0 + r;
            if row < rows {
                #[unroll]
                for c in 0..words_per_unit {
                    let at = row * words + word0 + c;
                    let mut y = sums[r * words_per_unit + c] + bias[word0 + c];
                    if comptime![quick_gelu] {
                        y = y / (Vector::new(1.0) + Vector::exp(y * Vector::new(-1.702)));
                    }
                    let added: ComptimeOption<Vector<f32, N>> = residual.map(|residual| residual[at]);
                    if comptime![added.is_some()] {
                        y += added.unwrap_or_else(|| Vector::new(0.0));
                    }
                    out[at] = y;
                }
            }
        }
    }
}

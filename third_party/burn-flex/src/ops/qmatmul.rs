//! Float × block-quantized matmul computed on integers, the weights never expanded.
//! (Patch to burn-flex 0.22.1; see `PATCHED.md`.)
//!
//! Upstream dequantizes the whole weight to f32 on every call and runs the f32 gemm: four
//! times the memory traffic, and in wasm a 4-wide f32 kernel with no FMA. Here the weight's
//! i8 values are multiplied as they are stored, with `i32x4.dot_i16x8_s` (x86's `pmaddwd`):
//! eight multiply-adds per instruction, exact i32 sums.
//!
//! A weight value is `scale[k, block of n] · q[k, n]`: its scale varies along the reduction
//! dimension `k`, so it cannot be pulled out of the sum. It is folded into the activations
//! instead, once per block of output columns: `y[m, k] = x[m, k] · scale[k, j]`, quantized per
//! row to i16 with as many levels as the i32 sum can hold without overflow (about 14 bits for a
//! 768-wide reduction, 12 for 3072), so the error added to the weights' own is small.
//! Non-finite activations take a plain f32 path so that NaN and infinities propagate as they
//! would through the f32 gemm.

use alloc::vec;
use alloc::vec::Vec;

/// The right-hand operand: `k × n` quantized values in row-major order (or, with `panels`, in
/// [`to_panels`]' order), one scale per `1 × block` run along `n` (`scales[k * n / block + j]`),
/// times a per-tensor `global`.
pub struct QuantizedMatrix<'a> {
    pub values: &'a [i8],
    pub scales: &'a [f32],
    pub global: f32,
    pub k: usize,
    pub n: usize,
    pub block: usize,
    /// The values are already in the order the kernel streams ([`to_panels`]), so no call packs
    /// them.
    pub panels: bool,
}

impl QuantizedMatrix<'_> {
    /// Weight `(kk, col)`, in either order.
    fn value(&self, kk: usize, col: usize) -> i8 {
        if self.panels { self.values[panel_index(self.k, kk, col)] } else { self.values[kk * self.n + col] }
    }
}

/// Whether a `k × n` matrix (blocks of `block` columns) can be stored in panel order: whole row
/// pairs, and whole 8-column tiles inside each block.
pub fn panels_fit(k: usize, n: usize, block: usize) -> bool {
    k > 0 && k % 2 == 0 && block > 0 && block % COLS == 0 && n % block == 0
}

/// Where weight `(kk, col)` of a matrix with `k` rows lies in panel order: one `k × 8` panel per
/// 8-column tile, left to right, each holding rows `2p` and `2p + 1` interleaved
/// (`w[2p][c], w[2p + 1][c], w[2p][c + 1], …`), which is what [`pack_panels`] writes per call.
pub fn panel_index(k: usize, kk: usize, col: usize) -> usize {
    (col / COLS) * k * COLS + (kk / 2) * 2 * COLS + (col % COLS) * 2 + kk % 2
}

/// Rewrites a row-major `k × n` matrix, in place, in panel order: done once when a model is
/// loaded, it spares every matmul the packing pass over its weights (and the panels' memory).
pub fn to_panels(values: &mut [i8], k: usize, n: usize) {
    assert!(k > 0 && k % 2 == 0 && n % COLS == 0 && values.len() == k * n, "panel order needs even k, whole 8-column tiles");
    let row_major = values.to_vec();
    pack_panels(&row_major, k, n, 0, n / COLS, values, simd_available());
}

/// The row-major matrix back from panel order (for any operation but the matmul).
pub fn from_panels(values: &[i8], k: usize, n: usize) -> Vec<i8> {
    assert!(k % 2 == 0 && n % COLS == 0 && values.len() == k * n, "not a panel-ordered k × n matrix");
    let mut out = vec![0i8; k * n];
    for (t, panel) in values.chunks_exact(k * COLS).enumerate() {
        for (p, pair) in panel.chunks_exact(2 * COLS).enumerate() {
            for c in 0..COLS {
                out[2 * p * n + t * COLS + c] = pair[2 * c];
                out[(2 * p + 1) * n + t * COLS + c] = pair[2 * c + 1];
            }
        }
    }
    out
}

/// Columns per micro-tile (two vectors of four i32 sums).
const COLS: usize = 8;
/// Rows per micro-tile: 4 × 2 accumulators, 2 weight vectors, a splat and a product. Six rows
/// fit x86-64's 16 vector registers on paper, but V8's code for them runs slower: in Chromium 156
/// (`bench/kernels`, k = 768 / 3072) 4 rows do 33.7 / 38.4 G multiply-adds a second, 6 rows
/// 28.1 / 27.0, and a ViT-B/32 image on one thread took 16 % less time with 4.
const ROWS: usize = 4;

/// The largest activation magnitude for which a `k`-long sum of `activation × weight` (|weight|
/// ≤ 128) cannot overflow an i32.
pub fn activation_limit(k: usize) -> i32 {
    let pairs = k.div_ceil(2).max(1) * 2;
    let limit = (i32::MAX as usize) / (128 * pairs);
    limit.clamp(1, i16::MAX as usize) as i32
}

/// `lhs` (`m × k`, row-major f32) times `rhs`: `m × n`, row-major.
pub fn matmul(lhs: &[f32], m: usize, rhs: &QuantizedMatrix) -> Vec<f32> {
    matmul_with(lhs, m, rhs, simd_available())
}

/// As [`matmul`], choosing the integer kernel: SIMD where this target has one, or the portable
/// one (tests compare the two; their integer sums must agree exactly).
pub fn matmul_with(lhs: &[f32], m: usize, rhs: &QuantizedMatrix, use_simd: bool) -> Vec<f32> {
    let (k, n, block) = (rhs.k, rhs.n, rhs.block);
    assert!(block > 0 && n % block == 0, "quantization blocks must divide the columns");
    assert_eq!(lhs.len(), m * k, "lhs must be m × k");
    assert_eq!(rhs.values.len(), k * n, "rhs must be k × n");
    assert_eq!(rhs.scales.len(), k * (n / block), "one scale per block");
    assert!(!rhs.panels || panels_fit(k, n, block), "panel order needs even k, whole tiles per block");

    let blocks = n / block;
    let padded_k = k.div_ceil(2) * 2;
    let mut out = vec![0.0f32; m * n];
    let (activations, kinds) = fold_and_quantize(lhs, m, rhs, padded_k);
    // Each block's rows that are multiplied as integers, with their steps.
    let integer_rows: Vec<Vec<(usize, f32)>> = (0..blocks)
        .map(|j| {
            (0..m)
                .filter_map(|row| match kinds[j * m + row] {
                    Row::Integer(step) => Some((row, step)),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let acts_of = |j: usize, row: usize| {
        let start = (j * m + row) * padded_k;
        &activations[start..start + padded_k]
    };

    // The tiled columns, cut into runs of whole 8-column tiles within one block. Each run is
    // independent work (its own packed panels, its own output columns), so with threads the
    // runs are shared out; every sum is computed exactly as it is without them.
    let tiles = block / COLS;
    let per_run = tiles_per_run(m, k, blocks * tiles);
    let runs: Vec<(usize, usize, usize)> = (0..blocks)
        .filter(|&j| !integer_rows[j].is_empty())
        .flat_map(|j| (0..tiles).step_by(per_run).map(move |t| (j, t, per_run.min(tiles - t))))
        .collect();
    let panel_len = padded_k * COLS;
    let run_tiles = |&(j, t0, count): &(usize, usize, usize)| -> Vec<f32> {
        let rows = &integer_rows[j];
        let col0 = j * block + t0 * COLS;
        // The run's weights as one contiguous panel per 8-column tile (k × 8 bytes: 6 kB at
        // k = 768), so the row tiles stream them from L1 instead of touching one cache line
        // per weight row: packed here, unless the weights are stored that way.
        let packed;
        let panels: &[i8] = if rhs.panels {
            &rhs.values[col0 / COLS * panel_len..(col0 / COLS + count) * panel_len]
        } else {
            let mut panels = vec![0i8; count * panel_len];
            pack_panels(rhs.values, k, n, col0, count, &mut panels, use_simd);
            packed = panels;
            &packed
        };
        // Row-major `rows × (count × 8)`: the run's outputs for its block's integer rows.
        let width = count * COLS;
        let mut sums_out = vec![0.0f32; rows.len() * width];
        for t in 0..count {
            let panel = &panels[t * panel_len..(t + 1) * panel_len];
            for (chunk, group) in rows.chunks(ROWS).enumerate() {
                let mut acts: [&[i16]; ROWS] = [&[]; ROWS];
                for (slot, &(row, _)) in acts.iter_mut().zip(group) {
                    *slot = acts_of(j, row);
                }
                let sums = tile(&acts[..group.len()], panel, use_simd);
                for (r, &(_, step)) in group.iter().enumerate() {
                    let at = (chunk * ROWS + r) * width + t * COLS;
                    for c in 0..COLS {
                        sums_out[at + c] = sums[r][c] as f32 * step;
                    }
                }
            }
        }
        sums_out
    };
    #[cfg(feature = "rayon")]
    let results: Vec<Vec<f32>> = {
        use rayon::prelude::*;
        if runs.len() > 1 { runs.par_iter().map(run_tiles).collect() } else { runs.iter().map(run_tiles).collect() }
    };
    #[cfg(not(feature = "rayon"))]
    let results: Vec<Vec<f32>> = runs.iter().map(run_tiles).collect();
    for (&(j, t0, count), sums) in runs.iter().zip(&results) {
        let (col0, width) = (j * block + t0 * COLS, count * COLS);
        for (i, &(row, _)) in integer_rows[j].iter().enumerate() {
            out[row * n + col0..row * n + col0 + width].copy_from_slice(&sums[i * width..(i + 1) * width]);
        }
    }

    for j in 0..blocks {
        let columns = j * block..(j + 1) * block;
        for col in columns.start + tiles * COLS..columns.end {
            for &(row, step) in &integer_rows[j] {
                let act = acts_of(j, row);
                let mut sum = 0i32;
                for kk in 0..k {
                    sum += i32::from(act[kk]) * i32::from(rhs.value(kk, col));
                }
                out[row * n + col] = sum as f32 * step;
            }
        }
        for row in (0..m).filter(|&row| kinds[j * m + row] == Row::Float) {
            let x = &lhs[row * k..(row + 1) * k];
            for col in columns.clone() {
                let mut sum = 0.0f32;
                for kk in 0..k {
                    let scale = rhs.global * rhs.scales[kk * blocks + j];
                    sum += x[kk] * scale * f32::from(rhs.value(kk, col));
                }
                out[row * n + col] = sum;
            }
        }
    }
    out
}

/// A right-hand operand whose scales run along the reduction instead: `k × n` row-major values,
/// one scale per `run × 1` block down each column (`scales[(kk / run) * n + col]`, the order of
/// burn's block layout), times `global`. A convolution kernel quantized along its own last axis
/// (the kernel width: burn's blocks) is this, once its weight matrix is transposed to `k × n`.
pub struct KBlockMatrix<'a> {
    pub values: &'a [i8],
    pub scales: &'a [f32],
    pub global: f32,
    pub k: usize,
    pub n: usize,
    pub run: usize,
}

/// `lhs` (`m × k`, row-major f32) times `rhs`, blocks along `k`: `m × n`, row-major.
pub fn matmul_k_blocks(lhs: &[f32], m: usize, rhs: &KBlockMatrix) -> Vec<f32> {
    matmul_k_blocks_with(lhs, m, rhs, simd_available())
}

/// As [`matmul_k_blocks`], choosing the integer kernel.
///
/// The scales cannot be folded into the activations once per column block, as [`matmul_with`]
/// does: they change along `k`. But within one block of `run` rows each column has a single
/// scale, so the same micro-tile sums each block's `run` products exactly as integers, and
/// those block sums are scaled and added in f32. The activations are quantized once per row,
/// with every i16 level (a `run`-long i32 sum cannot overflow for `run` ≤ 512).
pub fn matmul_k_blocks_with(lhs: &[f32], m: usize, rhs: &KBlockMatrix, use_simd: bool) -> Vec<f32> {
    let (k, n, run) = (rhs.k, rhs.n, rhs.run);
    assert!(run > 0 && run % 2 == 0 && k % run == 0, "blocks along k must be an even run dividing k");
    assert_eq!(lhs.len(), m * k, "lhs must be m × k");
    assert_eq!(rhs.values.len(), k * n, "rhs must be k × n");
    assert_eq!(rhs.scales.len(), (k / run) * n, "one scale per block");

    let limit = activation_limit(run) as f32;
    let scales_finite = rhs.global.is_finite() && rhs.scales.iter().all(|s| s.is_finite());
    let ones = vec![1.0f32; k];
    let mut copy = vec![0.0f32; k];
    let mut activations = vec![0i16; m * k];
    let mut kinds = vec![Row::Zero; m];
    for row in 0..m {
        let x = &lhs[row * k..(row + 1) * k];
        let peak = fold(x, &ones, &mut copy);
        let step = peak / limit;
        // (`fold`'s peak skips NaN: finiteness is checked on the values themselves.)
        kinds[row] = if !(scales_finite && x.iter().all(|v| v.is_finite())) {
            Row::Float
        } else if peak == 0.0 {
            Row::Zero
        } else if !step.is_normal() {
            Row::Float
        } else {
            quantize(x, limit / peak, &mut activations[row * k..(row + 1) * k]);
            Row::Integer(step)
        };
    }
    let integer_rows: Vec<(usize, f32)> = (0..m).filter_map(|row| match kinds[row] {
        Row::Integer(step) => Some((row, step)),
        _ => None,
    }).collect();

    // One 8-column tile at a time: its panel packed once, then every group of rows walks it
    // block by block.
    let tiles = n / COLS;
    let panel_len = k * COLS;
    let one_tile = |t: usize| -> Vec<f32> {
        let mut panel = vec![0i8; panel_len];
        pack_panels(rhs.values, k, n, t * COLS, 1, &mut panel, use_simd);
        let mut sums_out = vec![0.0f32; integer_rows.len() * COLS];
        for (chunk, group) in integer_rows.chunks(ROWS).enumerate() {
            let mut acts: [&[i16]; ROWS] = [&[]; ROWS];
            for (slot, &(row, _)) in acts.iter_mut().zip(group) {
                *slot = &activations[row * k..(row + 1) * k];
            }
            let totals = tile_k_blocks(&acts[..group.len()], &panel, run, &rhs.scales[t * COLS..], n, use_simd);
            for (r, &(_, step)) in group.iter().enumerate() {
                let at = (chunk * ROWS + r) * COLS;
                for c in 0..COLS {
                    sums_out[at + c] = totals[r][c] * (step * rhs.global);
                }
            }
        }
        sums_out
    };
    #[cfg(feature = "rayon")]
    let results: Vec<Vec<f32>> = {
        use rayon::prelude::*;
        if rayon::current_num_threads() > 1 && tiles > 1 { (0..tiles).into_par_iter().map(one_tile).collect() } else { (0..tiles).map(one_tile).collect() }
    };
    #[cfg(not(feature = "rayon"))]
    let results: Vec<Vec<f32>> = (0..tiles).map(one_tile).collect();
    let mut out = vec![0.0f32; m * n];
    for (t, sums) in results.iter().enumerate() {
        for (i, &(row, _)) in integer_rows.iter().enumerate() {
            out[row * n + t * COLS..row * n + (t + 1) * COLS].copy_from_slice(&sums[i * COLS..(i + 1) * COLS]);
        }
    }

    // Columns past the last whole tile, and rows that are not finite, one product at a time.
    let weight = |kk: usize, col: usize| rhs.global * rhs.scales[kk / run * n + col] * f32::from(rhs.values[kk * n + col]);
    for col in tiles * COLS..n {
        for &(row, step) in &integer_rows {
            let act = &activations[row * k..(row + 1) * k];
            let mut total = 0.0f32;
            for b in 0..k / run {
                let mut sum = 0i32;
                for kk in b * run..(b + 1) * run {
                    sum += i32::from(act[kk]) * i32::from(rhs.values[kk * n + col]);
                }
                total += sum as f32 * rhs.scales[b * n + col];
            }
            out[row * n + col] = total * (step * rhs.global);
        }
    }
    for row in (0..m).filter(|&row| kinds[row] == Row::Float) {
        let x = &lhs[row * k..(row + 1) * k];
        for col in 0..n {
            out[row * n + col] = (0..k).map(|kk| x[kk] * weight(kk, col)).sum();
        }
    }
    out
}

/// How many 8-column tiles one run of work takes: the whole block's worth without threads (one
/// panel pack per block, as before threads), otherwise enough runs for every thread to take
/// several (uneven runs balance), but none so small that sharing it out costs more than it saves.
fn tiles_per_run(m: usize, k: usize, total_tiles: usize) -> usize {
    #[cfg(feature = "rayon")]
    {
        let threads = rayon::current_num_threads();
        // About 100k multiply-adds (tens of microseconds) per run at the least.
        let smallest = (100_000 / (m * k * COLS).max(1)).max(1);
        if threads > 1 {
            return (total_tiles / (threads * 4)).max(smallest).max(1);
        }
    }
    let _ = (m, k);
    total_tiles.max(1)
}

/// How a row of activations is multiplied in one block of columns.
#[derive(Clone, Copy, PartialEq)]
enum Row {
    /// All zero there: its outputs stay zero.
    Zero,
    /// Quantized; each level stands for this step.
    Integer(f32),
    /// Not finite: computed in f32 so NaN and infinities propagate.
    Float,
}

/// Every row's activations folded with every block's scales, then quantized: block-major,
/// `padded_k` i16 per (block, row) (the last, if `k` is odd, stays zero), with what each row is
/// in each block (`kinds[block * m + row]`).
#[inline(never)]
fn fold_and_quantize(lhs: &[f32], m: usize, rhs: &QuantizedMatrix, padded_k: usize) -> (Vec<i16>, Vec<Row>) {
    let (k, blocks) = (rhs.k, rhs.n / rhs.block);
    let limit = activation_limit(k) as f32;
    let scales_finite = rhs.global.is_finite() && rhs.scales.iter().all(|s| s.is_finite());
    let mut activations = vec![0i16; blocks * m * padded_k];
    let mut kinds = vec![Row::Zero; blocks * m];
    // The scales block-major (one contiguous run of `k` per block), so that the loops below
    // are elementwise over `k` and vectorise.
    let mut block_scales = vec![0.0f32; blocks * k];
    for kk in 0..k {
        for j in 0..blocks {
            block_scales[j * k + kk] = rhs.global * rhs.scales[kk * blocks + j];
        }
    }
    let mut folded = vec![0.0f32; k];
    for row in 0..m {
        let x = &lhs[row * k..(row + 1) * k];
        if !(scales_finite && x.iter().all(|v| v.is_finite())) {
            for j in 0..blocks {
                kinds[j * m + row] = Row::Float;
            }
            continue;
        }
        for j in 0..blocks {
            let scales = &block_scales[j * k..(j + 1) * k];
            let peak = fold(x, scales, &mut folded);
            let step = peak / limit;
            kinds[j * m + row] = if peak == 0.0 {
                Row::Zero
            } else if !peak.is_finite() || !step.is_normal() {
                Row::Float
            } else {
                let inverse = limit / peak;
                let start = (j * m + row) * padded_k;
                quantize(&folded, inverse, &mut activations[start..start + k]);
                Row::Integer(step)
            };
        }
    }
    (activations, kinds)
}

/// `y = x · scales`, elementwise; returns the largest `|y|` (all inputs finite).
fn fold(x: &[f32], scales: &[f32], y: &mut [f32]) -> f32 {
    let k = x.len();
    assert!(scales.len() == k && y.len() == k);
    // Where the elements the SIMD loop leaves start (all of them where there is none).
    #[allow(unused_mut, unused_assignments)]
    let mut start = 0;
    let mut peak = 0.0f32;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let mut lanes = f32x4_splat(0.0);
        start = k / 4 * 4;
        for i in (0..start).step_by(4) {
            // SAFETY: i + 4 <= k for all three slices.
            unsafe {
                let v = f32x4_mul(v128_load(x.as_ptr().add(i) as *const v128), v128_load(scales.as_ptr().add(i) as *const v128));
                v128_store(y.as_mut_ptr().add(i) as *mut v128, v);
                lanes = f32x4_pmax(lanes, f32x4_abs(v));
            }
        }
        let lanes: [f32; 4] = unsafe { core::mem::transmute(lanes) };
        peak = lanes.iter().fold(peak, |a, &b| a.max(b));
    }
    for i in start..k {
        y[i] = x[i] * scales[i];
        peak = peak.max(y[i].abs());
    }
    peak
}

/// `q = round(y · inverse)`, half away from zero; every `|y · inverse|` is at most the
/// activation limit, so the conversions are exact.
fn quantize(y: &[f32], inverse: f32, q: &mut [i16]) {
    let k = y.len();
    assert!(q.len() == k);
    // Where the elements the SIMD loop leaves start (all of them where there is none).
    #[allow(unused_mut, unused_assignments)]
    let mut start = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let (scale, half, sign) = (f32x4_splat(inverse), f32x4_splat(0.5), u32x4_splat(0x8000_0000));
        let round = |v: v128| {
            let v = f32x4_mul(v, scale);
            i32x4_trunc_sat_f32x4(f32x4_add(v, v128_or(half, v128_and(v, sign))))
        };
        start = k / 8 * 8;
        for i in (0..start).step_by(8) {
            // SAFETY: i + 8 <= k for both slices.
            unsafe {
                let low = round(v128_load(y.as_ptr().add(i) as *const v128));
                let high = round(v128_load(y.as_ptr().add(i + 4) as *const v128));
                v128_store(q.as_mut_ptr().add(i) as *mut v128, i16x8_narrow_i32x4(low, high));
            }
        }
    }
    for i in start..k {
        let v = y[i] * inverse;
        q[i] = (v + 0.5f32.copysign(v)) as i32 as i16;
    }
}

/// Weight rows `2p` and `2p + 1` of columns `col0 + 8t .. + 8`, interleaved
/// (`w[2p][c], w[2p + 1][c], w[2p][c + 1], …`): the 16 bytes of pair `p` in tile `t`'s panel,
/// which is `padded_k × 8` bytes. An odd `k`'s missing last row is zero.
fn pack_panels(values: &[i8], k: usize, n: usize, col0: usize, tiles: usize, panels: &mut [i8], use_simd: bool) {
    let pairs = k.div_ceil(2);
    let panel_len = pairs * 2 * COLS;
    assert!(panels.len() >= tiles * panel_len && col0 + tiles * COLS <= n && values.len() == k * n);
    let zeros = [0i8; 16];
    for p in 0..pairs {
        let first = &values[2 * p * n + col0..2 * p * n + col0 + tiles * COLS];
        let second: &[i8] = if 2 * p + 1 < k { &values[(2 * p + 1) * n + col0..(2 * p + 1) * n + col0 + tiles * COLS] } else { &[] };
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        if use_simd {
            // SAFETY: `first` and `second` (or `zeros`, not advanced) hold `tiles × 8` bytes,
            // and tile t's 16 bytes of pair p lie within `panels` (asserted above).
            unsafe {
                let (a, out) = (first.as_ptr(), panels.as_mut_ptr().add(p * 2 * COLS));
                let (b, step_b) = if second.is_empty() { (zeros.as_ptr(), 0) } else { (second.as_ptr(), 1) };
                let mut t = 0;
                while t + 2 <= tiles {
                    simd::interleave16(a.add(t * COLS), b.add(t * COLS * step_b), out.add(t * panel_len), out.add((t + 1) * panel_len));
                    t += 2;
                }
                if t < tiles {
                    simd::interleave(a.add(t * COLS), b.add(t * COLS * step_b), out.add(t * panel_len));
                }
            }
            continue;
        }
        let _ = use_simd;
        for t in 0..tiles {
            let dst = &mut panels[t * panel_len + p * 2 * COLS..t * panel_len + (p + 1) * 2 * COLS];
            for i in 0..COLS {
                dst[2 * i] = first[t * COLS + i];
                dst[2 * i + 1] = if second.is_empty() { 0 } else { second[t * COLS + i] };
            }
        }
    }
}

/// i32 sums over `k` of `acts[r][kk] · w[kk][col + c]` for up to [`ROWS`] rows and the
/// [`COLS`] columns of one packed panel.
#[inline(never)]
fn tile(acts: &[&[i16]], panel: &[i8], use_simd: bool) -> [[i32; COLS]; ROWS] {
    let pairs = panel.len() / (2 * COLS);
    debug_assert!(acts.len() <= ROWS && acts.iter().all(|a| a.len() == 2 * pairs));
    if use_simd {
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        // SAFETY: every row of `acts` holds `2 × pairs` values and the panel `16 × pairs` bytes,
        // which is all the kernel reads.
        return unsafe {
            match acts.len() {
                4 => simd::tile::<4>(acts, panel.as_ptr(), pairs),
                3 => simd::tile::<3>(acts, panel.as_ptr(), pairs),
                2 => simd::tile::<2>(acts, panel.as_ptr(), pairs),
                _ => simd::tile::<1>(acts, panel.as_ptr(), pairs),
            }
        };
    }
    let mut sums = [[0i32; COLS]; ROWS];
    for (r, act) in acts.iter().enumerate() {
        for p in 0..pairs {
            let (a0, a1) = (i32::from(act[2 * p]), i32::from(act[2 * p + 1]));
            let w = &panel[p * 2 * COLS..(p + 1) * 2 * COLS];
            for c in 0..COLS {
                sums[r][c] += a0 * i32::from(w[2 * c]) + a1 * i32::from(w[2 * c + 1]);
            }
        }
    }
    sums
}

/// [`tile`]'s sums block by block along `k`: each run of `run` rows' i32 sums times its
/// columns' scales (`scales[b * stride + c]` for block `b`), added in f32 in block order.
fn tile_k_blocks(acts: &[&[i16]], panel: &[i8], run: usize, scales: &[f32], stride: usize, use_simd: bool) -> [[f32; COLS]; ROWS] {
    let k = panel.len() / COLS;
    let blocks = k / run;
    assert!(run % 2 == 0 && k % run == 0 && acts.len() <= ROWS && acts.iter().all(|a| a.len() == k));
    assert!(blocks == 0 || scales.len() >= (blocks - 1) * stride + COLS);
    if use_simd {
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        // SAFETY: every row holds `k` values, the panel `k × 8` bytes and the scales every
        // block's 8 (asserted above), which is all the kernel reads.
        return unsafe {
            let (panel, scales, pairs) = (panel.as_ptr(), scales.as_ptr(), run / 2);
            match acts.len() {
                4 => simd::tile_k_blocks::<4>(acts, panel, pairs, blocks, scales, stride),
                3 => simd::tile_k_blocks::<3>(acts, panel, pairs, blocks, scales, stride),
                2 => simd::tile_k_blocks::<2>(acts, panel, pairs, blocks, scales, stride),
                _ => simd::tile_k_blocks::<1>(acts, panel, pairs, blocks, scales, stride),
            }
        };
    }
    let mut totals = [[0.0f32; COLS]; ROWS];
    for b in 0..blocks {
        let rows: Vec<&[i16]> = acts.iter().map(|a| &a[b * run..(b + 1) * run]).collect();
        let sums = tile(&rows, &panel[b * run * COLS..(b + 1) * run * COLS], false);
        for (total, sum) in totals.iter_mut().zip(&sums) {
            for c in 0..COLS {
                total[c] += sum[c] as f32 * scales[b * stride + c];
            }
        }
    }
    totals
}

pub const fn simd_available() -> bool {
    cfg!(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))
}

/// The same micro-kernel on wasm simd128 and x86-64's SSE2 (its baseline): `i32x4.dot_i16x8_s`
/// and `pmaddwd` are the same instruction, so one body serves both.
#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
mod simd {
    use super::{COLS, ROWS};

    #[cfg(target_arch = "wasm32")]
    mod isa {
        use core::arch::wasm32::*;
        pub type V = v128;
        /// Eight i8 (one pair of weight rows for four columns), widened to i16.
        #[inline(always)]
        pub unsafe fn load_i8x8(p: *const i8) -> V {
            unsafe { i16x8_load_extend_i8x8(p) }
        }
        #[inline(always)]
        pub unsafe fn splat_pair(p: *const i16) -> V {
            unsafe { v128_load32_splat(p as *const u32) }
        }
        #[inline(always)]
        pub fn zero() -> V {
            i32x4_splat(0)
        }
        #[inline(always)]
        pub fn dot_add(acc: V, a: V, b: V) -> V {
            i32x4_add(acc, i32x4_dot_i16x8(a, b))
        }
        #[inline(always)]
        pub unsafe fn store(p: *mut i32, v: V) {
            unsafe { v128_store(p as *mut v128, v) }
        }
        #[inline(always)]
        pub unsafe fn interleave(a: *const i8, b: *const i8, out: *mut i8) {
            unsafe {
                let (a, b) = (v128_load64_zero(a as *const u64), v128_load64_zero(b as *const u64));
                let zipped = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b);
                v128_store(out as *mut v128, zipped)
            }
        }
        /// Sixteen columns at once: the first eight interleaved into `low`, the rest into `high`.
        #[inline(always)]
        pub unsafe fn interleave16(a: *const i8, b: *const i8, low: *mut i8, high: *mut i8) {
            unsafe {
                let (a, b) = (v128_load(a as *const v128), v128_load(b as *const v128));
                let first = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b);
                let second = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(a, b);
                v128_store(low as *mut v128, first);
                v128_store(high as *mut v128, second)
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    mod isa {
        use core::arch::x86_64::*;
        pub type V = __m128i;
        #[inline(always)]
        pub unsafe fn load_i8x8(p: *const i8) -> V {
            unsafe {
                let bytes = _mm_loadl_epi64(p as *const __m128i);
                // Each byte into the high half of a 16-bit lane, then an arithmetic shift down:
                // sign extension with SSE2 alone.
                _mm_srai_epi16(_mm_unpacklo_epi8(bytes, bytes), 8)
            }
        }
        #[inline(always)]
        pub unsafe fn splat_pair(p: *const i16) -> V {
            unsafe { _mm_set1_epi32(core::ptr::read_unaligned(p as *const i32)) }
        }
        #[inline(always)]
        pub fn zero() -> V {
            unsafe { _mm_setzero_si128() }
        }
        #[inline(always)]
        pub fn dot_add(acc: V, a: V, b: V) -> V {
            unsafe { _mm_add_epi32(acc, _mm_madd_epi16(a, b)) }
        }
        #[inline(always)]
        pub unsafe fn store(p: *mut i32, v: V) {
            unsafe { _mm_storeu_si128(p as *mut __m128i, v) }
        }
        #[inline(always)]
        pub unsafe fn interleave(a: *const i8, b: *const i8, out: *mut i8) {
            unsafe {
                let (a, b) = (_mm_loadl_epi64(a as *const __m128i), _mm_loadl_epi64(b as *const __m128i));
                _mm_storeu_si128(out as *mut __m128i, _mm_unpacklo_epi8(a, b))
            }
        }
        #[inline(always)]
        pub unsafe fn interleave16(a: *const i8, b: *const i8, low: *mut i8, high: *mut i8) {
            unsafe {
                let (a, b) = (_mm_loadu_si128(a as *const __m128i), _mm_loadu_si128(b as *const __m128i));
                _mm_storeu_si128(low as *mut __m128i, _mm_unpacklo_epi8(a, b));
                _mm_storeu_si128(high as *mut __m128i, _mm_unpackhi_epi8(a, b))
            }
        }
    }

    pub use isa::{interleave, interleave16};
    use isa::*;

    /// `pairs` steps of: two activations (k, k + 1) of each row as one splatted i32 lane pair,
    /// dotted with the panel's 16 interleaved bytes (columns 0–3, then 4–7).
    #[inline(always)]
    pub unsafe fn tile<const R: usize>(acts: &[&[i16]], panel: *const i8, pairs: usize) -> [[i32; COLS]; ROWS] {
        let mut low = [zero(); R];
        let mut high = [zero(); R];
        let mut rows = [core::ptr::null::<i16>(); R];
        for r in 0..R {
            rows[r] = acts[r].as_ptr();
        }
        for p in 0..pairs {
            // SAFETY (caller): pair p is within every row and the panel.
            unsafe {
                let w_low = load_i8x8(panel.add(p * 16));
                let w_high = load_i8x8(panel.add(p * 16 + 8));
                for r in 0..R {
                    let a = splat_pair(rows[r].add(2 * p));
                    low[r] = dot_add(low[r], a, w_low);
                    high[r] = dot_add(high[r], a, w_high);
                }
            }
        }
        let mut sums = [[0i32; COLS]; ROWS];
        for r in 0..R {
            unsafe {
                store(sums[r].as_mut_ptr(), low[r]);
                store(sums[r].as_mut_ptr().add(4), high[r]);
            }
        }
        sums
    }

    /// [`tile`] over `blocks` runs of `pairs` pairs, each run's sums scaled by its 8 columns'
    /// scales (`scales + b * stride`) and added in f32, without leaving the loop per run.
    #[inline(always)]
    pub unsafe fn tile_k_blocks<const R: usize>(
        acts: &[&[i16]],
        panel: *const i8,
        pairs: usize,
        blocks: usize,
        scales: *const f32,
        stride: usize,
    ) -> [[f32; COLS]; ROWS] {
        let mut totals = [[0.0f32; COLS]; ROWS];
        let mut rows = [core::ptr::null::<i16>(); R];
        for r in 0..R {
            rows[r] = acts[r].as_ptr();
        }
        for b in 0..blocks {
            let mut low = [zero(); R];
            let mut high = [zero(); R];
            for p in b * pairs..(b + 1) * pairs {
                // SAFETY (caller): pair p is within every row and the panel.
                unsafe {
                    let w_low = load_i8x8(panel.add(p * 16));
                    let w_high = load_i8x8(panel.add(p * 16 + 8));
                    for r in 0..R {
                        let a = splat_pair(rows[r].add(2 * p));
                        low[r] = dot_add(low[r], a, w_low);
                        high[r] = dot_add(high[r], a, w_high);
                    }
                }
            }
            for r in 0..R {
                let mut sums = [0i32; COLS];
                // SAFETY (caller): block b's 8 scales are readable.
                unsafe {
                    store(sums.as_mut_ptr(), low[r]);
                    store(sums.as_mut_ptr().add(4), high[r]);
                    for c in 0..COLS {
                        totals[r][c] += sums[c] as f32 * *scales.add(b * stride + c);
                    }
                }
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random stream (xorshift), so the tests need no dependency.
    struct Stream(u64);
    impl Stream {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn unit(&mut self) -> f32 {
            (self.next() % 2_000_001) as f32 / 1_000_000.0 - 1.0
        }
        fn weight(&mut self) -> i8 {
            (self.next() % 255) as i8
        }
    }

    fn case(m: usize, k: usize, n: usize, block: usize, seed: u64) -> (Vec<f32>, Vec<i8>, Vec<f32>) {
        let mut s = Stream(seed);
        let lhs = (0..m * k).map(|_| s.unit() * 3.0).collect();
        let values = (0..k * n).map(|_| s.weight()).collect();
        let scales = (0..k * (n / block)).map(|_| 0.001 + s.unit().abs() * 0.01).collect();
        (lhs, values, scales)
    }

    /// The exact product in f64, from the weights as `dequantize` would expand them.
    fn reference(lhs: &[f32], m: usize, rhs: &QuantizedMatrix) -> Vec<f64> {
        let blocks = rhs.n / rhs.block;
        let mut out = vec![0.0f64; m * rhs.n];
        for row in 0..m {
            for col in 0..rhs.n {
                let mut sum = 0.0f64;
                for kk in 0..rhs.k {
                    let w = f64::from(rhs.global * rhs.scales[kk * blocks + col / rhs.block])
                        * f64::from(rhs.values[kk * rhs.n + col]);
                    sum += f64::from(lhs[row * rhs.k + kk]) * w;
                }
                out[row * rhs.n + col] = sum;
            }
        }
        out
    }

    #[test]
    fn matches_the_dequantized_product_within_activation_rounding() {
        // Odd and even k, tail rows (m not a multiple of 4), tail columns (block not a multiple
        // of 8), one and several blocks, a two-level scale.
        for &(m, k, n, block, global) in &[
            (1, 1, 8, 8, 1.0),
            (5, 7, 24, 12, 1.0),
            (9, 64, 256, 128, 1.0),
            (50, 768, 256, 128, 0.5),
            (3, 3072, 64, 32, 1.0),
            (4, 33, 13, 13, 2.0),
        ] {
            let (lhs, values, scales) = case(m, k, n, block, (m * 31 + k * 7 + n) as u64);
            let rhs = QuantizedMatrix { values: &values, scales: &scales, global, k, n, block, panels: false };
            let expected = reference(&lhs, m, &rhs);
            for use_simd in [false, true] {
                let got = matmul_with(&lhs, m, &rhs, use_simd && simd_available());
                for row in 0..m {
                    // Each activation is off by at most half a step; the step is the row's
                    // peak folded activation over the limit. Bound the error by the sum of
                    // |weights| that half-step multiplies.
                    let blocks = n / block;
                    for col in 0..n {
                        let j = col / block;
                        let peak = (0..k)
                            .map(|kk| (lhs[row * k + kk] * global * scales[kk * blocks + j]).abs())
                            .fold(0.0f32, f32::max);
                        let step = f64::from(peak) / f64::from(activation_limit(k));
                        let weight_mass: f64 = (0..k).map(|kk| f64::from(values[kk * n + col]).abs()).sum();
                        // Plus f32 rounding of each folded term and of the final scaling.
                        let term_mass: f64 = (0..k)
                            .map(|kk| {
                                let w = f64::from(global * scales[kk * blocks + j]) * f64::from(values[kk * n + col]);
                                (f64::from(lhs[row * k + kk]) * w).abs()
                            })
                            .sum();
                        let bound = 0.5 * step * weight_mass + 1e-6 * term_mass + 1e-6;
                        let error = (f64::from(got[row * n + col]) - expected[row * n + col]).abs();
                        assert!(error <= bound, "m{m} k{k} n{n} block{block} ({row},{col}): {error} > {bound}");
                    }
                }
            }
        }
    }

    #[test]
    fn simd_and_portable_kernels_agree_exactly() {
        let (m, k, n, block) = (13, 301, 136, 68);
        let (lhs, values, scales) = case(m, k, n, block, 7);
        let rhs = QuantizedMatrix { values: &values, scales: &scales, global: 1.0, k, n, block, panels: false };
        assert_eq!(matmul_with(&lhs, m, &rhs, false), matmul_with(&lhs, m, &rhs, simd_available()));
    }

    #[test]
    fn weights_stored_in_panel_order_give_the_same_sums() {
        // Stored in panel order once, the weights must give every output bit for bit as the
        // row-major weights packed per call: several blocks and tiles, NaN and zero rows, tail
        // rows, both kernels; and the order must round-trip and agree with `panel_index`.
        for &(m, k, n, block) in &[(50, 768, 768, 128), (7, 302, 136, 8), (5, 2, 16, 16), (13, 64, 384, 128)] {
            let (mut lhs, values, scales) = case(m, k, n, block, (m * 3 + k + n) as u64);
            lhs[k + 1] = f32::NAN;
            lhs[2 * k..3 * k].fill(0.0);
            let mut panels = values.clone();
            to_panels(&mut panels, k, n);
            assert_eq!(from_panels(&panels, k, n), values);
            for (kk, col) in [(0, 0), (1, 0), (0, 7), (k - 1, n - 1), (k / 2, n / 2 + 3)] {
                assert_eq!(panels[panel_index(k, kk, col)], values[kk * n + col], "({kk}, {col})");
            }
            let row_major = QuantizedMatrix { values: &values, scales: &scales, global: 0.5, k, n, block, panels: false };
            let stored = QuantizedMatrix { values: &panels, scales: &scales, global: 0.5, k, n, block, panels: true };
            for use_simd in [false, simd_available()] {
                let (a, b) = (matmul_with(&lhs, m, &row_major, use_simd), matmul_with(&lhs, m, &stored, use_simd));
                assert_eq!(a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), b.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "m{m} k{k} n{n} block{block}");
            }
        }
        assert!(panels_fit(768, 3072, 128) && !panels_fit(767, 3072, 128) && !panels_fit(768, 12, 12) && !panels_fit(0, 8, 8));
    }

    #[cfg(feature = "rayon")]
    #[test]
    fn threads_compute_the_same_sums_as_one_thread() {
        // With threads the tiled columns are cut into runs shared out among them; every output
        // must be the one-thread value to the bit: tail columns, NaN rows and zero rows too.
        for &(m, k, n, block) in &[(50, 768, 768, 128), (7, 301, 136, 68), (13, 64, 3072, 128), (1, 1, 8, 8)] {
            let (mut lhs, values, scales) = case(m, k, n, block, (m + k + n) as u64);
            lhs[2 % m * k] = f32::NAN;
            if m > 3 {
                lhs[3 * k..4 * k].fill(0.0);
            }
            let rhs = QuantizedMatrix { values: &values, scales: &scales, global: 1.0, k, n, block, panels: false };
            let pool = |threads| rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let one = pool(1).install(|| matmul(&lhs, m, &rhs));
            let mut panels = values.clone();
            let stored = panels_fit(k, n, block).then(|| {
                to_panels(&mut panels, k, n);
                QuantizedMatrix { values: &panels, scales: &scales, global: 1.0, k, n, block, panels: true }
            });
            for threads in [2, 3, 8] {
                if let Some(stored) = &stored {
                    let many = pool(threads).install(|| matmul(&lhs, m, stored));
                    assert_eq!(many.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "panels: m{m} k{k} n{n} block{block}, {threads} threads");
                }
                let many = pool(threads).install(|| matmul(&lhs, m, &rhs));
                assert_eq!(many.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "m{m} k{k} n{n} block{block}, {threads} threads");
            }
        }
    }

    /// A `k × n` matrix with one scale per `run` rows of each column, and its f64 product.
    fn k_block_case(m: usize, k: usize, n: usize, run: usize, seed: u64) -> (Vec<f32>, Vec<i8>, Vec<f32>) {
        let mut s = Stream(seed);
        let lhs = (0..m * k).map(|_| s.unit() * 3.0).collect();
        let values = (0..k * n).map(|_| s.weight()).collect();
        let scales = (0..k / run * n).map(|_| 0.001 + s.unit().abs() * 0.01).collect();
        (lhs, values, scales)
    }

    fn k_block_weight(rhs: &KBlockMatrix, kk: usize, col: usize) -> f64 {
        f64::from(rhs.global * rhs.scales[kk / rhs.run * rhs.n + col]) * f64::from(rhs.values[kk * rhs.n + col])
    }

    #[test]
    fn k_blocks_match_the_dequantized_product_within_activation_rounding() {
        // ViT-B/32's patch embedding (k = 3 × 32 × 32, blocks of 32 along the kernel width),
        // B/16's (blocks of 16), tail rows and columns, one block, a two-level scale.
        for &(m, k, n, run, global) in &[(49, 3072, 64, 32, 1.0), (9, 768, 40, 16, 0.5), (5, 64, 13, 64, 1.0), (1, 2, 8, 2, 2.0)] {
            let (lhs, values, scales) = k_block_case(m, k, n, run, (m * 17 + k + n) as u64);
            let rhs = KBlockMatrix { values: &values, scales: &scales, global, k, n, run };
            for use_simd in [false, simd_available()] {
                let got = matmul_k_blocks_with(&lhs, m, &rhs, use_simd);
                for row in 0..m {
                    let x = &lhs[row * k..(row + 1) * k];
                    // Each activation is off by at most half a step (the row's peak over the
                    // limit); plus f32 rounding of each block's scaled sum and of their total.
                    let peak = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
                    let step = f64::from(peak) / f64::from(activation_limit(run));
                    for col in 0..n {
                        let expected: f64 = (0..k).map(|kk| f64::from(x[kk]) * k_block_weight(&rhs, kk, col)).sum();
                        let weight_mass: f64 = (0..k).map(|kk| k_block_weight(&rhs, kk, col).abs()).sum();
                        let term_mass: f64 = (0..k).map(|kk| (f64::from(x[kk]) * k_block_weight(&rhs, kk, col)).abs()).sum();
                        let bound = 0.5 * step * weight_mass + 1e-6 * term_mass + 1e-6;
                        let error = (f64::from(got[row * n + col]) - expected).abs();
                        assert!(error <= bound, "m{m} k{k} n{n} run{run} ({row},{col}): {error} > {bound}");
                    }
                }
            }
        }
    }

    #[test]
    fn k_blocks_agree_across_kernels_and_threads_and_keep_non_finite_rows() {
        for n in [44, 48] {
            let (m, k, run) = (13, 384, 32);
            let (mut lhs, values, scales) = k_block_case(m, k, n, run, 5);
            lhs[k + 3] = f32::NAN;
            lhs[2 * k..3 * k].fill(0.0);
            lhs[4 * k] = f32::INFINITY;
            let rhs = KBlockMatrix { values: &values, scales: &scales, global: 1.0, k, n, run };
            let bits = |v: Vec<f32>| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let one = matmul_k_blocks_with(&lhs, m, &rhs, false);
            assert_eq!(bits(matmul_k_blocks_with(&lhs, m, &rhs, simd_available())), bits(one.clone()));
            assert!(one[n..2 * n].iter().all(|v| v.is_nan()));
            assert!(one[2 * n..3 * n].iter().all(|&v| v == 0.0));
            assert!(one[4 * n..5 * n].iter().all(|v| !v.is_finite()));
            #[cfg(feature = "rayon")]
            for threads in [2, 3, 8] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                assert_eq!(bits(pool.install(|| matmul_k_blocks(&lhs, m, &rhs))), bits(one.clone()), "{threads} threads");
            }
        }
    }

    #[test]
    fn folding_and_rounding_match_their_scalar_definitions_exactly() {
        // In wasm these run simd128 loops (tested there with tests/wasi/run.mjs); the results
        // must be the scalar formulas' to the bit, tails included.
        for k in [1usize, 7, 8, 13, 768] {
            let mut s = Stream(k as u64 + 3);
            let x: Vec<f32> = (0..k).map(|_| s.unit() * 5.0).collect();
            let scales: Vec<f32> = (0..k).map(|_| s.unit().abs() * 0.01).collect();
            let mut y = vec![0.0f32; k];
            let peak = fold(&x, &scales, &mut y);
            let expected: Vec<f32> = x.iter().zip(&scales).map(|(a, b)| a * b).collect();
            assert_eq!(y, expected);
            assert_eq!(peak, expected.iter().fold(0.0f32, |a, b| a.max(b.abs())));
            let limit = activation_limit(k) as f32;
            let inverse = limit / peak;
            let mut q = vec![0i16; k];
            quantize(&y, inverse, &mut q);
            for (i, (&qi, &yi)) in q.iter().zip(&y).enumerate() {
                let v = yi * inverse;
                let want = if v >= 0.0 { (v + 0.5).floor() } else { (v - 0.5).ceil() };
                assert_eq!(f32::from(qi), want, "k {k}, element {i}: {v}");
                assert!(f32::from(qi).abs() <= limit);
            }
        }
    }

    #[test]
    fn extreme_weights_and_long_sums_do_not_overflow() {
        // Every weight -128 and every activation at the limit: the largest possible sum.
        let (m, k, n) = (2, 32768, 8);
        let lhs = vec![-1.0f32; m * k];
        let values = vec![-128i8; k * n];
        let scales = vec![1.0f32; k];
        let rhs = QuantizedMatrix { values: &values, scales: &scales, global: 1.0, k, n, block: 8, panels: false };
        for out in matmul_with(&lhs, m, &rhs, simd_available()) {
            assert!((out - 128.0 * k as f32).abs() <= 1e-3 * 128.0 * k as f32, "{out}");
        }
    }

    #[test]
    fn non_finite_and_zero_rows_behave_as_the_float_product() {
        let (k, n) = (4, 8);
        let lhs = [1.0, f32::NAN, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0, f32::INFINITY, 1.0, 1.0, 1.0];
        let values = vec![1i8; k * n];
        let scales = vec![1.0f32; k];
        let rhs = QuantizedMatrix { values: &values, scales: &scales, global: 1.0, k, n, block: 8, panels: false };
        let out = matmul(&lhs, 3, &rhs);
        assert!(out[..n].iter().all(|v| v.is_nan()));
        assert!(out[n..2 * n].iter().all(|&v| v == 0.0));
        assert!(out[2 * n..].iter().all(|&v| v == f32::INFINITY));
    }
}

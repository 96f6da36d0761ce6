//! The integer matmul's inner loop alone (third_party/burn-flex/src/ops/qmatmul.rs), for
//! measuring in a browser what one tile shape or instruction does on its own: a panel of 8 weight
//! columns (k × 8 i8, in L1 as in the real kernel) times `rows` rows of activations.
//! - `run_i16`: today's kernel, `i32x4.dot_i16x8_s` on i16 activations and weights widened from
//!   i8 (pairs of rows interleaved), 8 multiply-adds per instruction plus an add.
//! - `run_u7`: relaxed SIMD's `i32x4.relaxed_dot_i8x16_i7x16_add_s` on 7-bit activations (0..=127)
//!   and the i8 weights as stored (quads of rows interleaved), 16 multiply-adds and the add.
//! Both export `(rows, k, iterations)`; `sum()` reads the accumulators so nothing is optimised away.
#![no_std]
use core::arch::wasm32::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

const MAX_K: usize = 3072;
static mut PANEL: [i8; MAX_K * 8] = [1; MAX_K * 8];
static mut ACTS_I16: [i16; 6 * MAX_K] = [3; 6 * MAX_K];
static mut ACTS_U7: [u8; 6 * MAX_K] = [3; 6 * MAX_K];
static mut OUT: [i32; 48] = [0; 48];

#[inline(always)]
unsafe fn store<const R: usize>(low: [v128; R], high: [v128; R]) {
    let out = core::ptr::addr_of_mut!(OUT) as *mut v128;
    for r in 0..R {
        unsafe {
            *out.add(2 * r) = i32x4_add(*out.add(2 * r), low[r]);
            *out.add(2 * r + 1) = i32x4_add(*out.add(2 * r + 1), high[r]);
        }
    }
}

#[inline(always)]
unsafe fn tile_i16<const R: usize>(k: usize) {
    let panel = core::ptr::addr_of!(PANEL) as *const i8;
    let acts = core::ptr::addr_of!(ACTS_I16) as *const i16;
    let (mut low, mut high) = ([i32x4_splat(0); R], [i32x4_splat(0); R]);
    for p in 0..k / 2 {
        unsafe {
            let w_low = i16x8_load_extend_i8x8(panel.add(p * 16));
            let w_high = i16x8_load_extend_i8x8(panel.add(p * 16 + 8));
            for r in 0..R {
                let a = v128_load32_splat(acts.add(r * MAX_K + 2 * p) as *const u32);
                low[r] = i32x4_add(low[r], i32x4_dot_i16x8(a, w_low));
                high[r] = i32x4_add(high[r], i32x4_dot_i16x8(a, w_high));
            }
        }
    }
    unsafe { store(low, high) }
}

#[target_feature(enable = "relaxed-simd")]
unsafe fn tile_u7<const R: usize>(k: usize) {
    let panel = core::ptr::addr_of!(PANEL) as *const i8;
    let acts = core::ptr::addr_of!(ACTS_U7) as *const u8;
    let (mut low, mut high) = ([i32x4_splat(0); R], [i32x4_splat(0); R]);
    for q in 0..k / 4 {
        unsafe {
            let w_low = v128_load(panel.add(q * 32) as *const v128);
            let w_high = v128_load(panel.add(q * 32 + 16) as *const v128);
            for r in 0..R {
                let a = v128_load32_splat(acts.add(r * MAX_K + 4 * q) as *const u32);
                low[r] = i32x4_relaxed_dot_i8x16_i7x16_add(w_low, a, low[r]);
                high[r] = i32x4_relaxed_dot_i8x16_i7x16_add(w_high, a, high[r]);
            }
        }
    }
    unsafe { store(low, high) }
}

/// `iterations` calls of the tile of height `rows` (2 to 6) from `tiles`.
unsafe fn repeat(tiles: [unsafe fn(usize); 5], rows: u32, k: u32, iterations: u32) {
    let (tile, k) = (tiles[rows.clamp(2, 6) as usize - 2], (k as usize).min(MAX_K));
    for _ in 0..iterations {
        unsafe { tile(k) }
    }
}

#[no_mangle]
pub unsafe extern "C" fn run_i16(rows: u32, k: u32, iterations: u32) {
    unsafe { repeat([tile_i16::<2>, tile_i16::<3>, tile_i16::<4>, tile_i16::<5>, tile_i16::<6>], rows, k, iterations) }
}

#[no_mangle]
pub unsafe extern "C" fn run_u7(rows: u32, k: u32, iterations: u32) {
    unsafe { repeat([tile_u7::<2>, tile_u7::<3>, tile_u7::<4>, tile_u7::<5>, tile_u7::<6>], rows, k, iterations) }
}

#[no_mangle]
pub unsafe extern "C" fn sum() -> i32 {
    unsafe { (*core::ptr::addr_of!(OUT)).iter().fold(0i32, |a, &b| a.wrapping_add(b)) }
}

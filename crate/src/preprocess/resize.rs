//! PIL's `Image.resize(..., BICUBIC)` for 8-bit RGB, reproduced step for step (Resample.c):
//! a separable convolution whose support widens with the downscale factor (antialiasing),
//! fixed-point coefficients with 22 fractional bits, and a rounded 8-bit image between the
//! horizontal and the vertical pass. Matching it exactly is what makes our pixels equal
//! transformers' to the last bit on the same decoded image.

use std::ops::Range;

use image::RgbImage;

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// For each output pixel: the first input index, and fixed-point weights for the inputs from it.
struct Coefficients {
    starts: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

/// The coefficients of the output pixels in `window` (of `0..out_size`): each depends only on
/// its own position, so computing a window gives exactly the pixels a full resize would.
fn coefficients(in_size: usize, out_size: usize, window: Range<usize>) -> Coefficients {
    const SUPPORT: f64 = 2.0;
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = SUPPORT * filter_scale;
    let mut starts = Vec::with_capacity(window.len());
    let mut weights = Vec::with_capacity(window.len());
    for xx in window {
        let center = (xx as f64 + 0.5) * scale;
        // `as i64` truncates toward zero, like the C `(int)` cast.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let raw: Vec<f64> = (xmin..xmax)
            .map(|x| bicubic((x as f64 - center + 0.5) / filter_scale))
            .collect();
        let total: f64 = raw.iter().sum();
        let fixed = raw
            .iter()
            .map(|w| {
                let w = if total != 0.0 { w / total } else { *w };
                let scaled = w * f64::from(1u32 << PRECISION_BITS);
                (if w < 0.0 { scaled - 0.5 } else { scaled + 0.5 }) as i32
            })
            .collect();
        starts.push(xmin);
        weights.push(fixed);
    }
    Coefficients { starts, weights }
}

fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Convolve along one axis. `stride` steps between neighbouring samples along that axis.
fn resample_axis(
    src: &[u8],
    (width, height): (usize, usize),
    out: (usize, usize),
    coeffs: &Coefficients,
    horizontal: bool,
) -> Vec<u8> {
    let (out_w, out_h) = out;
    let mut dst = vec![0u8; out_w * out_h * 3];
    for y in 0..out_h {
        for x in 0..out_w {
            let (i, fixed_line) = if horizontal { (x, y) } else { (y, x) };
            let start = coeffs.starts[i];
            let mut acc = [1i32 << (PRECISION_BITS - 1); 3];
            for (k, w) in coeffs.weights[i].iter().enumerate() {
                let (sx, sy) = if horizontal { (start + k, fixed_line) } else { (fixed_line, start + k) };
                let p = (sy * width + sx) * 3;
                for c in 0..3 {
                    acc[c] = acc[c].wrapping_add(i32::from(src[p + c]).wrapping_mul(*w));
                }
            }
            let q = (y * out_w + x) * 3;
            for c in 0..3 {
                dst[q + c] = clip8(acc[c]);
            }
        }
    }
    debug_assert_eq!(height, if horizontal { out_h } else { height });
    dst
}

/// Resize to exactly `width`×`height` with PIL's bicubic filter.
pub fn resize_bicubic(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = (width as usize, height as usize);
    resize_bicubic_window(image, (w, h), 0..w, 0..h)
}

/// The pixels `xs` × `ys` of a PIL bicubic resize to `size`, computing only those: a long thin
/// image resized for a center crop costs its crop, not its whole resized width.
pub fn resize_bicubic_window(image: &RgbImage, size: (usize, usize), xs: Range<usize>, ys: Range<usize>) -> RgbImage {
    let (in_w, in_h) = (image.width() as usize, image.height() as usize);
    let (out_w, out_h) = size;
    // Horizontal pass first, as PIL does (an 8-bit rounded image between the passes).
    let (mut pixels, width) = if out_w != in_w {
        (resample_axis(image.as_raw(), (in_w, in_h), (xs.len(), in_h), &coefficients(in_w, out_w, xs.clone()), true), xs.len())
    } else {
        (select(image.as_raw(), in_w, xs.clone(), 0..in_h), xs.len())
    };
    if out_h != in_h {
        pixels = resample_axis(&pixels, (width, in_h), (width, ys.len()), &coefficients(in_h, out_h, ys.clone()), false);
    } else {
        pixels = select(&pixels, width, 0..width, ys.clone());
    }
    RgbImage::from_raw(width as u32, ys.len() as u32, pixels).unwrap_or_default()
}

/// The `xs` × `ys` part of an RGB buffer `width` pixels wide.
fn select(src: &[u8], width: usize, xs: Range<usize>, ys: Range<usize>) -> Vec<u8> {
    let mut out = Vec::with_capacity(xs.len() * ys.len() * 3);
    for y in ys {
        out.extend_from_slice(&src[(y * width + xs.start) * 3..(y * width + xs.end) * 3]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (i, o) in [(512, 32), (100, 224), (7, 3), (224, 224)] {
            let c = coefficients(i, o, 0..o);
            for w in &c.weights {
                let sum: i64 = w.iter().map(|&v| i64::from(v)).sum();
                assert!((sum - (1 << PRECISION_BITS)).abs() <= w.len() as i64, "{i}->{o}: {sum}");
            }
        }
    }

    #[test]
    fn a_window_equals_the_same_part_of_a_full_resize() {
        let img = RgbImage::from_fn(97, 13, |x, y| image::Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (255 - x) as u8]));
        let full = resize_bicubic(&img, 150, 40);
        let part = resize_bicubic_window(&img, (150, 40), 30..70, 5..35);
        for (y, row) in (5..35).enumerate() {
            for (x, col) in (30..70).enumerate() {
                assert_eq!(part.get_pixel(x as u32, y as u32), full.get_pixel(col, row));
            }
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let img = RgbImage::from_pixel(37, 23, image::Rgb([200, 10, 99]));
        let out = resize_bicubic(&img, 11, 5);
        assert!(out.pixels().all(|p| p.0 == [200, 10, 99]));
    }
}

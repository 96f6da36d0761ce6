//! Image bytes → the vision tower's input, as transformers' `CLIPImageProcessor` (PIL path):
//! decode, RGB, shortest side to the model's size (PIL bicubic), center crop, ×1/255, normalise.

mod decode;
mod resize;

pub use decode::{MAX_PIXELS, decode_rgb};
pub use resize::{resize_bicubic, resize_bicubic_window};

use image::RgbImage;

use crate::config::PreprocessConfig;
use crate::error::{ClipError, Result};

/// Images more elongated than this are refused: CLIP's center crop would keep a sliver of them,
/// and a few hundred bytes of 10000×1 PNG would otherwise resize to 2,240,000×224.
pub const MAX_ASPECT_RATIO: usize = 100;

/// A preprocessed image: channel-first `[3, height, width]` floats.
#[derive(Debug, Clone)]
pub struct Pixels {
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

/// Decode and preprocess one image.
pub fn preprocess(bytes: &[u8], config: &PreprocessConfig) -> Result<Pixels> {
    let rgb = decode_rgb(bytes)?;
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    if w.max(h) > MAX_ASPECT_RATIO * w.min(h) {
        return Err(ClipError::Image(format!(
            "the image is {w}×{h} pixels, more than {MAX_ASPECT_RATIO} times longer one way than the other, so CLIP's square crop would see almost none of it"
        )));
    }
    Ok(preprocess_rgb(&rgb, config))
}

/// Preprocess an already decoded image. Only the part of the resized image that the crop keeps
/// is computed.
pub fn preprocess_rgb(rgb: &RgbImage, config: &PreprocessConfig) -> Pixels {
    let (in_w, in_h) = (rgb.width() as usize, rgb.height() as usize);
    let (resized_w, resized_h) = match config.shortest_edge {
        Some(edge) => shortest_edge_size(in_w, in_h, edge),
        None => (in_w, in_h),
    };
    let (height, width) = config.crop.unwrap_or((resized_h, resized_w));
    // transformers' center crop window (it may reach outside the image: zeros there).
    let top = (resized_h as i64 - height as i64).div_euclid(2);
    let left = (resized_w as i64 - width as i64).div_euclid(2);
    let span = |start: i64, len: usize, size: usize| start.max(0) as usize..((start + len as i64).min(size as i64)).max(0) as usize;
    let (ys, xs) = (span(top, height, resized_h), span(left, width, resized_w));
    let window = resize_bicubic_window(rgb, (resized_w, resized_h), xs.clone(), ys.clone());
    // The window sits at (ys.start - top, xs.start - left) inside the crop.
    let cropped = place(&window, height, width, (ys.start as i64 - top) as usize, (xs.start as i64 - left) as usize);
    let mut data = vec![0f32; 3 * height * width];
    for c in 0..3 {
        let (scale, mean, std) = (config.rescale_factor, config.mean[c], config.std[c]);
        for (i, v) in cropped[c * height * width..(c + 1) * height * width].iter().enumerate() {
            data[c * height * width + i] = (f32::from(*v) * scale - mean) / std;
        }
    }
    Pixels { height, width, data }
}

/// transformers' `get_resize_output_image_size(default_to_square=False)`: the short side becomes
/// `edge`, the long side is scaled and truncated.
fn shortest_edge_size(width: usize, height: usize, edge: usize) -> (usize, usize) {
    let (short, long) = if width <= height { (width, height) } else { (height, width) };
    let new_long = (edge as f64 * long as f64 / short as f64) as usize;
    if width <= height { (edge, new_long) } else { (new_long, edge) }
}

/// `window` into channel-first u8 planes of `height`×`width` at (`top`, `left`), zeros elsewhere.
fn place(window: &RgbImage, height: usize, width: usize, top: usize, left: usize) -> Vec<u8> {
    let mut planes = vec![0u8; 3 * height * width];
    for (x, y, p) in window.enumerate_pixels() {
        let (y, x) = (top + y as usize, left + x as usize);
        if y < height && x < width {
            for (c, value) in p.0.iter().enumerate() {
                planes[c * height * width + y * width + x] = *value;
            }
        }
    }
    planes
}

/// transformers' `center_crop`, to channel-first u8 planes of `height`×`width`. The window's
/// top-left is `floor((size - crop) / 2)` on each axis; where the image is smaller than the crop,
/// transformers centers it on zeros, which is the same as reading zeros outside the image.
#[cfg(test)]
fn center_crop(image: &RgbImage, height: usize, width: usize) -> Vec<u8> {
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    let top = (h - height as i64).div_euclid(2);
    let left = (w - width as i64).div_euclid(2);
    let mut planes = vec![0u8; 3 * height * width];
    for y in 0..height {
        let sy = top + y as i64;
        if !(0..h).contains(&sy) {
            continue;
        }
        for x in 0..width {
            let sx = left + x as i64;
            if (0..w).contains(&sx) {
                let p = image.get_pixel(sx as u32, sy as u32).0;
                for (c, value) in p.iter().enumerate() {
                    planes[c * height * width + y * width + x] = *value;
                }
            }
        }
    }
    planes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_output_size_matches_transformers() {
        assert_eq!(shortest_edge_size(512, 512, 224), (224, 224));
        assert_eq!(shortest_edge_size(451, 300, 224), (336, 224));
        assert_eq!(shortest_edge_size(300, 451, 224), (224, 336));
        assert_eq!(shortest_edge_size(1000, 3, 32), (10666, 32));
    }

    #[test]
    fn computing_only_the_crop_window_equals_resize_then_crop() {
        let config = |edge, crop| PreprocessConfig { shortest_edge: edge, crop: Some(crop), ..PreprocessConfig::default_for(32) };
        for (w, h) in [(97, 13), (13, 97), (40, 40), (300, 31), (5, 9)] {
            let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7 + y * 3) as u8, (x * y) as u8, (255 - x % 256) as u8]));
            for (edge, crop) in [(Some(32), (32, 32)), (Some(24), (16, 30)), (None, (8, 12)), (Some(8), (20, 20))] {
                let c = config(edge, crop);
                let resized = match edge {
                    Some(e) => {
                        let (rw, rh) = shortest_edge_size(w as usize, h as usize, e);
                        resize_bicubic(&img, rw as u32, rh as u32)
                    }
                    None => img.clone(),
                };
                let whole: Vec<u8> = center_crop(&resized, crop.0, crop.1);
                let windowed = preprocess_rgb(&img, &c);
                let expected: Vec<f32> = (0..3)
                    .flat_map(|ch| {
                        let plane = &whole[ch * crop.0 * crop.1..(ch + 1) * crop.0 * crop.1];
                        plane.iter().map(move |v| (f32::from(*v) * c.rescale_factor - c.mean[ch]) / c.std[ch]).collect::<Vec<_>>()
                    })
                    .collect();
                assert_eq!(windowed.data, expected, "{w}×{h}, edge {edge:?}, crop {crop:?}");
            }
        }
    }

    #[test]
    fn center_crop_pads_small_images_with_zeros() {
        let img = RgbImage::from_fn(3, 5, |x, y| image::Rgb([(10 * y + x) as u8 + 1, 0, 0]));
        let red = center_crop(&img, 3, 5);
        // rows: top = (5-3)//2 = 1; cols: left = (3-5)//2 = -1, so column 0 and 4 are padding.
        assert_eq!(&red[0..5], &[0, 11, 12, 13, 0]);
        assert_eq!(&red[10..15], &[0, 31, 32, 33, 0]);
    }
}

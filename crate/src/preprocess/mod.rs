//! Image bytes → the vision tower's input, as transformers' `CLIPImageProcessor` (PIL path):
//! decode, RGB, shortest side to the model's size (PIL bicubic), center crop, ×1/255, normalise.

mod decode;
mod resize;

pub use decode::{MAX_PIXELS, decode_rgb};
pub use resize::resize_bicubic;

use image::RgbImage;

use crate::config::PreprocessConfig;
use crate::error::Result;

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
    Ok(preprocess_rgb(&rgb, config))
}

/// Preprocess an already decoded image.
pub fn preprocess_rgb(rgb: &RgbImage, config: &PreprocessConfig) -> Pixels {
    let resized = match config.shortest_edge {
        Some(edge) => {
            let (w, h) = shortest_edge_size(rgb.width() as usize, rgb.height() as usize, edge);
            resize_bicubic(rgb, w as u32, h as u32)
        }
        None => rgb.clone(),
    };
    let (height, width) = config.crop.unwrap_or((resized.height() as usize, resized.width() as usize));
    let cropped = center_crop(&resized, height, width);
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

/// transformers' `center_crop`, to channel-first u8 planes of `height`×`width`. The window's
/// top-left is `floor((size - crop) / 2)` on each axis; where the image is smaller than the crop,
/// transformers centers it on zeros, which is the same as reading zeros outside the image.
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
    fn center_crop_pads_small_images_with_zeros() {
        let img = RgbImage::from_fn(3, 5, |x, y| image::Rgb([(10 * y + x) as u8 + 1, 0, 0]));
        let red = center_crop(&img, 3, 5);
        // rows: top = (5-3)//2 = 1; cols: left = (3-5)//2 = -1, so column 0 and 4 are padding.
        assert_eq!(&red[0..5], &[0, 11, 12, 13, 0]);
        assert_eq!(&red[10..15], &[0, 31, 32, 33, 0]);
    }
}

//! Encoded bytes → 8-bit RGB, as `PIL.Image.open` + `ImageOps.exif_transpose` + `convert("RGB")`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use crate::error::{ClipError, Result};

/// The most pixels an image may declare. Checked from the header, before any pixel is decoded,
/// so a tiny file claiming to be 100000×100000 (a decompression bomb) costs nothing.
pub const MAX_PIXELS: u64 = 50_000_000;

/// Decode JPEG, PNG, WebP, GIF (first frame) or BMP bytes to RGB, upright per EXIF.
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(ClipError::Image("the image is empty (0 bytes)".into()));
    }
    let format = image::guess_format(bytes).map_err(|_| {
        ClipError::Image("this is not an image in a supported format (JPEG, PNG, WebP, GIF or BMP)".into())
    })?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif | ImageFormat::Bmp
    ) {
        return Err(ClipError::Image(format!(
            "{format:?} images are not supported (JPEG, PNG, WebP, GIF or BMP)"
        )));
    }
    let name = format!("{format:?}").to_uppercase();
    let broken = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => ClipError::Image(format!(
            "the {name} image is too large to decode (more than {MAX_PIXELS} pixels)"
        )),
        other => ClipError::Image(format!("the {name} image is damaged or truncated ({other})")),
    };

    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ClipError::Image("the JPEG image is damaged or truncated (it ends before its last scan does)".into()));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(broken)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ClipError::Image(format!("the {name} image has no pixels ({width}×{height})")));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ClipError::Image(format!(
            "the image declares {width}×{height} pixels, more than the {MAX_PIXELS}-pixel limit"
        )));
    }
    // A broken EXIF block is not worth refusing a photo for: PIL ignores it too.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(broken)?;
    image.apply_orientation(orientation);
    Ok(to_rgb_like_pil(image))
}

/// The JPEG decoder quietly fills a cut-off scan with grey; PIL refuses such files. A complete
/// file reaches its end-of-image marker: segments are walked by their lengths (so an EXIF
/// thumbnail inside APP1 cannot fool this) and scan data up to its next marker. Anything after
/// the end-of-image marker (phones' motion-photo videos, vendor trailers) is not the image and
/// is ignored, as every viewer does.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let (mut i, mut in_scan, mut scans) = (2usize, false, 0usize);
    while i + 1 < bytes.len() {
        if bytes[i] != 0xFF {
            if !in_scan {
                return false; // garbage between segments
            }
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            0xFF => i += 1,                              // fill byte before a marker
            0x00 | 0xD0..=0xD7 if in_scan => i += 2,     // stuffed byte, restart marker
            0xD9 => return scans > 0,                    // end of image
            0x01 | 0xD0..=0xD7 => i += 2,                // markers without a length
            marker => {
                let Some(len) = bytes.get(i + 2..i + 4).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
                    return false;
                };
                in_scan = marker == 0xDA;
                scans += usize::from(in_scan);
                i += 2 + len;
            }
        }
    }
    false
}

/// Colour conversion with PIL's rules where they differ from `image`'s: PIL keeps the high byte
/// of 16-bit colour samples, and clips 16-bit grey ("I;16") at 255 rather than rescaling it.
fn to_rgb_like_pil(image: DynamicImage) -> RgbImage {
    let high_byte = |v: u16| (v >> 8) as u8;
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        DynamicImage::ImageLuma16(gray) => {
            let (w, h) = gray.dimensions();
            RgbImage::from_fn(w, h, |x, y| {
                let v = gray.get_pixel(x, y).0[0].min(255) as u8;
                image::Rgb([v, v, v])
            })
        }
        DynamicImage::ImageLumaA16(gray) => {
            let (w, h) = gray.dimensions();
            RgbImage::from_fn(w, h, |x, y| {
                let v = high_byte(gray.get_pixel(x, y).0[0]);
                image::Rgb([v, v, v])
            })
        }
        DynamicImage::ImageRgb16(rgb) => {
            let (w, h) = rgb.dimensions();
            RgbImage::from_fn(w, h, |x, y| image::Rgb(rgb.get_pixel(x, y).0.map(high_byte)))
        }
        DynamicImage::ImageRgba16(rgba) => {
            let (w, h) = rgba.dimensions();
            RgbImage::from_fn(w, h, |x, y| {
                let [r, g, b, _] = rgba.get_pixel(x, y).0;
                image::Rgb([high_byte(r), high_byte(g), high_byte(b)])
            })
        }
        // 8-bit grey, grey+alpha, RGBA: alpha dropped, grey replicated — the same as PIL.
        other => other.to_rgb8(),
    }
}

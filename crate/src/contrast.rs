//! How CLIP was trained: a batch of N image–caption pairs gives an N×N matrix of cosines, and
//! the loss is the mean of two cross-entropies over `τ · cosine`: each image (a row) against its
//! own caption, and each caption (a column) against its own image. Zero-shot classification is
//! one row of this matrix with captions made from labels.
//!
//! Extra captions beyond the N pairs are hard negatives: they widen every row's softmax (so
//! they can only raise the image→text loss) but have no image of their own, so no column
//! cross-entropy. With none, this is transformers' `CLIPModel(..., return_loss=True)`.

use serde::Serialize;

use crate::error::{ClipError, Result};
use crate::zero_shot::l2_normalize;

/// The training batch as the page and `clip contrast` show it. Matrices have one row per image
/// and one column per caption (pairs first, then negatives).
#[derive(Debug, Clone, Serialize)]
pub struct Contrast {
    pub cosine: Vec<Vec<f32>>,
    /// τ · cosine.
    pub logits: Vec<Vec<f32>>,
    /// Row softmax: for each image, which caption it picks (image → text).
    pub image_to_text: Vec<Vec<f32>>,
    /// Column softmax, stored by image row too: for each paired caption (column), which image
    /// it picks (text → image). Negative captions' columns are zero.
    pub text_to_image: Vec<Vec<f32>>,
    /// Mean cross-entropy of each row against its diagonal.
    pub loss_images: f64,
    /// Mean cross-entropy of each paired column against its diagonal.
    pub loss_texts: f64,
    /// CLIP's training loss: the mean of the two.
    pub loss: f64,
    /// Images whose best caption is not their own, and paired captions whose best image is not
    /// their own.
    pub wrong_images: Vec<usize>,
    pub wrong_captions: Vec<usize>,
    pub scale: f32,
}

/// The contrastive matrix and loss of `images[i]` paired with `captions[i]`; captions past
/// `images.len()` are negatives. `scale` is τ = exp(logit_scale).
pub fn contrast(images: &[Vec<f32>], captions: &[Vec<f32>], scale: f32) -> Result<Contrast> {
    let n = images.len();
    if n < 2 {
        return Err(ClipError::Input("a training batch needs at least two image–caption pairs".into()));
    }
    if captions.len() < n {
        return Err(ClipError::Input("every image of the batch needs its caption".into()));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(ClipError::Input(format!("the softmax scale must be a positive number, not {scale}")));
    }
    let dim = images[0].len();
    if images.iter().chain(captions).any(|e| e.len() != dim || dim == 0) {
        return Err(ClipError::Input("image and caption embeddings must all have the same length".into()));
    }
    let images: Vec<Vec<f32>> = images.iter().map(|e| l2_normalize(e)).collect();
    let captions: Vec<Vec<f32>> = captions.iter().map(|e| l2_normalize(e)).collect();
    let cosine: Vec<Vec<f32>> =
        images.iter().map(|i| captions.iter().map(|c| i.iter().zip(c).map(|(a, b)| a * b).sum()).collect()).collect();
    // The losses in f64 from f32 logits, as PyTorch's cross-entropy of f32 logits is exact to f32.
    let logits: Vec<Vec<f32>> = cosine.iter().map(|row| row.iter().map(|c| c * scale).collect()).collect();

    let mut image_to_text = Vec::with_capacity(n);
    let mut loss_images = 0.0;
    let mut wrong_images = Vec::new();
    for (i, row) in logits.iter().enumerate() {
        let (probs, loss) = softmax_and_loss(row, i);
        loss_images += loss;
        if argmax(row) != i {
            wrong_images.push(i);
        }
        image_to_text.push(probs);
    }
    let mut text_to_image = vec![vec![0f32; captions.len()]; n];
    let mut loss_texts = 0.0;
    let mut wrong_captions = Vec::new();
    for j in 0..n {
        let column: Vec<f32> = logits.iter().map(|row| row[j]).collect();
        let (probs, loss) = softmax_and_loss(&column, j);
        loss_texts += loss;
        if argmax(&column) != j {
            wrong_captions.push(j);
        }
        for (i, p) in probs.into_iter().enumerate() {
            text_to_image[i][j] = p;
        }
    }
    let (loss_images, loss_texts) = (loss_images / n as f64, loss_texts / n as f64);
    Ok(Contrast {
        cosine,
        logits,
        image_to_text,
        text_to_image,
        loss_images,
        loss_texts,
        loss: (loss_images + loss_texts) / 2.0,
        wrong_images,
        wrong_captions,
        scale,
    })
}

/// Softmax of `logits` and the cross-entropy of class `target`, in f64.
fn softmax_and_loss(logits: &[f32], target: usize) -> (Vec<f32>, f64) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    let probs = logits.iter().map(|&l| ((l as f64 - max).exp() / sum) as f32).collect();
    (probs, max + sum.ln() - logits[target] as f64)
}

/// The first index of the largest value.
fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_pairs_give_a_low_loss_and_a_hard_negative_raises_it() {
        let images = vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]];
        let captions = vec![vec![0.9, 0.1, 0.0], vec![0.1, 0.9, 0.0]];
        let easy = contrast(&images, &captions, 100.0).unwrap();
        assert!(easy.loss < 1e-3, "{}", easy.loss);
        assert!(easy.wrong_images.is_empty() && easy.wrong_captions.is_empty());
        let mut with_negative = captions.clone();
        with_negative.push(vec![0.95, 0.05, 0.0]); // closer to image 0 than its own caption
        let hard = contrast(&images, &with_negative, 100.0).unwrap();
        assert!(hard.loss_images > easy.loss_images);
        assert_eq!(hard.loss_texts, easy.loss_texts, "a negative has no column of its own");
        assert_eq!(hard.wrong_images, [0]);
        assert_eq!(hard.text_to_image[0][2], 0.0);
        for row in &hard.image_to_text {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn swapped_captions_are_found_and_refusals_are_one_sentence() {
        let images = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let swapped = contrast(&images, &[vec![0.0, 1.0], vec![1.0, 0.0]], 10.0).unwrap();
        assert_eq!(swapped.wrong_images, [0, 1]);
        assert_eq!(swapped.wrong_captions, [0, 1]);
        assert!(contrast(&images[..1], &images[..1], 10.0).unwrap_err().to_string().contains("two"));
        assert!(contrast(&images, &images[..1], 10.0).is_err());
        assert!(contrast(&images, &images, 0.0).is_err());
        assert!(contrast(&images, &[vec![1.0], vec![0.0]], 10.0).is_err());
    }
}

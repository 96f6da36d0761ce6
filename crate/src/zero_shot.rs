//! Zero-shot classification from embeddings: prompts from labels × templates, the paper's
//! template ensemble, and softmax over `exp(logit_scale) · cosine`. Pure arithmetic on small
//! vectors, so the page and the CLI share it and nothing is recomputed in TypeScript.

use serde::Serialize;

use crate::error::{ClipError, Result};

/// The template used when none is given (the CLIP paper's default).
pub const DEFAULT_TEMPLATE: &str = "a photo of a {}.";

/// `template` with `{}` replaced by `label`.
pub fn fill_template(template: &str, label: &str) -> Result<String> {
    if !template.contains("{}") {
        return Err(ClipError::Input(format!(
            "the template {template:?} has no {{}} placeholder for the label"
        )));
    }
    Ok(template.replace("{}", label))
}

/// Every prompt, label-major: `prompts[label * templates.len() + template]`.
pub fn prompts(labels: &[&str], templates: &[&str]) -> Result<Vec<String>> {
    if labels.is_empty() {
        return Err(ClipError::Input("give at least one label".into()));
    }
    if templates.is_empty() {
        return Err(ClipError::Input("give at least one template".into()));
    }
    labels
        .iter()
        .flat_map(|label| templates.iter().map(move |template| fill_template(template, label)))
        .collect()
}

pub fn l2_normalize(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 { v.to_vec() } else { v.iter().map(|x| x / norm).collect() }
}

/// The paper's ensemble: L2-normalise each prompt embedding, average, renormalise.
pub fn ensemble(prompt_embeddings: &[Vec<f32>]) -> Vec<f32> {
    let dim = prompt_embeddings.first().map_or(0, Vec::len);
    let mut mean = vec![0f32; dim];
    for embedding in prompt_embeddings {
        for (m, x) in mean.iter_mut().zip(l2_normalize(embedding)) {
            *m += x;
        }
    }
    l2_normalize(&mean)
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (a, b) = (l2_normalize(a), l2_normalize(b));
    a.iter().zip(&b).map(|(x, y)| x * y).sum()
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// One image's scores over the labels, in label order.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub probs: Vec<f32>,
    pub cosine: Vec<f32>,
}

/// Score an image embedding against one (ensembled) embedding per label.
pub fn score(image: &[f32], class_embeddings: &[Vec<f32>], logit_scale: f32) -> Scores {
    let scale = logit_scale.exp();
    let cosine: Vec<f32> = class_embeddings.iter().map(|c| cosine(image, c)).collect();
    let logits: Vec<f32> = cosine.iter().map(|c| c * scale).collect();
    Scores { probs: softmax(&logits), cosine }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_label_major() {
        let p = prompts(&["cat", "dog"], &["a {}.", "{}!"]).unwrap();
        assert_eq!(p, ["a cat.", "cat!", "a dog.", "dog!"]);
        assert!(prompts(&["cat"], &["no placeholder"]).is_err());
        assert!(prompts(&[], &["{}"]).is_err());
    }

    #[test]
    fn ensemble_is_unit_length_and_direction_weighted_equally() {
        let e = ensemble(&[vec![10.0, 0.0], vec![0.0, 0.1]]);
        assert!((e[0] - e[1]).abs() < 1e-6);
        assert!((e.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn softmax_sums_to_one_and_is_stable() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[0] - 0.5).abs() < 1e-6);
    }
}

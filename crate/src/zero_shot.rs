//! Zero-shot classification from embeddings: prompts from labels × templates, the paper's
//! template ensemble, and softmax over `exp(logit_scale) · cosine`. Pure arithmetic on small
//! vectors, so the page and the CLI share it and nothing is recomputed in TypeScript.

use serde::{Deserialize, Serialize};

use crate::error::{ClipError, Result};

/// The template used when none is given (the CLIP paper's default).
pub const DEFAULT_TEMPLATE: &str = "a photo of a {}.";

/// A class as offered to the classifier: one name, or several names for one class (the paper's
/// FER2013 prompts call "happy" also "smiling"), whose prompts are all ensembled together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    Name(String),
    Names(Vec<String>),
}

/// How several names for one class are typed as one label: `happy | smiling`.
pub const SYNONYM_SEPARATOR: char = '|';

impl Label {
    /// A label as typed: `happy | smiling` is one class with two names; anything else one name.
    pub fn parse(text: &str) -> Label {
        if !text.contains(SYNONYM_SEPARATOR) {
            return Label::Name(text.to_string());
        }
        let names: Vec<String> =
            text.split(SYNONYM_SEPARATOR).map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
        match names.len() {
            1 => Label::Name(names[0].clone()),
            _ => Label::Names(names),
        }
    }

    /// The label as typed (the inverse of [`Label::parse`]).
    pub fn display(&self) -> String {
        match self {
            Label::Name(name) => name.clone(),
            Label::Names(names) => names.join(" | "),
        }
    }

    pub fn names(&self) -> Vec<&str> {
        match self {
            Label::Name(name) => vec![name.as_str()],
            Label::Names(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

impl From<&str> for Label {
    fn from(name: &str) -> Self {
        Label::Name(name.to_string())
    }
}

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
    let labels: Vec<Label> = labels.iter().map(|l| Label::from(*l)).collect();
    Ok(class_prompts(&labels, templates)?.concat())
}

/// Each class's prompts, name-major: `prompts[class][name * templates.len() + template]`.
pub fn class_prompts(labels: &[Label], templates: &[&str]) -> Result<Vec<Vec<String>>> {
    if labels.is_empty() {
        return Err(ClipError::Input("give at least one label".into()));
    }
    if templates.is_empty() {
        return Err(ClipError::Input("give at least one template".into()));
    }
    labels
        .iter()
        .map(|label| {
            let names = label.names();
            if names.is_empty() {
                return Err(ClipError::Input("a label with several names needs at least one".into()));
            }
            names
                .iter()
                .flat_map(|name| templates.iter().map(move |template| fill_template(template, name)))
                .collect()
        })
        .collect()
}

/// One class's prompt embeddings (name-major, as [`class_prompts`]) → one vector per template:
/// the mean of its names' unit embeddings, not renormalised, so that [`ensemble_rows`] of the
/// result equals the ensemble over every prompt of the class.
pub fn per_template_rows(prompt_embeddings: &[Vec<f32>], templates: usize) -> Vec<Vec<f32>> {
    let names = (prompt_embeddings.len() / templates.max(1)).max(1);
    let dim = prompt_embeddings.first().map_or(0, Vec::len);
    (0..templates)
        .map(|t| {
            let mut mean = vec![0f32; dim];
            for n in 0..names {
                for (m, x) in mean.iter_mut().zip(l2_normalize(&prompt_embeddings[n * templates + t])) {
                    *m += x / names as f32;
                }
            }
            mean
        })
        .collect()
}

/// Average per-template rows (already means of unit vectors) and renormalise.
pub fn ensemble_rows(rows: &[Vec<f32>]) -> Vec<f32> {
    let dim = rows.first().map_or(0, Vec::len);
    let mut mean = vec![0f32; dim];
    for row in rows {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    l2_normalize(&mean)
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

/// A zero-shot classifier computed ahead of time for a preset too big to encode live (ImageNet:
/// 1000 classes × 80 templates): one unit-length ensemble vector per class, in preset order.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    pub preset: String,
    /// How many templates each class vector ensembles.
    pub templates: usize,
    pub classes: Vec<Vec<f32>>,
}

/// The `k` most probable labels, best first: (label index, probability).
pub fn top_k(probs: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<(usize, f32)> = probs.iter().copied().enumerate().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order.truncate(k);
    order
}

/// One image's scores over the labels, in label order.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub probs: Vec<f32>,
    pub cosine: Vec<f32>,
    /// With each template alone: `per_template[template][label]` probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_template: Option<Vec<Vec<f32>>>,
}

/// Score an image embedding against one (ensembled) embedding per label.
pub fn score(image: &[f32], class_embeddings: &[Vec<f32>], logit_scale: f32) -> Scores {
    let cosine: Vec<f32> = class_embeddings.iter().map(|c| cosine(image, c)).collect();
    Scores { probs: probabilities(&cosine, logit_scale), cosine, per_template: None }
}

/// softmax(exp(logit_scale) · cosine).
pub fn probabilities(cosine: &[f32], logit_scale: f32) -> Vec<f32> {
    let scale = logit_scale.exp();
    softmax(&cosine.iter().map(|c| c * scale).collect::<Vec<_>>())
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
    fn labels_parse_as_typed() {
        assert_eq!(Label::parse("cat"), Label::from("cat"));
        assert_eq!(Label::parse(" happy | smiling "), Label::Names(vec!["happy".into(), "smiling".into()]));
        assert_eq!(Label::parse("cat |"), Label::from("cat"));
        assert_eq!(Label::parse("happy | smiling").display(), "happy | smiling");
    }

    #[test]
    fn several_names_for_one_class_are_ensembled_like_all_their_prompts() {
        let labels = [Label::Names(vec!["happy".into(), "smiling".into()]), Label::from("sad")];
        let p = class_prompts(&labels, &["a {} face.", "{}"]).unwrap();
        assert_eq!(p[0], ["a happy face.", "happy", "a smiling face.", "smiling"]);
        assert_eq!(p[1], ["a sad face.", "sad"]);
        assert!(class_prompts(&[Label::Names(vec![])], &["{}"]).is_err());
        let embeddings = vec![vec![1.0, 0.0, 0.0], vec![0.0, 2.0, 0.0], vec![0.0, 0.0, 3.0], vec![1.0, 1.0, 0.0]];
        let rows = per_template_rows(&embeddings, 2);
        let all = ensemble(&embeddings);
        let via_rows = ensemble_rows(&rows);
        assert!(all.iter().zip(&via_rows).all(|(a, b)| (a - b).abs() < 1e-6), "{all:?} {via_rows:?}");
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

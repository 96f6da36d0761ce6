//! The whole data path behind one type: bytes → preprocess → tower → embedding → zero-shot.
//! Everything here is async only because reading results back from a GPU in the browser must
//! be; on the CPU the futures are ready at once.

use std::collections::HashMap;

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use crate::backend::Backend;
use crate::config::{ClipConfig, PreprocessConfig};
use crate::contrast::{self, Contrast};
use crate::curves::{self, TemplateStep};
use crate::error::{ClipError, Result};
use crate::loader::{HfFiles, load_hf};
use crate::model::{ModelParts, TextTower, VisionTower};
use crate::preprocess::{Pixels, preprocess};
use crate::tokenizer::ClipTokenizer;
use crate::zero_shot::{self, Classifier, Label, Scores};

/// Cached text embeddings, keyed by the exact prompt string. Bounded, because a visitor typing
/// creates a new prompt on every keystroke.
const TEXT_CACHE_LIMIT: usize = 4096;

/// Token rows per text-tower call (prompts share the rows of their common start) and images
/// per vision-tower call: what bounds memory per request. 512 rows are 64 prompts of 8 tokens
/// with nothing shared; attention over them is 1 MB of scores per head.
pub const TEXT_NODES: usize = 512;
pub const IMAGE_BATCH: usize = 8;
/// Prompts per step of a zero-shot request (whole labels, so a step is about this many).
const PROMPTS_PER_STEP: usize = 512;
/// Greedy selection is quadratic in the templates: the paper's 80 and room for the visitor's.
pub const MAX_CURVE_TEMPLATES: usize = 128;

/// A loaded CLIP model on one device.
pub struct Clip {
    backend: Backend,
    config: ClipConfig,
    preprocess: PreprocessConfig,
    tokenizer: ClipTokenizer,
    vision: Option<VisionTower>,
    text: Option<TextTower>,
    logit_scale: f32,
    classifiers: Vec<Classifier>,
    text_cache: HashMap<String, Vec<f32>>,
}

/// What [`Clip::zero_shot`] adds to the ensemble's probabilities.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZeroShotOptions {
    /// Also each template's own probabilities (from the same prompt embeddings).
    pub per_template: bool,
    /// The softmax's scale τ = exp(logit_scale), to show how it sharpens or flattens the
    /// answer; `None` is the model's own.
    pub scale: Option<f32>,
}

/// A zero-shot request's prompts: every label name in every template, and how many distinct
/// ones are not cached, so the next request runs them through the text tower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PromptCounts {
    pub prompts: usize,
    pub uncached: usize,
}

/// A preset's most probable classes for each image, from its precomputed classifier.
#[derive(Debug, Clone, Serialize)]
pub struct PresetTop {
    pub preset: String,
    /// How many templates each class vector ensembles, and how many classes there are.
    pub templates: usize,
    pub classes: usize,
    /// Per image, best first.
    pub results: Vec<Vec<TopClass>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopClass {
    pub label: String,
    pub index: usize,
    pub prob: f32,
}

/// `clip classify`'s answer for a set of images.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub labels: Vec<Label>,
    pub templates: Vec<String>,
    pub scores: Vec<Scores>,
}

impl Clip {
    /// Load a Hugging Face checkpoint (weights, configs and tokenizer) onto `backend`.
    pub fn from_hf(files: HfFiles, backend: Backend) -> Result<Self> {
        let parts = load_hf(files, &backend.device)?;
        Self::from_parts(backend, parts)
    }

    /// Verify a bundle's files and load the towers it holds onto `backend`.
    pub fn from_bundle(bundle: crate::bundle::Bundle, backend: Backend) -> Result<Self> {
        let parts = bundle.load(&backend)?;
        Self::from_parts(backend, parts)
    }

    /// Open a model directory: a bundle (it has manifest.json) or a Hugging Face checkpoint.
    #[cfg(not(target_family = "wasm"))]
    pub fn open(dir: &std::path::Path, backend: Backend) -> Result<Self> {
        use crate::bundle::{Bundle, MANIFEST, Towers};
        if dir.join(MANIFEST).is_file() {
            Self::from_bundle(Bundle::read_dir(dir, Towers::BOTH)?, backend)
        } else {
            Self::from_hf(HfFiles::read_dir(dir)?, backend)
        }
    }

    /// Only the tokenizer of a model directory (bundle or Hugging Face), without any weights.
    #[cfg(not(target_family = "wasm"))]
    pub fn open_tokenizer(dir: &std::path::Path) -> Result<ClipTokenizer> {
        use crate::bundle::{MANIFEST, Manifest};
        use crate::loader::read_model_file;
        let context = if dir.join(MANIFEST).is_file() {
            Manifest::parse(&read_model_file(dir, MANIFEST)?)?.config.text.max_position_embeddings
        } else {
            ClipConfig::from_hf_json(&read_model_file(dir, "config.json")?)?.text.max_position_embeddings
        };
        ClipTokenizer::from_bytes(&read_model_file(dir, "tokenizer.json")?, context)
    }

    /// Assemble from loaded parts; either tower may be absent (then only the other works).
    pub fn from_parts(backend: Backend, parts: ModelParts) -> Result<Self> {
        let ModelParts { config, preprocess, tokenizer, vision, text, logit_scale, classifiers } = parts;
        let size = config.vision.image_size;
        if preprocess.output_size() != Some((size, size)) {
            return Err(ClipError::Model(format!(
                "preprocessor_config.json crops to {:?}, but the vision tower takes {size}×{size} images",
                preprocess.output_size()
            )));
        }
        Ok(Clip { backend, config, preprocess, tokenizer, vision, text, logit_scale, classifiers, text_cache: HashMap::new() })
    }

    /// Load the towers another part of the same bundle holds (same manifest) into this model,
    /// e.g. the text tower after the vision tower: the page hands wasm one tower file at a time,
    /// each freed once its weights are loaded, so the heap never holds both files at once.
    pub fn add_towers(&mut self, bundle: crate::bundle::Bundle) -> Result<()> {
        let towers = bundle.load_towers(&self.backend)?;
        if towers.config != self.config {
            return Err(ClipError::Model("these tower files belong to another model".into()));
        }
        if towers.vision.is_some() {
            self.vision = towers.vision;
        }
        if towers.text.is_some() {
            self.text = towers.text;
            self.text_cache.clear();
        }
        self.classifiers.extend(towers.classifiers);
        Ok(())
    }

    fn vision(&self) -> Result<&VisionTower> {
        self.vision.as_ref().ok_or_else(|| ClipError::Input("this model was loaded without its vision tower".into()))
    }

    fn text(&self) -> Result<&TextTower> {
        self.text.as_ref().ok_or_else(|| ClipError::Input("this model was loaded without its text tower".into()))
    }

    pub fn config(&self) -> &ClipConfig {
        &self.config
    }
    pub fn preprocess_config(&self) -> &PreprocessConfig {
        &self.preprocess
    }
    pub fn backend(&self) -> &Backend {
        &self.backend
    }
    pub fn logit_scale(&self) -> f32 {
        self.logit_scale
    }

    /// The precomputed classifier the bundle ships for `preset`, if any.
    pub fn classifier(&self, preset: &str) -> Option<&Classifier> {
        self.classifiers.iter().find(|c| c.preset == preset)
    }

    /// Add (or replace) a precomputed classifier.
    pub fn add_classifier(&mut self, classifier: Classifier) {
        self.classifiers.retain(|c| c.preset != classifier.preset);
        self.classifiers.push(classifier);
    }

    /// Scores of image embeddings against a precomputed classifier (no text tower involved).
    pub fn score_with(&self, image_embeddings: &[Vec<f32>], classifier: &Classifier) -> Vec<Scores> {
        image_embeddings.iter().map(|image| zero_shot::score(image, &classifier.classes, self.logit_scale)).collect()
    }

    /// The `k` most probable classes of `preset` for each image embedding, with the bundle's
    /// precomputed classifier for it.
    pub fn preset_top(&self, preset: &str, image_embeddings: &[Vec<f32>], k: usize) -> Result<PresetTop> {
        let classifier = self
            .classifier(preset)
            .ok_or_else(|| ClipError::Input(format!("this model has no precomputed {preset} classifier")))?;
        let labels = &crate::presets::find(preset)?.labels;
        let results = self
            .score_with(image_embeddings, classifier)
            .iter()
            .map(|scores| {
                zero_shot::top_k(&scores.probs, k)
                    .into_iter()
                    .map(|(index, prob)| TopClass { label: labels.get(index).map(Label::display).unwrap_or_default(), index, prob })
                    .collect()
            })
            .collect();
        Ok(PresetTop { preset: preset.to_string(), templates: classifier.templates, classes: classifier.classes.len(), results })
    }

    /// Forget cached prompt embeddings (benchmarks time real encoding).
    pub fn clear_text_cache(&mut self) {
        self.text_cache.clear();
    }

    /// Whether a prompt's embedding is cached (it will not be run through the text tower again).
    pub fn is_cached(&self, text: &str) -> bool {
        self.text_cache.contains_key(text)
    }

    /// The prompts of a zero-shot request over `labels` and `templates`, and how many of them
    /// are not cached (checking the labels and templates as the request itself would).
    pub fn prompt_counts(&self, labels: &[Label], templates: &[&str]) -> Result<PromptCounts> {
        let prompts: Vec<String> = zero_shot::class_prompts(labels, templates)?.concat();
        let mut uncached: Vec<&str> = prompts.iter().map(String::as_str).filter(|p| !self.is_cached(p)).collect();
        uncached.sort_unstable();
        uncached.dedup();
        Ok(PromptCounts { prompts: prompts.len(), uncached: uncached.len() })
    }

    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        self.tokenizer.encode(texts)
    }

    /// Decode and preprocess one image (no model work).
    pub fn preprocess(&self, image: &[u8]) -> Result<Pixels> {
        preprocess(image, &self.preprocess)
    }

    /// Projected, unnormalised image features, one per image (transformers' `get_image_features`).
    pub async fn embed_images(&self, images: &[&[u8]]) -> Result<Vec<Vec<f32>>> {
        let pixels = images.iter().map(|bytes| self.preprocess(bytes)).collect::<Result<Vec<_>>>()?;
        self.embed_pixels(&pixels).await
    }

    /// Image features from already preprocessed pixels, a few images per tower call so memory
    /// stays bounded however many come.
    pub async fn embed_pixels(&self, pixels: &[Pixels]) -> Result<Vec<Vec<f32>>> {
        let vision = self.vision()?;
        let size = self.config.vision.image_size;
        let mut features = Vec::with_capacity(pixels.len());
        for chunk in pixels.chunks(IMAGE_BATCH) {
            let mut batch = Vec::with_capacity(chunk.len() * 3 * size * size);
            for p in chunk {
                batch.extend_from_slice(&p.data);
            }
            let input = Tensor::<4>::from_data(TensorData::new(batch, [chunk.len(), 3, size, size]), &self.backend.device);
            features.extend(read_rows(vision.forward(input)).await?);
        }
        Ok(features)
    }

    /// Projected, unnormalised text features (transformers' `get_text_features`), computing only
    /// the prompts not seen before. They run sorted by their tokens, so prompts that begin alike
    /// share one [`crate::model::PromptTree`], at most [`TEXT_NODES`] token rows per call, so
    /// memory stays bounded (1000 labels × 80 templates included).
    pub async fn embed_texts(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut missing: Vec<&str> = texts.iter().copied().filter(|t| !self.text_cache.contains_key(*t)).collect();
        missing.sort_unstable();
        missing.dedup();
        let mut fresh: HashMap<&str, Vec<f32>> = HashMap::with_capacity(missing.len());
        if !missing.is_empty() {
            let ids = self.tokenizer.encode(&missing)?;
            let mut order: Vec<usize> = (0..missing.len()).collect();
            order.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
            let text = self.text()?;
            let end_of_text = self.tokenizer.end_of_text();
            for chunk in tree_chunks(&order, &ids, end_of_text) {
                let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| ids[i].clone()).collect();
                let rows = read_rows(text.forward(&batch, end_of_text, &self.backend.device)).await?;
                for (&i, row) in chunk.iter().zip(rows) {
                    fresh.insert(missing[i], row);
                }
            }
        }
        let features = texts
            .iter()
            .map(|t| {
                self.text_cache
                    .get(*t)
                    .or_else(|| fresh.get(*t))
                    .cloned()
                    .ok_or_else(|| ClipError::Backend("the text tower returned fewer rows than prompts".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        // The answer is complete before the cache is touched: a request larger than the cache is
        // answered in full and cached in part.
        if self.text_cache.len() + fresh.len() > TEXT_CACHE_LIMIT {
            self.text_cache.clear();
        }
        for (text, feature) in fresh.into_iter().take(TEXT_CACHE_LIMIT) {
            self.text_cache.insert(text.to_string(), feature);
        }
        Ok(features)
    }

    /// One unit-length embedding per label: the ensemble of its prompts (every name in every
    /// template).
    pub async fn label_embeddings(&mut self, labels: &[Label], templates: &[&str]) -> Result<Vec<Vec<f32>>> {
        let rows = self.template_rows(labels, templates).await?;
        Ok(rows.iter().map(|rows| zero_shot::ensemble_rows(rows)).collect())
    }

    /// For each label, one vector per template (its names' unit embeddings averaged, see
    /// [`zero_shot::per_template_rows`]). Encodes a few labels at a time.
    async fn template_rows(&mut self, labels: &[Label], templates: &[&str]) -> Result<Vec<Vec<Vec<f32>>>> {
        let prompts = zero_shot::class_prompts(labels, templates)?;
        let mut rows = Vec::with_capacity(labels.len());
        let mut start = 0;
        while start < prompts.len() {
            // Whole labels, about PROMPTS_PER_STEP prompts per step.
            let mut end = start + 1;
            let mut count = prompts[start].len();
            while end < prompts.len() && count + prompts[end].len() <= PROMPTS_PER_STEP {
                count += prompts[end].len();
                end += 1;
            }
            let flat: Vec<&str> = prompts[start..end].iter().flatten().map(String::as_str).collect();
            let embeddings = self.embed_texts(&flat).await?;
            let mut offset = 0;
            for class in &prompts[start..end] {
                rows.push(zero_shot::per_template_rows(&embeddings[offset..offset + class.len()], templates.len()));
                offset += class.len();
            }
            start = end;
        }
        Ok(rows)
    }

    /// Zero-shot scores of image embeddings over labels, ensembling the templates.
    pub async fn classify_embeddings(
        &mut self,
        image_embeddings: &[Vec<f32>],
        labels: &[&str],
        templates: &[&str],
    ) -> Result<Classification> {
        let labels: Vec<Label> = labels.iter().map(|l| Label::from(*l)).collect();
        self.zero_shot(image_embeddings, &labels, templates, ZeroShotOptions::default()).await
    }

    /// Zero-shot scores over labels that may each have several names; see [`ZeroShotOptions`]
    /// for each template's own probabilities and another softmax scale.
    pub async fn zero_shot(
        &mut self,
        image_embeddings: &[Vec<f32>],
        labels: &[Label],
        templates: &[&str],
        options: ZeroShotOptions,
    ) -> Result<Classification> {
        let logit_scale = match options.scale {
            Some(scale) if scale.is_finite() && scale > 0.0 => scale.ln(),
            Some(scale) => return Err(ClipError::Input(format!("the softmax scale must be a positive number, not {scale}"))),
            None => self.logit_scale,
        };
        let rows = self.template_rows(labels, templates).await?;
        let classes: Vec<Vec<f32>> = rows.iter().map(|rows| zero_shot::ensemble_rows(rows)).collect();
        let scores = image_embeddings
            .iter()
            .map(|image| {
                let mut scores = zero_shot::score(image, &classes, logit_scale);
                if options.per_template {
                    scores.per_template = Some(
                        (0..templates.len())
                            .map(|t| {
                                let cosine: Vec<f32> = rows.iter().map(|r| zero_shot::cosine(image, &r[t])).collect();
                                zero_shot::probabilities(&cosine, logit_scale)
                            })
                            .collect(),
                    );
                }
                scores
            })
            .collect();
        Ok(Classification {
            labels: labels.to_vec(),
            templates: templates.iter().map(|s| s.to_string()).collect(),
            scores,
        })
    }

    /// τ = exp(logit_scale): the visitor's `scale` when given (checked), else the model's own.
    pub fn scale_or_own(&self, scale: Option<f32>) -> Result<f32> {
        match scale {
            Some(scale) if scale.is_finite() && scale > 0.0 => Ok(scale),
            Some(scale) => Err(ClipError::Input(format!("the softmax scale must be a positive number, not {scale}"))),
            None => Ok(self.logit_scale.exp()),
        }
    }

    /// The gallery as one training batch: image `i` paired with `captions[i]` (as typed, no
    /// template); captions past the images are hard negatives. See [`crate::contrast`].
    pub async fn contrast(&mut self, images: &[Vec<f32>], captions: &[&str], scale: Option<f32>) -> Result<Contrast> {
        let scale = self.scale_or_own(scale)?;
        if let Some(i) = captions.iter().position(|c| c.trim().is_empty()) {
            return Err(ClipError::Input(format!("caption {} is empty: every image of the batch needs words to match", i + 1)));
        }
        if images.len() < 2 {
            return Err(ClipError::Input("a training batch needs at least two image–caption pairs".into()));
        }
        let texts = self.embed_texts(captions).await?;
        contrast::contrast(images, &texts, scale)
    }

    /// Whether zero-shot (these labels and templates, ensembled) picks each image's true label.
    pub async fn zero_shot_right(&mut self, images: &[Vec<f32>], truth: &[usize], labels: &[Label], templates: &[&str]) -> Result<Vec<bool>> {
        let scores = self.zero_shot(images, labels, templates, ZeroShotOptions::default()).await?.scores;
        Ok(scores.iter().zip(truth).map(|(s, &y)| zero_shot::top_k(&s.probs, 1).first().map(|t| t.0) == Some(y)).collect())
    }

    /// Zero-shot accuracy on labelled images as templates are added (see [`curves::template_curve`]).
    pub async fn template_curve(
        &mut self,
        images: &[Vec<f32>],
        truth: &[usize],
        labels: &[Label],
        templates: &[&str],
        greedy: bool,
    ) -> Result<Vec<TemplateStep>> {
        if templates.len() > MAX_CURVE_TEMPLATES {
            return Err(ClipError::Input(format!("the template curve takes at most {MAX_CURVE_TEMPLATES} templates")));
        }
        let rows = self.template_rows(labels, templates).await?;
        curves::template_curve(images, truth, &rows, greedy, self.logit_scale.exp())
    }

    /// Rank image embeddings by their cosine to a text, highest first (the text as typed, no
    /// template: retrieval compares a caption with images).
    pub async fn search_text(&mut self, query: &str, image_embeddings: &[Vec<f32>]) -> Result<Vec<(usize, f32)>> {
        if query.trim().is_empty() {
            return Err(ClipError::Input("the search query is empty".into()));
        }
        let text = self.embed_texts(&[query]).await?;
        Ok(crate::search::rank(&text[0], image_embeddings))
    }

    /// Encoded images + labels + templates → probabilities per image, in label order.
    pub async fn classify(&mut self, images: &[&[u8]], labels: &[&str], templates: &[&str]) -> Result<Classification> {
        zero_shot::prompts(labels, templates)?; // reject bad labels/templates before any model work
        let embeddings = self.embed_images(images).await?;
        self.classify_embeddings(&embeddings, labels, templates).await
    }
}

/// Read a [rows, dim] tensor back to the host without blocking (required in the browser).
/// `order` (prompt indices sorted by their tokens) cut into consecutive runs of at most
/// [`TEXT_NODES`] prompt-tree rows each (a prompt longer than that runs alone).
fn tree_chunks<'a>(order: &'a [usize], ids: &[Vec<u32>], end_of_text: u32) -> Vec<&'a [usize]> {
    let mut chunks = Vec::new();
    let (mut start, mut nodes) = (0, 0);
    for (k, &i) in order.iter().enumerate() {
        let previous = (k > start).then(|| ids[order[k - 1]].as_slice());
        let added = crate::model::PromptTree::added_nodes(previous, &ids[i], end_of_text);
        if k > start && nodes + added > TEXT_NODES {
            chunks.push(&order[start..k]);
            start = k;
            nodes = crate::model::PromptTree::added_nodes(None, &ids[i], end_of_text);
        } else {
            nodes += added;
        }
    }
    if start < order.len() {
        chunks.push(&order[start..]);
    }
    chunks
}

async fn read_rows(tensor: Tensor<2>) -> Result<Vec<Vec<f32>>> {
    let [rows, dim] = tensor.dims();
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| ClipError::Backend(format!("reading results from the device failed: {e:?}")))?;
    let values = data
        .try_to_vec::<f32>()
        .map_err(|e| ClipError::Backend(format!("unexpected result type from the device: {e:?}")))?;
    Ok((0..rows).map(|r| values[r * dim..(r + 1) * dim].to_vec()).collect())
}

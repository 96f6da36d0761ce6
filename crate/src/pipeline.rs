//! The whole data path behind one type: bytes → preprocess → tower → embedding → zero-shot.
//! Everything here is async only because reading results back from a GPU in the browser must
//! be; on the CPU the futures are ready at once.

use std::collections::HashMap;

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use crate::backend::Backend;
use crate::config::{ClipConfig, PreprocessConfig};
use crate::error::{ClipError, Result};
use crate::loader::{LoadedWeights, load_safetensors};
use crate::model::{TextTower, VisionTower};
use crate::preprocess::{Pixels, preprocess};
use crate::tokenizer::ClipTokenizer;
use crate::zero_shot::{self, Scores};

/// The files of a Hugging Face CLIP checkpoint, already in memory.
pub struct HfFiles {
    pub config_json: Vec<u8>,
    pub model_safetensors: Vec<u8>,
    pub tokenizer_json: Vec<u8>,
    pub preprocessor_config_json: Option<Vec<u8>>,
}

impl HfFiles {
    /// Read a model directory in Hugging Face layout.
    #[cfg(not(target_family = "wasm"))]
    pub fn read_dir(dir: &std::path::Path) -> Result<Self> {
        let read = |name: &str| read_model_file(dir, name);
        let preprocessor = dir.join("preprocessor_config.json");
        Ok(HfFiles {
            config_json: read("config.json")?,
            model_safetensors: read("model.safetensors")?,
            tokenizer_json: read("tokenizer.json")?,
            preprocessor_config_json: if preprocessor.exists() { Some(read("preprocessor_config.json")?) } else { None },
        })
    }
}

/// One file of a model directory, with an error that says which is missing.
#[cfg(not(target_family = "wasm"))]
pub fn read_model_file(dir: &std::path::Path, name: &str) -> Result<Vec<u8>> {
    if !dir.is_dir() {
        return Err(ClipError::Model(format!("{} is not a model directory", dir.display())));
    }
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ClipError::Model(format!("the model directory {} has no {name}", dir.display())),
        _ => ClipError::io(&path, e),
    })
}

/// Cached text embeddings, keyed by the exact prompt string. Bounded, because a visitor typing
/// creates a new prompt on every keystroke.
const TEXT_CACHE_LIMIT: usize = 4096;

/// A loaded CLIP model on one device.
pub struct Clip {
    backend: Backend,
    config: ClipConfig,
    preprocess: PreprocessConfig,
    tokenizer: ClipTokenizer,
    vision: Option<VisionTower>,
    text: Option<TextTower>,
    logit_scale: f32,
    text_cache: HashMap<String, Vec<f32>>,
}

/// `clip classify`'s answer for a set of images.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub labels: Vec<String>,
    pub templates: Vec<String>,
    pub scores: Vec<Scores>,
}

impl Clip {
    pub fn from_hf(files: HfFiles, backend: Backend) -> Result<Self> {
        let config = ClipConfig::from_hf_json(&files.config_json)?;
        let preprocess = match &files.preprocessor_config_json {
            Some(json) => PreprocessConfig::from_hf_json(json, config.vision.image_size)?,
            None => PreprocessConfig::default_for(config.vision.image_size),
        };
        let tokenizer = ClipTokenizer::from_bytes(&files.tokenizer_json, config.text.max_position_embeddings)?;
        let LoadedWeights { vision, text, logit_scale } =
            load_safetensors(files.model_safetensors, &config, &backend.device)?;
        Self::from_parts(backend, config, preprocess, tokenizer, Some(vision), Some(text), logit_scale)
    }

    /// Open a model directory: a bundle (it has manifest.json) or a Hugging Face checkpoint.
    #[cfg(not(target_family = "wasm"))]
    pub fn open(dir: &std::path::Path, backend: Backend) -> Result<Self> {
        use crate::bundle::{Bundle, MANIFEST, Towers};
        if dir.join(MANIFEST).is_file() {
            Bundle::read_dir(dir, Towers::BOTH)?.load(backend)
        } else {
            Self::from_hf(HfFiles::read_dir(dir)?, backend)
        }
    }

    /// Only the tokenizer of a model directory (bundle or Hugging Face), without any weights.
    #[cfg(not(target_family = "wasm"))]
    pub fn open_tokenizer(dir: &std::path::Path) -> Result<ClipTokenizer> {
        use crate::bundle::{MANIFEST, Manifest};
        let context = if dir.join(MANIFEST).is_file() {
            Manifest::parse(&read_model_file(dir, MANIFEST)?)?.config.text.max_position_embeddings
        } else {
            ClipConfig::from_hf_json(&read_model_file(dir, "config.json")?)?.text.max_position_embeddings
        };
        ClipTokenizer::from_bytes(&read_model_file(dir, "tokenizer.json")?, context)
    }

    /// Assemble from loaded parts; either tower may be absent (then only the other works).
    pub fn from_parts(
        backend: Backend,
        config: ClipConfig,
        preprocess: PreprocessConfig,
        tokenizer: ClipTokenizer,
        vision: Option<VisionTower>,
        text: Option<TextTower>,
        logit_scale: f32,
    ) -> Result<Self> {
        let size = config.vision.image_size;
        if preprocess.output_size() != Some((size, size)) {
            return Err(ClipError::Model(format!(
                "preprocessor_config.json crops to {:?}, but the vision tower takes {size}×{size} images",
                preprocess.output_size()
            )));
        }
        Ok(Clip { backend, config, preprocess, tokenizer, vision, text, logit_scale, text_cache: HashMap::new() })
    }

    /// Take the model apart (for conversion).
    pub fn into_parts(self) -> (ClipConfig, PreprocessConfig, f32, Option<VisionTower>, Option<TextTower>) {
        (self.config, self.preprocess, self.logit_scale, self.vision, self.text)
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

    /// Forget cached prompt embeddings (benchmarks time real encoding).
    pub fn clear_text_cache(&mut self) {
        self.text_cache.clear();
    }

    /// Whether a prompt's embedding is cached (it will not be run through the text tower again).
    pub fn is_cached(&self, text: &str) -> bool {
        self.text_cache.contains_key(text)
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

    /// Image features from already preprocessed pixels, in one batch.
    pub async fn embed_pixels(&self, pixels: &[Pixels]) -> Result<Vec<Vec<f32>>> {
        let vision = self.vision()?;
        if pixels.is_empty() {
            return Ok(Vec::new());
        }
        let size = self.config.vision.image_size;
        let mut batch = Vec::with_capacity(pixels.len() * 3 * size * size);
        for p in pixels {
            batch.extend_from_slice(&p.data);
        }
        let input = Tensor::<4>::from_data(TensorData::new(batch, [pixels.len(), 3, size, size]), &self.backend.device);
        read_rows(vision.forward(input)).await
    }

    /// Projected, unnormalised text features (transformers' `get_text_features`), computing only
    /// the prompts not seen before.
    pub async fn embed_texts(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut missing: Vec<&str> = texts.iter().copied().filter(|t| !self.text_cache.contains_key(*t)).collect();
        missing.sort_unstable();
        missing.dedup();
        if !missing.is_empty() {
            let ids = self.tokenizer.encode(&missing)?;
            let text = self.text()?.forward(&ids, self.tokenizer.end_of_text(), &self.backend.device);
            let features = read_rows(text).await?;
            if self.text_cache.len() + missing.len() > TEXT_CACHE_LIMIT {
                self.text_cache.clear();
            }
            for (text, feature) in missing.iter().zip(features) {
                self.text_cache.insert((*text).to_string(), feature);
            }
        }
        texts
            .iter()
            .map(|t| {
                self.text_cache
                    .get(*t)
                    .cloned()
                    .ok_or_else(|| ClipError::Backend("text embedding cache lost an entry".into()))
            })
            .collect()
    }

    /// One unit-length embedding per label: the ensemble of its prompts over all templates.
    pub async fn class_embeddings(&mut self, labels: &[&str], templates: &[&str]) -> Result<Vec<Vec<f32>>> {
        let prompts = zero_shot::prompts(labels, templates)?;
        let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
        let embeddings = self.embed_texts(&refs).await?;
        Ok(embeddings.chunks(templates.len()).map(zero_shot::ensemble).collect())
    }

    /// Zero-shot scores of image embeddings over labels, ensembling the templates.
    pub async fn classify_embeddings(
        &mut self,
        image_embeddings: &[Vec<f32>],
        labels: &[&str],
        templates: &[&str],
    ) -> Result<Classification> {
        let classes = self.class_embeddings(labels, templates).await?;
        Ok(Classification {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            templates: templates.iter().map(|s| s.to_string()).collect(),
            scores: image_embeddings.iter().map(|image| zero_shot::score(image, &classes, self.logit_scale)).collect(),
        })
    }

    /// Encoded images + labels + templates → probabilities per image, in label order.
    pub async fn classify(&mut self, images: &[&[u8]], labels: &[&str], templates: &[&str]) -> Result<Classification> {
        zero_shot::prompts(labels, templates)?; // reject bad labels/templates before any model work
        let embeddings = self.embed_images(images).await?;
        self.classify_embeddings(&embeddings, labels, templates).await
    }
}

/// Read a [rows, dim] tensor back to the host without blocking (required in the browser).
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

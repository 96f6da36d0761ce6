//! The browser's door into the crate: a thin wasm-bindgen layer over [`Clip`]. Everything here
//! converts between JavaScript values and the Rust API; no model logic lives here.

use std::cell::{Ref, RefCell, RefMut};
use std::collections::BTreeMap;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::backend::Backend;
use crate::bundle::{Bundle, Manifest, TEXT_FILE, TOKENIZER_FILE, VISION_FILE, aligned_file, file_bytes};
use crate::error::ClipError;
use crate::pipeline::{Clip, ZeroShotOptions};
use crate::zero_shot::Label;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

fn js_error(e: ClipError) -> JsError {
    JsError::new(&e.to_string())
}

/// The loaded model, shared. The worker sends one request at a time, so a borrow conflict is a
/// caller bug: reported as an error, never a panic.
fn loaded(cell: &RefCell<Option<Clip>>) -> Result<Ref<'_, Clip>, JsError> {
    let guard = cell.try_borrow().map_err(|_| JsError::new("the engine is busy"))?;
    Ref::filter_map(guard, Option::as_ref).map_err(|_| JsError::new("no model is loaded"))
}

fn loaded_mut(cell: &RefCell<Option<Clip>>) -> Result<RefMut<'_, Clip>, JsError> {
    let guard = cell.try_borrow_mut().map_err(|_| JsError::new("the engine is busy"))?;
    RefMut::filter_map(guard, Option::as_mut).map_err(|_| JsError::new("no model is loaded"))
}

/// One model on one device. Create once per page (WebGPU can be initialised only once) and
/// load bundles into it.
#[wasm_bindgen]
pub struct Engine {
    backend: Backend,
    fallback_reason: Option<String>,
    // Rc<RefCell>: async methods hold the model across awaits; the worker sends one request at
    // a time, so a borrow conflict means a caller bug and is reported, not panicked on.
    clip: Rc<RefCell<Option<Clip>>>,
}

/// The CPU backend, with why it is used.
#[cfg(feature = "cpu")]
fn cpu_because(reason: String) -> Result<(Backend, Option<String>), JsError> {
    Ok((Backend::cpu(), Some(reason)))
}

#[cfg(not(feature = "cpu"))]
fn cpu_because(reason: String) -> Result<(Backend, Option<String>), JsError> {
    Err(JsError::new(&reason))
}

#[wasm_bindgen]
impl Engine {
    /// Acquire WebGPU when `prefer_gpu` and the browser offers it, else the CPU (burn-flex,
    /// wasm SIMD), keeping the reason in `fallbackReason`.
    /// A software WebGPU adapter (SwiftShader) is no GPU: measured 40–46 s per B/32 image against
    /// ≈1.1 s on the wasm CPU path, so it is used only when `allow_software` (`?backend=webgpu`).
    /// A module built without the CPU path (the page's WebGPU module) fails instead, with that
    /// reason as its message, and the worker loads the CPU module.
    pub async fn create(prefer_gpu: bool, allow_software: bool) -> Result<Engine, JsError> {
        let (backend, fallback_reason) = if prefer_gpu {
            match Backend::wgpu().await {
                Ok(backend) if backend.software && !allow_software => cpu_because(format!(
                    "the only WebGPU adapter is a software renderer ({}), far slower than the CPU path; add ?backend=webgpu to use it anyway",
                    backend.description
                ))?,
                Ok(backend) => (backend, None),
                Err(e) => cpu_because(e.to_string())?,
            }
        } else {
            cpu_because("the CPU was asked for".to_string())?
        };
        Ok(Engine { backend, fallback_reason, clip: Rc::new(RefCell::new(None)) })
    }

    /// "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        if self.backend.kind == "wgpu" { "webgpu".into() } else { "cpu".into() }
    }

    /// The adapter's name, or the CPU backend's.
    #[wasm_bindgen(getter, js_name = backendDescription)]
    pub fn backend_description(&self) -> String {
        if self.backend.kind == "wgpu" {
            return self.backend.description.clone();
        }
        // The threaded module's pool is started before any engine (wasm_threads.rs).
        #[cfg(feature = "threads")]
        let cpu = format!("CPU (burn-flex, wasm SIMD, {} threads)", rayon::current_num_threads());
        #[cfg(not(feature = "threads"))]
        let cpu = "CPU (burn-flex, wasm SIMD)".to_string();
        cpu
    }

    /// Why WebGPU is not in use, when it is not.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.fallback_reason.clone()
    }

    /// Check one downloaded file against the bundle manifest (size, then sha256).
    #[wasm_bindgen(js_name = verifyFile)]
    pub fn verify_file(manifest_json: &str, name: &str, bytes: &[u8]) -> Result<(), JsError> {
        Manifest::parse(manifest_json.as_bytes()).and_then(|m| m.verify(name, bytes)).map_err(js_error)
    }

    /// Load a bundle from fetched bytes. Either tower may be omitted. `sha256_json`, optional:
    /// `{"vision.bpk": "<hex>", ...}`, digests the page computed on these same bytes with the
    /// browser's WebCrypto; those files are checked by digest, the others hashed here.
    #[wasm_bindgen(js_name = loadBundle)]
    pub fn load_bundle(
        &self,
        manifest_json: &str,
        vision: Option<js_sys::Uint8Array>,
        text: Option<js_sys::Uint8Array>,
        tokenizer: Vec<u8>,
        sha256_json: Option<String>,
    ) -> Result<(), JsError> {
        let manifest = Manifest::parse(manifest_json.as_bytes()).map_err(js_error)?;
        let mut sha256: BTreeMap<String, String> = match sha256_json {
            Some(json) => serde_json::from_str(&json).map_err(|e| JsError::new(&format!("the file digests are not a JSON map of names to hex ({e})")))?,
            None => BTreeMap::new(),
        };
        // One tower at a time (see `tower_in`), so that on WebGPU, where the buffer is freed after
        // upload, the heap peaks at the larger file, not both.
        let mut towers = [(VISION_FILE, vision), (TEXT_FILE, text)]
            .into_iter()
            .filter_map(|(name, bytes)| bytes.map(|bytes| (name, bytes)));
        let on_cpu = self.backend.kind == "cpu";
        let bundle = |name: &str,
                      array: &js_sys::Uint8Array,
                      mut files: BTreeMap<String, burn::tensor::Bytes>,
                      sha256: &mut BTreeMap<String, String>| {
            let (bytes, rewritten) = tower_in(name, array, on_cpu, sha256);
            files.insert(name.to_string(), bytes);
            let bundle = Bundle::new(manifest.clone(), files).with_sha256(sha256.clone());
            #[cfg(feature = "cpu")]
            let bundle = match rewritten {
                Some(rewritten) => bundle.with_cpu_order(name, rewritten),
                None => bundle,
            };
            #[cfg(not(feature = "cpu"))]
            let _ = rewritten;
            bundle
        };
        let tokenizer = BTreeMap::from([(TOKENIZER_FILE.to_string(), file_bytes(&tokenizer))]);
        let mut clip = match towers.next() {
            Some((name, array)) => Clip::from_bundle(bundle(name, &array, tokenizer, &mut sha256), self.backend.clone()),
            None => Clip::from_bundle(Bundle::new(manifest.clone(), tokenizer).with_sha256(sha256.clone()), self.backend.clone()),
        }
        .map_err(js_error)?;
        for (name, array) in towers {
            clip.add_towers(bundle(name, &array, BTreeMap::new(), &mut sha256)).map_err(js_error)?;
        }
        *self.clip.try_borrow_mut().map_err(|_| JsError::new("the engine is busy"))? = Some(clip);
        Ok(())
    }

    /// The vision tower's input size and the text context, as JSON (for display).
    #[wasm_bindgen(js_name = modelInfo)]
    pub fn model_info(&self) -> Result<String, JsError> {
        let clip = loaded(&self.clip)?;
        let config = clip.config();
        Ok(serde_json::json!({
            "imageSize": config.vision.image_size,
            "patchSize": config.vision.patch_size,
            "embeddingDim": config.projection_dim,
            "logitScale": clip.logit_scale().exp(),
        })
        .to_string())
    }

    /// Projected image features from encoded image bytes (JPEG, PNG, WebP, GIF, BMP).
    #[wasm_bindgen(js_name = embedImage)]
    pub async fn embed_image(&self, bytes: Vec<u8>) -> Result<Vec<f32>, JsError> {
        let cell = self.clip.clone();
        let clip = loaded(&cell)?;
        let pixels = clip.preprocess(&bytes).map_err(js_error)?;
        let mut rows = clip.embed_pixels(&[pixels]).await.map_err(js_error)?;
        rows.pop().ok_or_else(|| JsError::new("the vision tower returned nothing"))
    }

    /// Projected text features for each text, back to back (`texts.length × embeddingDim`);
    /// prompts seen before come from the cache.
    #[wasm_bindgen(js_name = embedTexts)]
    pub async fn embed_texts(&self, texts: Vec<String>) -> Result<Vec<f32>, JsError> {
        let cell = self.clip.clone();
        let mut clip = loaded_mut(&cell)?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let rows = clip.embed_texts(&refs).await.map_err(js_error)?;
        Ok(rows.concat())
    }

    /// Zero-shot scores. `image_embeddings` holds `count` embeddings back to back; a label
    /// `happy | smiling` is one class with two names. Returns JSON:
    /// `{"labels": [...], "templates": [...], "scores": [{"probs", "cosine", "per_template"?}], "prompts": n, "encoded": n}`
    /// where `prompts` counts every prompt of the request and `encoded` the prompts that were not cached and had to run through the text
    /// tower. `per_template` adds each template's own probabilities; `scale` replaces the model's
    /// softmax scale τ.
    #[allow(clippy::too_many_arguments)]
    pub async fn classify(
        &self,
        image_embeddings: Vec<f32>,
        count: usize,
        labels: Vec<String>,
        templates: Vec<String>,
        per_template: bool,
        scale: Option<f32>,
    ) -> Result<String, JsError> {
        let cell = self.clip.clone();
        let mut clip = loaded_mut(&cell)?;
        let images = split_embeddings(&image_embeddings, count)?;
        let labels: Vec<Label> = labels.iter().map(|l| Label::parse(l)).collect();
        let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
        // Counted before the request fills the cache: the prompts this call runs through the text tower.
        let counts = clip.prompt_counts(&labels, &templates).map_err(js_error)?;
        let options = ZeroShotOptions { per_template, scale };
        let result = clip.zero_shot(&images, &labels, &templates, options).await.map_err(js_error)?;
        let labels: Vec<String> = result.labels.iter().map(Label::display).collect();
        Ok(serde_json::json!({
            "labels": labels,
            "templates": result.templates,
            "scores": result.scores,
            "prompts": counts.prompts,
            "encoded": counts.uncached,
        })
        .to_string())
    }

    /// Check a precomputed classifier file against the manifest and add it to the model.
    #[wasm_bindgen(js_name = addClassifier)]
    pub fn add_classifier(&self, manifest_json: &str, file: &str, bytes: &[u8]) -> Result<String, JsError> {
        let manifest = Manifest::parse(manifest_json.as_bytes()).map_err(js_error)?;
        manifest.verify(file, bytes).map_err(js_error)?;
        let entry = manifest
            .classifiers
            .iter()
            .find(|c| c.file == file)
            .ok_or_else(|| JsError::new(&format!("the manifest lists no classifier in {file}")))?;
        let classifier = entry.decode(bytes).map_err(js_error)?;
        let preset = classifier.preset.clone();
        let mut clip = loaded_mut(&self.clip)?;
        clip.add_classifier(classifier);
        Ok(preset)
    }

    /// The `k` most probable classes of a preset for each image, with its precomputed
    /// classifier. JSON: `{"preset", "templates", "classes", "results": [[{"label", "index", "prob"}, ...], ...]}`.
    #[wasm_bindgen(js_name = classifyPreset)]
    pub fn classify_preset(&self, preset: &str, image_embeddings: Vec<f32>, count: usize, k: usize) -> Result<String, JsError> {
        let clip = loaded(&self.clip)?;
        let images = split_embeddings(&image_embeddings, count)?;
        let top = clip.preset_top(preset, &images, k).map_err(js_error)?;
        serde_json::to_string(&top).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Rank images by cosine to a text (as typed) or, with `query_embedding`, to an image.
    /// JSON: `[{"index", "cosine"}, ...]`, highest first.
    pub async fn search(
        &self,
        query: String,
        query_embedding: Option<Vec<f32>>,
        image_embeddings: Vec<f32>,
        count: usize,
    ) -> Result<String, JsError> {
        let cell = self.clip.clone();
        let mut clip = loaded_mut(&cell)?;
        let images = split_embeddings(&image_embeddings, count)?;
        let ranked = match query_embedding {
            Some(embedding) => crate::search::rank(&embedding, &images),
            None => clip.search_text(&query, &images).await.map_err(js_error)?,
        };
        let out: Vec<serde_json::Value> =
            ranked.iter().map(|(index, cosine)| serde_json::json!({ "index": index, "cosine": cosine })).collect();
        Ok(serde_json::Value::Array(out).to_string())
    }

    /// Fit the few-shot probe on `train_count` embeddings (back to back) with their class indices
    /// and apply it to `test_count` embeddings: JSON `{"probs": [[...], ...], "iterations"}`.
    pub fn probe(
        train_embeddings: Vec<f32>,
        train_count: usize,
        train_classes: Vec<u32>,
        classes: usize,
        c: f64,
        test_embeddings: Vec<f32>,
        test_count: usize,
    ) -> Result<String, JsError> {
        let train = split_embeddings(&train_embeddings, train_count)?;
        if train_classes.len() != train.len() {
            return Err(JsError::new("every training embedding needs one class"));
        }
        let examples: Vec<(usize, Vec<f32>)> = train_classes.iter().map(|&c| c as usize).zip(train).collect();
        let probe = crate::probe::fit(&examples, classes, c).map_err(js_error)?;
        let probs: Vec<Vec<f32>> =
            split_embeddings(&test_embeddings, test_count)?.iter().map(|e| probe.predict(e)).collect();
        Ok(serde_json::json!({ "probs": probs, "iterations": probe.iterations }).to_string())
    }

    /// The gallery as a training batch: `count` image embeddings, image i paired with
    /// `captions[i]`, captions past `count` hard negatives. JSON of [`crate::contrast::Contrast`].
    pub async fn contrast(&self, image_embeddings: Vec<f32>, count: usize, captions: Vec<String>, scale: Option<f32>) -> Result<String, JsError> {
        let cell = self.clip.clone();
        let mut clip = loaded_mut(&cell)?;
        let images = split_embeddings(&image_embeddings, count)?;
        let captions: Vec<&str> = captions.iter().map(String::as_str).collect();
        let batch = clip.contrast(&images, &captions, scale).await.map_err(js_error)?;
        to_json(&batch)
    }

    /// The k-shot curve over `count` labelled embeddings (`truth[i]` indexes `labels`), zero-shot
    /// with `templates` as its flat line. JSON of [`crate::curves::ShotCurve`].
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = shotCurve)]
    pub async fn shot_curve(
        &self,
        image_embeddings: Vec<f32>,
        count: usize,
        truth: Vec<u32>,
        labels: Vec<String>,
        templates: Vec<String>,
        shots: Vec<u32>,
        draws: usize,
        seed: u64,
        c: f64,
    ) -> Result<String, JsError> {
        let cell = self.clip.clone();
        let mut clip = loaded_mut(&cell)?;
        let (images, truth, labels, templates) = labelled(&image_embeddings, count, &truth, &labels, &templates)?;
        let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
        let right = clip.zero_shot_right(&images, &truth, &labels, &templates).await.map_err(js_error)?;
        let shots: Vec<usize> = shots.iter().map(|&k| k as usize).collect();
        let sampling = crate::curves::Sampling { draws, seed, c };
        to_json(&crate::curves::shot_curve(&images, &truth, labels.len(), &right, &shots, sampling).map_err(js_error)?)
    }

    /// Accuracy as templates are added (in order, or greedily). JSON: `[{"templates": [index...], "accuracy", "mean_true_prob"}]`.
    #[wasm_bindgen(js_name = templateCurve)]
    pub async fn template_curve(
        &self,
        image_embeddings: Vec<f32>,
        count: usize,
        truth: Vec<u32>,
        labels: Vec<String>,
        templates: Vec<String>,
        greedy: bool,
    ) -> Result<String, JsError> {
        let cell = self.clip.clone();
        let mut clip = loaded_mut(&cell)?;
        let (images, truth, labels, templates) = labelled(&image_embeddings, count, &truth, &labels, &templates)?;
        let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
        to_json(&clip.template_curve(&images, &truth, &labels, &templates, greedy).await.map_err(js_error)?)
    }

    /// Distribution shift: a probe fitted on `train_domain`'s images, zero-shot and the probe on
    /// every domain. JSON of [`crate::curves::Shift`].
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = domainShift)]
    pub async fn domain_shift(
        &self,
        image_embeddings: Vec<f32>,
        count: usize,
        truth: Vec<u32>,
        domains: Vec<String>,
        labels: Vec<String>,
        templates: Vec<String>,
        train_domain: String,
        draws: usize,
        seed: u64,
        c: f64,
    ) -> Result<String, JsError> {
        let cell = self.clip.clone();
        let mut clip = loaded_mut(&cell)?;
        let (images, truth, labels, templates) = labelled(&image_embeddings, count, &truth, &labels, &templates)?;
        let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
        let right = clip.zero_shot_right(&images, &truth, &labels, &templates).await.map_err(js_error)?;
        let sampling = crate::curves::Sampling { draws, seed, c };
        let shift = crate::curves::domain_shift(&images, &truth, labels.len(), &domains, &right, &train_domain, None, sampling);
        to_json(&shift.map_err(js_error)?)
    }

    /// The page state in a link's fragment, checked (see [`crate::share`]): JSON of `PageState`.
    #[wasm_bindgen(js_name = parseState)]
    pub fn parse_state(fragment: &str) -> Result<String, JsError> {
        let state = crate::share::PageState::parse(fragment).map_err(js_error)?;
        serde_json::to_string(&state).map_err(|e| JsError::new(&e.to_string()))
    }

    /// The fragment for a page state given as JSON; refused when the link could not be read
    /// back (too long, too many labels, ...).
    #[wasm_bindgen(js_name = encodeState)]
    pub fn encode_state(state_json: &str) -> Result<String, JsError> {
        let state: crate::share::PageState =
            serde_json::from_str(state_json).map_err(|e| JsError::new(&format!("the page state is malformed: {e}")))?;
        let fragment = state.encode();
        crate::share::PageState::parse(&fragment).map_err(js_error)?;
        Ok(fragment)
    }

    /// What each model of a site costs (`{"configs": [manifest config…], "measured": [index, ms] | null}`),
    /// and its expected milliseconds per image here when one of them was timed: JSON of
    /// `[{"parameters", "image_macs", "ms_per_image"}]` (see [`crate::cost`]).
    #[wasm_bindgen(js_name = modelCosts)]
    pub fn model_costs(request_json: &str) -> Result<String, JsError> {
        #[derive(serde::Deserialize)]
        struct Request {
            configs: Vec<crate::config::ClipConfig>,
            measured: Option<(usize, f64)>,
        }
        let request: Request = serde_json::from_str(request_json).map_err(|e| JsError::new(&format!("the models' configs are malformed: {e}")))?;
        to_json(&crate::cost::estimates(&request.configs, request.measured))
    }

    /// The CLIP paper's prompt presets, as JSON (`{"presets": [{"name", "title", "source", "labels", "templates"}]}`).
    pub fn presets() -> String {
        crate::presets::json().to_string()
    }
}

/// A file from JavaScript, copied into wasm memory once, straight into an aligned buffer: on the
/// CPU its 8-bit weights stay views into that buffer, so the heap (which never shrinks) holds
/// each file once.
///
/// On the CPU its Linear weights are then rewritten, in place, in the order the integer kernel
/// reads them (`cpu_weights.rs`), which spares every matmul a pass over them. The digest the
/// manifest is checked by is taken first: the page's (WebCrypto), or computed here.
fn tower_in(
    name: &str,
    array: &js_sys::Uint8Array,
    on_cpu: bool,
    sha256: &mut BTreeMap<String, String>,
) -> (burn::tensor::Bytes, Option<std::collections::BTreeSet<String>>) {
    let mut rewritten = None;
    let Ok(bytes) = aligned_file(array.length() as usize, |buffer| {
        array.copy_to(buffer);
        if on_cpu {
            rewritten = rewrite_for_cpu(name, buffer, sha256);
        }
        Ok::<(), std::convert::Infallible>(())
    });
    (bytes, rewritten)
}

#[cfg(feature = "cpu")]
fn rewrite_for_cpu(name: &str, file: &mut [u8], sha256: &mut BTreeMap<String, String>) -> Option<std::collections::BTreeSet<String>> {
    sha256.entry(name.to_string()).or_insert_with(|| crate::bundle::sha256_hex(file));
    Some(crate::cpu_weights::rewrite(file))
}

/// The WebGPU module never runs on the CPU (its worker starts the CPU module instead).
#[cfg(not(feature = "cpu"))]
fn rewrite_for_cpu(_name: &str, _file: &mut [u8], _sha256: &mut BTreeMap<String, String>) -> Option<std::collections::BTreeSet<String>> {
    None
}

fn to_json(value: &impl serde::Serialize) -> Result<String, JsError> {
    serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))
}

/// A labelled set from JavaScript, checked: embeddings, class indices, labels, templates.
#[allow(clippy::type_complexity)]
fn labelled(
    flat: &[f32],
    count: usize,
    truth: &[u32],
    labels: &[String],
    templates: &[String],
) -> Result<(Vec<Vec<f32>>, Vec<usize>, Vec<Label>, Vec<String>), JsError> {
    let images = split_embeddings(flat, count)?;
    if truth.len() != images.len() {
        return Err(JsError::new("every labelled image needs one label"));
    }
    let labels: Vec<Label> = labels.iter().map(|l| Label::parse(l)).collect();
    Ok((images, truth.iter().map(|&t| t as usize).collect(), labels, templates.to_vec()))
}

/// `count` embeddings stored back to back → one vector each.
fn split_embeddings(flat: &[f32], count: usize) -> Result<Vec<Vec<f32>>, JsError> {
    if count == 0 && !flat.is_empty() || count > 0 && flat.len() % count != 0 {
        return Err(JsError::new("image embeddings do not split into the given count"));
    }
    let dim = if count == 0 { 0 } else { flat.len() / count };
    Ok(flat.chunks(dim.max(1)).take(count).map(<[f32]>::to_vec).collect())
}

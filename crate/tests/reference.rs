//! The Rust pipeline against transformers on identical weights and files: token ids exact,
//! pixels, text and image embeddings, and zero-shot probabilities within the stated tolerances,
//! on the CPU and on wgpu.

mod common;

use std::path::Path;

use clip::{Backend, Clip, HfFiles};
use common::*;

fn load(dir: &Path, backend: Backend) -> Clip {
    Clip::from_hf(HfFiles::read_dir(dir).expect("model files"), backend).expect("model loads")
}

fn check_model(dir: &Path, backend: Backend) {
    check_model_against(dir, dir, backend)
}

/// `dir`'s model against the transformers outputs stored in `reference_dir`.
fn check_model_against(dir: &Path, reference_dir: &Path, backend: Backend) {
    let r = reference(reference_dir);
    let name = format!("{} on {}", dir.display(), backend.description);
    let mut clip = load(dir, backend);

    // Tokens: identical to CLIPTokenizerFast, including the over-long prompt (truncated, EOT last).
    let prompts: Vec<&str> = r.prompts.iter().map(String::as_str).collect();
    assert_eq!(clip.tokenize(&prompts).unwrap(), r.token_ids, "{name}: token ids");
    assert_eq!(r.token_ids.last().unwrap().len(), 77);

    // Text features: cosine ≥ 0.9999 and norms within 0.1 %.
    let texts = pollster::block_on(clip.embed_texts(&prompts)).unwrap();
    for ((ours, theirs), prompt) in texts.iter().zip(&r.text_embeds).zip(&r.prompts) {
        let c = cosine(ours, theirs);
        assert!(c >= 0.9999, "{name}: text {prompt:?} cosine {c}");
        let ratio = norm(ours) / norm(theirs);
        assert!((ratio - 1.0).abs() <= 1e-3, "{name}: text {prompt:?} norm ratio {ratio}");
    }

    // Images, from the encoded file through our own decode + preprocessing.
    for img in &r.images {
        let bytes = std::fs::read(image(&img.file)).unwrap();
        let pixels = clip.preprocess(&bytes).unwrap();
        let diff = max_abs_diff(&pixels.data, &img.pixels);
        assert!(diff <= 0.02, "{name}: {} pixels differ by {diff}", img.file);
        let embed = &pollster::block_on(clip.embed_pixels(&[pixels])).unwrap()[0];
        let c = cosine(embed, &img.embed);
        assert!(c >= 0.999, "{name}: {} image cosine {c}", img.file);
    }

    // Zero-shot, the paper's ensemble over all templates, and the default template alone.
    let labels: Vec<&str> = r.labels.iter().map(String::as_str).collect();
    let templates: Vec<&str> = r.templates.iter().map(String::as_str).collect();
    let files: Vec<Vec<u8>> = r.images.iter().map(|i| std::fs::read(image(&i.file)).unwrap()).collect();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let ensemble = pollster::block_on(clip.classify(&refs, &labels, &templates)).unwrap();
    let single = pollster::block_on(clip.classify(&refs, &labels, &[clip::zero_shot::DEFAULT_TEMPLATE])).unwrap();
    for ((img, ens), one) in r.images.iter().zip(&ensemble.scores).zip(&single.scores) {
        let d = max_abs_diff(&ens.probs, &img.zero_shot_probs);
        assert!(d <= 1e-3, "{name}: {} ensemble probs differ by {d}", img.file);
        let d = max_abs_diff(&ens.cosine, &img.zero_shot_cosine);
        assert!(d <= 1e-3, "{name}: {} ensemble cosines differ by {d}", img.file);
        let d = max_abs_diff(&one.probs, &img.default_template_probs);
        assert!(d <= 1e-3, "{name}: {} default-template probs differ by {d}", img.file);
    }
    assert!((clip.logit_scale() - r.logit_scale).abs() < 1e-6);
}

#[test]
fn matches_transformers_on_cpu() {
    for dir in reference_models() {
        check_model(&dir, Backend::cpu());
    }
}

#[test]
fn matches_transformers_on_wgpu() {
    let Some(backend) = wgpu_backend() else { return };
    for dir in reference_models() {
        check_model(&dir, backend.clone());
    }
}

/// The same weights as pytorch_model.bin (the 2021 openai layout, int64 position_ids included)
/// and as model.safetensors give the same embeddings, and both match transformers.
fn check_pytorch_twin(backend: Backend) {
    let (bin_dir, safetensors_dir) = (fixture("tiny-quickgelu-bin"), fixture("tiny-quickgelu"));
    assert!(!bin_dir.join("model.safetensors").exists(), "the twin must load through pytorch_model.bin");
    check_model_against(&bin_dir, &safetensors_dir, backend.clone());
    let r = reference(&safetensors_dir);
    let mut from_bin = load(&bin_dir, backend.clone());
    let mut from_safetensors = load(&safetensors_dir, backend.clone());
    let prompts: Vec<&str> = r.prompts.iter().map(String::as_str).collect();
    let a = pollster::block_on(from_bin.embed_texts(&prompts)).unwrap();
    let b = pollster::block_on(from_safetensors.embed_texts(&prompts)).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(cosine(x, y) >= 0.99999, "text cosine {} on {}", cosine(x, y), backend.description);
    }
    let images: Vec<Vec<u8>> = r.images.iter().map(|i| std::fs::read(image(&i.file)).unwrap()).collect();
    let images: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let a = pollster::block_on(from_bin.embed_images(&images)).unwrap();
    let b = pollster::block_on(from_safetensors.embed_images(&images)).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(cosine(x, y) >= 0.99999, "image cosine {} on {}", cosine(x, y), backend.description);
    }
    assert_eq!(from_bin.logit_scale(), from_safetensors.logit_scale());
}

#[test]
fn pytorch_bin_twin_matches_safetensors_on_cpu() {
    check_pytorch_twin(Backend::cpu());
}

#[test]
fn pytorch_bin_twin_matches_safetensors_on_wgpu() {
    let Some(backend) = wgpu_backend() else { return };
    check_pytorch_twin(backend);
}

#[test]
fn text_cache_returns_identical_embeddings_and_batches_do_not_interfere() {
    let dir = fixture("tiny-quickgelu");
    let mut clip = load(&dir, Backend::cpu());
    let alone = pollster::block_on(clip.embed_texts(&["a photo of a cat."])).unwrap();
    let mut fresh = load(&dir, Backend::cpu());
    // In a batch with a much longer prompt, and twice in one call.
    let long = "a very long prompt about many different colourful things ".repeat(3);
    let batch = pollster::block_on(fresh.embed_texts(&[long.as_str(), "a photo of a cat.", "a photo of a cat."])).unwrap();
    assert!(cosine(&alone[0], &batch[1]) > 0.99999);
    assert_eq!(batch[1], batch[2]);
    let again = pollster::block_on(fresh.embed_texts(&["a photo of a cat."])).unwrap();
    assert_eq!(again[0], batch[1]);
}

/// What the page shows as "n of m prompts newly encoded": every name in every template, and the
/// distinct ones not yet cached, counted before the request that encodes them.
#[test]
fn prompt_counts_say_which_prompts_the_text_tower_will_run() {
    use clip::zero_shot::Label;
    let mut clip = load(&fixture("tiny-quickgelu"), Backend::cpu());
    let labels = [Label::parse("cat"), Label::parse("happy | smiling")];
    let templates = ["a photo of a {}.", "{}"];
    let before = clip.prompt_counts(&labels, &templates).unwrap();
    assert_eq!((before.prompts, before.uncached), (6, 6));
    pollster::block_on(clip.embed_texts(&["a photo of a cat.", "smiling"])).unwrap();
    let after = clip.prompt_counts(&labels, &templates).unwrap();
    assert_eq!((after.prompts, after.uncached), (6, 4));
    // A label repeated is one more prompt but no more work.
    let twice = [Label::parse("dog"), Label::parse("dog")];
    let counts = clip.prompt_counts(&twice, &["{}"]).unwrap();
    assert_eq!((counts.prompts, counts.uncached), (2, 1));
    assert!(clip.prompt_counts(&labels, &["no placeholder"]).is_err());
}

/// A request with more new prompts than the cache holds, after earlier prompts were cached:
/// the answer must still contain every prompt, old and new (the cache used to be cleared after
/// encoding, losing the earlier ones: "text embedding cache lost an entry").
#[test]
fn a_request_larger_than_the_text_cache_is_answered_in_full() {
    let mut clip = load(&fixture("tiny-quickgelu"), Backend::cpu());
    let early = pollster::block_on(clip.embed_texts(&["a photo of a cat."])).unwrap();
    let many: Vec<String> = (0..4200).map(|i| format!("a photo of thing number {i}.")).collect();
    let mut request: Vec<&str> = vec!["a photo of a cat."];
    request.extend(many.iter().map(String::as_str));
    let answer = pollster::block_on(clip.embed_texts(&request)).unwrap();
    assert_eq!(answer.len(), request.len());
    assert_eq!(answer[0], early[0]);
    // Batched by length, the same prompt gives the same embedding as alone.
    let alone = pollster::block_on(load(&fixture("tiny-quickgelu"), Backend::cpu()).embed_texts(&[request[4000]])).unwrap();
    assert!(cosine(&alone[0], &answer[4000]) > 0.99999);
}

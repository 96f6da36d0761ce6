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
    let r = reference(dir);
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

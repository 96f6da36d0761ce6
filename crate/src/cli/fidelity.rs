//! `clip bench fidelity`: what a bundle costs in bytes and loses in accuracy against the f32
//! checkpoint it came from, on real photos and prompts. `clip bench speed`: how long the towers
//! take on each backend, with the CPU as the baseline measured in the same run.

use std::path::{Path, PathBuf};

use serde_json::json;

use clip::bundle::{Bundle, Towers};
use clip::zero_shot::{DEFAULT_TEMPLATE, cosine};
use clip::{Backend, Clip, ClipError, HfFiles, Result};

const LABELS: &[&str] = &["cat", "astronaut", "cup of coffee", "rocket", "galaxy", "dog", "car", "tree"];
const TEMPLATES: &[&str] = &[DEFAULT_TEMPLATE, "a blurry photo of the {}.", "{}", "a photo of {}, a type of food."];

struct Outputs {
    images: Vec<Vec<f32>>,
    texts: Vec<Vec<f32>>,
    top1: Vec<usize>,
}

fn outputs(clip: &mut Clip, images: &[Vec<u8>]) -> Result<Outputs> {
    let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let image_embeddings = pollster::block_on(clip.embed_images(&refs))?;
    let prompts = clip::zero_shot::prompts(LABELS, TEMPLATES)?;
    let prompt_refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let texts = pollster::block_on(clip.embed_texts(&prompt_refs))?;
    let result = pollster::block_on(clip.classify_embeddings(&image_embeddings, LABELS, TEMPLATES))?;
    let top1 = result
        .scores
        .iter()
        .map(|s| s.probs.iter().enumerate().fold((0, f32::MIN), |best, (i, &p)| if p > best.1 { (i, p) } else { best }).0)
        .collect();
    Ok(Outputs { images: image_embeddings, texts, top1 })
}

fn min_mean(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f32, f32) {
    let c: Vec<f32> = a.iter().zip(b).map(|(x, y)| cosine(x, y)).collect();
    (c.iter().copied().fold(f32::MAX, f32::min), c.iter().sum::<f32>() / c.len().max(1) as f32)
}

/// `page_kernel`: load the bundles as the page's CPU path does (`Bundle::on_integer_kernel`);
/// the caller keeps it to the CPU.
pub fn run(model: &Path, bundles: &[PathBuf], images: &[PathBuf], backend: Backend, page_kernel: bool) -> Result<serde_json::Value> {
    let image_bytes: Vec<Vec<u8>> =
        images.iter().map(|p| std::fs::read(p).map_err(|e| ClipError::io(p, e))).collect::<Result<_>>()?;
    let mut reference = Clip::from_hf(HfFiles::read_dir(model)?, backend.clone())?;
    let base = outputs(&mut reference, &image_bytes)?;
    let weights = [clip::loader::SAFETENSORS_FILE, clip::loader::PYTORCH_FILE]
        .into_iter()
        .find(|f| model.join(f).is_file())
        .unwrap_or(clip::loader::SAFETENSORS_FILE);
    let f32_bytes = std::fs::metadata(model.join(weights)).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "| bundle | precision | total MB | vision MB | text MB | image cos min / mean | text cos min / mean | top-1 agree |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|");
    eprintln!("| {} ({weights}) | f32 | {:.1} | | | 1 / 1 | 1 / 1 | {n}/{n} |", model.display(), f32_bytes as f64 / 1e6, n = base.top1.len());
    let mut rows = Vec::new();
    for dir in bundles {
        let bundle = Bundle::read_dir(dir, Towers::BOTH)?;
        let bundle = if page_kernel { bundle.on_integer_kernel() } else { bundle };
        let manifest = bundle.manifest.clone();
        let mut clip = Clip::from_bundle(bundle, backend.clone())?;
        let out = outputs(&mut clip, &image_bytes)?;
        let (img_min, img_mean) = min_mean(&out.images, &base.images);
        let (txt_min, txt_mean) = min_mean(&out.texts, &base.texts);
        let agree = out.top1.iter().zip(&base.top1).filter(|(a, b)| a == b).count();
        let size = |name: &str| manifest.files.get(name).map_or(0, |f| f.bytes);
        let total: u64 = manifest.files.values().map(|f| f.bytes).sum();
        let mb = |b: u64| b as f64 / 1e6;
        eprintln!(
            "| {} | {:?} | {:.1} | {:.1} | {:.1} | {img_min:.5} / {img_mean:.5} | {txt_min:.5} / {txt_mean:.5} | {agree}/{} |",
            dir.display(),
            manifest.precision,
            mb(total),
            mb(size("vision.bpk")),
            mb(size("text.bpk")),
            out.top1.len()
        );
        rows.push(json!({
            "bundle": dir.display().to_string(),
            "precision": manifest.precision,
            "bytes": { "total": total, "vision": size("vision.bpk"), "text": size("text.bpk"), "tokenizer": size("tokenizer.json") },
            "image_cosine": { "min": img_min, "mean": img_mean },
            "text_cosine": { "min": txt_min, "mean": txt_mean },
            "top1_agreement": agree as f64 / out.top1.len().max(1) as f64,
        }));
    }
    Ok(json!({ "reference": model.display().to_string(), "reference_bytes": f32_bytes, "images": images.len(), "page_kernel": page_kernel,
               "prompts": LABELS.len() * TEMPLATES.len(), "bundles": rows }))
}

fn median_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    samples[samples.len() / 2]
}

pub fn speed(model: &Path, images: &[PathBuf], repeat: usize) -> Result<serde_json::Value> {
    let image_bytes: Vec<Vec<u8>> =
        images.iter().map(|p| std::fs::read(p).map_err(|e| ClipError::io(p, e))).collect::<Result<_>>()?;
    let prompts = clip::zero_shot::prompts(LABELS, TEMPLATES)?;
    let mut backends = vec![Backend::cpu()];
    match pollster::block_on(Backend::wgpu()) {
        Ok(b) => backends.push(b),
        Err(e) => eprintln!("clip bench speed: wgpu skipped: {e}"),
    }
    let mut rows = Vec::new();
    let mut baseline: Option<(f64, f64)> = None;
    eprintln!("| backend | {} images, ms (median of {repeat}) | {} prompts, ms | images vs CPU | prompts vs CPU |", images.len(), prompts.len());
    eprintln!("|---|---|---|---|---|");
    for backend in backends {
        let name = backend.description.clone();
        let mut clip = Clip::open(model, backend)?;
        let pixels = image_bytes.iter().map(|b| clip.preprocess(b)).collect::<Result<Vec<_>>>()?;
        let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
        let mut time_images = Vec::new();
        let mut time_texts = Vec::new();
        for i in 0..=repeat {
            let t = std::time::Instant::now();
            pollster::block_on(clip.embed_pixels(&pixels))?;
            let image_ms = t.elapsed().as_secs_f64() * 1e3;
            clip.clear_text_cache();
            let t = std::time::Instant::now();
            pollster::block_on(clip.embed_texts(&refs))?;
            let text_ms = t.elapsed().as_secs_f64() * 1e3;
            if i > 0 {
                time_images.push(image_ms);
                time_texts.push(text_ms);
            }
        }
        let (img, txt) = (median_ms(time_images), median_ms(time_texts));
        let (base_img, base_txt) = *baseline.get_or_insert((img, txt));
        eprintln!("| {name} | {img:.1} | {txt:.1} | {:.2}x | {:.2}x |", base_img / img, base_txt / txt);
        rows.push(json!({ "backend": name, "images_ms": img, "texts_ms": txt,
                          "images_speedup_vs_cpu": base_img / img, "texts_speedup_vs_cpu": base_txt / txt }));
    }
    Ok(json!({ "model": model.display().to_string(), "images": images.len(), "prompts": prompts.len(), "repeat": repeat, "results": rows }))
}

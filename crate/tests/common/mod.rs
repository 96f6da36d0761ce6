//! Shared by the integration tests: fixture paths, the transformers reference files, and
//! comparison helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;

use clip::Backend;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("crate/ has a parent").to_path_buf()
}

/// The `clip` binary cargo built for these tests, found beside the test's own executable
/// (`<target>/<profile>/deps/<test>` → `<target>/<profile>/clip`). `CARGO_BIN_EXE_clip` is the
/// path at compile time, which goes stale when a build directory is moved (CI's cache was, and
/// cargo does not rebuild a test for that); it is the fallback.
pub fn clip_bin() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join(format!("clip{}", std::env::consts::EXE_SUFFIX))));
    match beside {
        Some(path) if path.is_file() => path,
        _ => PathBuf::from(env!("CARGO_BIN_EXE_clip")),
    }
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

pub fn image(name: &str) -> PathBuf {
    fixture("images").join(name)
}

/// The committed random-weight checkpoints, plus any listed in `CLIP_EXTRA_MODELS`
/// (colon-separated directories written by `tests/make_fixtures.py --model-only`).
pub fn reference_models() -> Vec<PathBuf> {
    let mut dirs = vec![fixture("tiny-quickgelu"), fixture("tiny-gelu")];
    if let Ok(extra) = std::env::var("CLIP_EXTRA_MODELS") {
        dirs.extend(extra.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    dirs
}

#[derive(Deserialize)]
pub struct Reference {
    pub prompts: Vec<String>,
    pub labels: Vec<String>,
    pub templates: Vec<String>,
    pub token_ids: Vec<Vec<u32>>,
    pub text_embeds: Vec<Vec<f32>>,
    pub images: Vec<ReferenceImage>,
    pub logit_scale: f32,
}

#[derive(Deserialize)]
pub struct ReferenceImage {
    pub file: String,
    pub pixels: Vec<f32>,
    pub embed: Vec<f32>,
    pub zero_shot_probs: Vec<f32>,
    pub zero_shot_cosine: Vec<f32>,
    pub default_template_probs: Vec<f32>,
}

pub fn reference(model_dir: &std::path::Path) -> Reference {
    let text = std::fs::read_to_string(model_dir.join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("reference.json parses")
}

pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b))
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The wgpu device, initialised once per test process (the runtime cannot be registered twice).
/// `None` when no adapter exists, unless `CLIP_REQUIRE_WGPU=1` (CI installs lavapipe and sets it).
pub fn wgpu_backend() -> Option<Backend> {
    static WGPU: OnceLock<Option<Backend>> = OnceLock::new();
    WGPU.get_or_init(|| match pollster::block_on(Backend::wgpu()) {
        Ok(backend) => {
            eprintln!("wgpu adapter: {}", backend.description);
            Some(backend)
        }
        Err(e) if std::env::var("CLIP_REQUIRE_WGPU").as_deref() == Ok("1") => {
            panic!("CLIP_REQUIRE_WGPU=1 but wgpu is unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipping wgpu checks: {e}");
            None
        }
    })
    .clone()
}

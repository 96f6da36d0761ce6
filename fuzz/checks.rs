//! What each fuzz target asserts, shared by the libFuzzer targets (fuzz_targets/) and the replay
//! of the committed corpus in the ordinary test run (crate/tests/fuzz_corpus.rs), so CI checks
//! every input the fuzzer kept with the same code.
#![allow(dead_code)] // each fuzz target uses one of these

use std::collections::BTreeMap;
use std::sync::OnceLock;

use clip::bundle::{Bundle, LoadedTowers, Manifest, sha256_hex};
use clip::share::PageState;
use clip::tokenizer::{CONTEXT_LENGTH, ClipTokenizer};

/// Image bytes → decode → preprocess to `size`² pixels (224 for every released ViT; the fuzzer
/// uses a small size for speed, the same code paths): all finite, or one error.
pub fn image(data: &[u8], size: usize) {
    let config = clip::config::PreprocessConfig::default_for(size);
    match clip::preprocess::preprocess(data, &config) {
        Ok(pixels) => {
            assert_eq!((pixels.height, pixels.width), (size, size));
            assert_eq!(pixels.data.len(), 3 * pixels.height * pixels.width);
            assert!(pixels.data.iter().all(|v| v.is_finite()));
        }
        Err(e) => assert!(!e.to_string().contains('\n')),
    }
}

/// Typed text → cleaning → the real CLIP tokenizer: start token, at most 77 ids, end-of-text last.
pub fn text(data: &[u8]) {
    static TOKENIZER: OnceLock<ClipTokenizer> = OnceLock::new();
    let tokenizer = TOKENIZER.get_or_init(|| {
        let json = include_bytes!("../models/tokenizer/tokenizer.json");
        ClipTokenizer::from_bytes(json, CONTEXT_LENGTH).expect("the shipped tokenizer loads")
    });
    let text = String::from_utf8_lossy(data);
    let ids = tokenizer.encode(&[text.as_ref()]).expect("every string tokenizes");
    let ids = &ids[0];
    assert!(ids.len() >= 2 && ids.len() <= CONTEXT_LENGTH, "{} ids", ids.len());
    assert_eq!(ids.last(), Some(&tokenizer.end_of_text()));
}

/// A link's fragment: refused in one line, or a state whose own link reads back the same.
pub fn link_state(data: &[u8]) {
    let Ok(fragment) = std::str::from_utf8(data) else { return };
    match PageState::parse(fragment) {
        Ok(state) => {
            let again = PageState::parse(&state.encode()).expect("an encoded state parses");
            assert_eq!(again, state);
        }
        Err(e) => assert!(!e.to_string().contains('\n')),
    }
}

const MANIFEST: &[u8] = include_bytes!("seed-bundle/manifest.json");
const VISION: &[u8] = include_bytes!("seed-bundle/vision.bpk");

/// A bundle from a hostile host. The fuzzer controls the manifest or the vision tower (first
/// byte: 0 manifest.json, 1 vision.bpk; the rest is the file), and the harness keeps the
/// manifest's hashes consistent with the files, as an attacker serving both would, so the
/// manifest parser and burn's tower loading see the bytes, not only the sha256 check.
pub fn bundle(data: &[u8]) {
    match load_bundle(data) {
        Some(Ok(towers)) => assert!(towers.vision.is_some()),
        Some(Err(e)) => assert!(!e.to_string().contains('\n')),
        None => {}
    }
}

/// What [`bundle`] loads (`None` for empty input): the towers, or why the manifest or the
/// tower was refused.
pub fn load_bundle(data: &[u8]) -> Option<clip::Result<LoadedTowers>> {
    let (&selector, payload) = data.split_first()?;
    let (manifest_bytes, vision) = match selector % 2 {
        0 => (payload, VISION),
        _ => (MANIFEST, payload),
    };
    let mut manifest = match Manifest::parse(manifest_bytes) {
        Ok(manifest) => manifest,
        Err(e) => return Some(Err(e)),
    };
    if let Some(entry) = manifest.files.get_mut("vision.bpk") {
        entry.sha256 = sha256_hex(vision);
        entry.bytes = vision.len() as u64;
    }
    // The towers only: the tokenizer is fixed here (the text target fuzzes tokenizing), and
    // building it would take most of each run.
    let files = BTreeMap::from([("vision.bpk".to_string(), clip::bundle::file_bytes(vision))]);
    Some(Bundle::new(manifest, files).load_towers(&clip::Backend::cpu()))
}

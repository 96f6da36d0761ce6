//! The fuzzers' committed corpora (fuzz/corpus/<target>/), replayed through the same checks the
//! fuzz targets run (fuzz/checks.rs): CI's short smoke run of every target, on stable Rust.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            panic!("{target}: {} fails: {panic:?}", path.display());
        }
        count += 1;
    }
    assert!(count > 0, "{target}: empty corpus");
    eprintln!("{target}: {count} inputs replayed");
}

#[test]
fn image_corpus() {
    replay("image", |data| checks::image(data, 224));
    replay("image", |data| checks::image(data, 32));
}

#[test]
fn text_corpus() {
    replay("text", checks::text);
}

#[test]
fn link_state_corpus() {
    replay("link_state", checks::link_state);
}

#[test]
fn bundle_corpus() {
    replay("bundle", checks::bundle);
}

/// Inputs that crashed a fuzz target before their fix (fuzz/crashes/<target>/<what went wrong>).
fn crash(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/crashes").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bundle_error(name: &str) -> String {
    match checks::load_bundle(&crash("bundle", name)) {
        Some(Err(error)) => error.to_string(),
        Some(Ok(_)) => panic!("the damaged tower loaded"),
        None => panic!("an empty input"),
    }
}

#[test]
fn quantized_weight_of_the_wrong_length_is_refused() {
    // A vision.bpk whose quantized weight declares another block size than it was written
    // with: burn-flex's loader asserted on the length (a panic) before bundle.rs checked it.
    let error = bundle_error("quantized-weight-wrong-length");
    assert!(error.contains("vision.bpk: the weight") && error.contains("Q8S") && !error.contains('\n'), "{error}");
}

#[test]
fn malformed_block_size_is_refused() {
    // A block size whose length runs past its storage: cubecl panics on any look at it (even
    // its Debug), so it is compared, never printed.
    let error = bundle_error("block-size-past-its-storage");
    assert!(error.contains("vision.bpk: the weight") && error.contains("another block") && !error.contains('\n'), "{error}");
}

#[test]
fn manifest_with_a_zero_patch_size_is_refused() {
    // The manifest's model shape was trusted: patch_size 0 divided by zero building the tower.
    let error = bundle_error("patch-size-zero");
    assert!(error.contains("manifest.json: image_size") && !error.contains('\n'), "{error}");
}

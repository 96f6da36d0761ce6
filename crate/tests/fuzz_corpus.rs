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

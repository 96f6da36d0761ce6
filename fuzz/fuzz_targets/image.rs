#![no_main]
#[path = "../checks.rs"]
mod checks;

use std::io::Cursor;

/// Images declaring more pixels than this are skipped here: decoding and resizing megapixels
/// under coverage instrumentation would take most of each run, and they walk the same code as
/// small ones. The corpus replay (crate/tests/fuzz_corpus.rs) runs every input uncapped, and the
/// CLI tests cover images up to the 50 MP limit.
const FUZZ_MAX_PIXELS: u64 = 1 << 18;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let declared = image::ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .ok()
        .and_then(|reader| reader.into_dimensions().ok());
    if let Some((width, height)) = declared
        && u64::from(width) * u64::from(height) > FUZZ_MAX_PIXELS
    {
        return;
    }
    checks::image(data, 32)
});

//! The browser's door into the crate (wasm-bindgen). Placeholder while the bindings are built.
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

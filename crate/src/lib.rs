//! OpenAI CLIP zero-shot classification on burn, natively and in the browser.
//!
//! The data path, one module per step:
//! bytes → [`preprocess`] → [`model`] towers (weights by [`loader`] and [`bundle`], on the CPU in
//! the order its integer kernel reads them by `cpu_weights`; text by [`tokenizer`])
//! → embeddings → [`zero_shot`] scores ([`search`] ranks, [`probe`] fits a few-shot baseline;
//! [`contrast`] is the training batch's matrix and loss, [`curves`] the paper's experiments on a labelled set; [`cost`] what a model's config costs per image). [`pipeline::Clip`] strings them together.
//! Nothing here touches a filesystem or a thread except behind `cfg(not(target_family = "wasm"))`,
//! and the browser's threads ([`wasm_threads`], Web Workers) only in the `threads` build.

pub mod backend;
pub mod bundle;
pub mod config;
pub mod contrast;
#[cfg(feature = "cpu")]
pub mod cpu_weights;
pub mod cost;
pub mod curves;
pub mod error;
pub mod loader;
pub mod model;
pub mod pipeline;
pub mod preprocess;
pub mod presets;
pub mod probe;
pub mod search;
pub mod share;
pub mod text_clean;
pub mod tokenizer;
pub mod zero_shot;

pub use backend::Backend;
pub use error::{ClipError, Result};
pub use loader::HfFiles;
pub use pipeline::{Classification, Clip, ZeroShotOptions};

#[cfg(target_family = "wasm")]
pub mod wasm;
#[cfg(all(target_family = "wasm", feature = "threads"))]
pub mod wasm_threads;

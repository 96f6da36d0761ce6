//! The two CLIP towers. Each is a separate module so it can be loaded, converted and shipped
//! on its own (a page that only edits prompts needs only the text tower).

mod encoder;
pub mod prompt_tree;
#[cfg(feature = "wgpu")]
pub mod quantized_linear_gpu;
pub(crate) mod text;
pub(crate) mod vision;

pub use encoder::{Encoder, EncoderLayer, Mlp, SelfAttention};
pub use prompt_tree::PromptTree;
pub use text::TextTower;
pub use vision::VisionTower;

pub(crate) use text::TextTransformer;
pub(crate) use vision::VisionTransformer;

use crate::config::{ClipConfig, PreprocessConfig};
use crate::tokenizer::ClipTokenizer;

/// A model in memory, whatever it was loaded from (a Hugging Face checkpoint or a bundle):
/// what [`crate::pipeline::Clip`] runs and what [`crate::bundle::convert`] packs. Either tower
/// may be absent (a page that only edits prompts loads the text tower alone).
pub struct ModelParts {
    pub config: ClipConfig,
    pub preprocess: PreprocessConfig,
    pub tokenizer: ClipTokenizer,
    pub vision: Option<VisionTower>,
    pub text: Option<TextTower>,
    /// `logit_scale` as stored (log of the temperature): probabilities use `exp(logit_scale)`.
    pub logit_scale: f32,
    /// Zero-shot classifiers a bundle ships for big presets (none for a checkpoint).
    pub classifiers: Vec<crate::zero_shot::Classifier>,
}

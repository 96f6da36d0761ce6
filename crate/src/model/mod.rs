//! The two CLIP towers. Each is a separate module so it can be loaded, converted and shipped
//! on its own (a page that only edits prompts needs only the text tower).

mod encoder;
pub(crate) mod text;
pub(crate) mod vision;

pub use encoder::{Encoder, EncoderLayer, Mlp, SelfAttention};
pub use text::TextTower;
pub use vision::VisionTower;

pub(crate) use text::TextTransformer;
pub(crate) use vision::VisionTransformer;

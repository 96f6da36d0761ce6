//! The text tower: tokens → causal transformer → the end-of-text token → shared space.
//! Field names follow the Hugging Face checkpoint, so weights load by path.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, LayerNorm, Linear};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use super::encoder::{Encoder, layer_norm, linear};
use crate::config::ClipConfig;

#[derive(Module, Debug)]
pub struct TextEmbeddings {
    pub token_embedding: Embedding,
    pub position_embedding: Embedding,
}

#[derive(Module, Debug)]
pub struct TextTransformer {
    pub embeddings: TextEmbeddings,
    pub encoder: Encoder,
    pub final_layer_norm: LayerNorm,
}

/// `text_model.*` and `text_projection.*` of a `CLIPModel` checkpoint.
#[derive(Module, Debug)]
pub struct TextTower {
    pub text_model: TextTransformer,
    pub text_projection: Linear,
}

impl TextTower {
    pub fn new(config: &ClipConfig, device: &Device) -> Self {
        let t = &config.text;
        let d = t.tower.hidden_size;
        let embedding =
            |n| EmbeddingConfig::new(n, d).with_initializer(Initializer::Zeros).init(device);
        TextTower {
            text_model: TextTransformer {
                embeddings: TextEmbeddings {
                    token_embedding: embedding(t.vocab_size),
                    position_embedding: embedding(t.max_position_embeddings),
                },
                encoder: Encoder::new(&t.tower, device),
                final_layer_norm: layer_norm(d, t.tower.layer_norm_eps, device),
            },
            text_projection: linear(d, config.projection_dim, false, device),
        }
    }

    /// Token ids (each containing `end_of_text`) → projected, unnormalised text features
    /// [batch, dim], pooled at each text's first end-of-text token as transformers does.
    ///
    /// The batch runs only up to its longest sequence, not all 77 positions: attention is causal,
    /// so later positions can never change the features pooled at the end-of-text token.
    /// Shorter texts are padded with their own last id.
    pub fn forward(&self, ids: &[Vec<u32>], end_of_text: u32, device: &Device) -> Tensor<2> {
        let m = &self.text_model;
        let batch = ids.len();
        let tokens = ids.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut flat = Vec::with_capacity(batch * tokens);
        let mut pooled_rows = Vec::with_capacity(batch);
        for (row, seq) in ids.iter().enumerate() {
            let last = seq.last().copied().unwrap_or(0);
            flat.extend(seq.iter().map(|&id| i64::from(id)));
            flat.extend(std::iter::repeat_n(i64::from(last), tokens - seq.len()));
            let eot = seq.iter().position(|&id| id == end_of_text).unwrap_or(seq.len().saturating_sub(1));
            pooled_rows.push((row * tokens + eot) as i64);
        }
        let ids = Tensor::<1, Int>::from_data(TensorData::new(flat, [batch * tokens]), device);
        // The rows of the token table, looked up while still quantized: `Embedding::forward`
        // would expand the whole table (49,408 × 512 for ViT-B/32) to f32 on every call.
        let embedded = m.embeddings.token_embedding.weight.val().select(0, ids);
        let embedded = if matches!(embedded.dtype(), DType::QFloat(_)) { embedded.dequantize() } else { embedded };
        let hidden = embedded.dims()[1];
        let positions = m.embeddings.position_embedding.weight.val().narrow(0, 0, tokens);
        let x = embedded.reshape([batch, tokens, hidden]) + positions.unsqueeze_dim::<3>(0);
        let x = m.final_layer_norm.forward(m.encoder.forward(x, true));
        let rows = Tensor::<1, Int>::from_data(TensorData::new(pooled_rows, [batch]), device);
        let pooled = x.reshape([batch * tokens, hidden]).select(0, rows);
        self.text_projection.forward(pooled)
    }
}

//! The text tower: tokens → causal transformer (a batch as one prompt tree) → the end-of-text
//! token → shared space.
//! Field names follow the Hugging Face checkpoint, so weights load by path.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, LayerNorm, Linear};
use burn::tensor::{Bool, DType, Device, Int, Tensor, TensorData};

use super::encoder::{Encoder, layer_norm, linear};
use super::prompt_tree::PromptTree;
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
    /// The batch runs as one [`PromptTree`]: each distinct prefix is one token row, attending
    /// to its ancestors only, so a template's opening words are computed once for all labels,
    /// and no row is spent on padding or on tokens after the end of text.
    pub fn forward(&self, ids: &[Vec<u32>], end_of_text: u32, device: &Device) -> Tensor<2> {
        let m = &self.text_model;
        if ids.is_empty() {
            return Tensor::zeros([0, self.text_projection.weight.dims()[1]], device);
        }
        let tree = PromptTree::new(ids, end_of_text);
        let nodes = tree.len();
        let index = |values: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(values, [nodes]), device);
        let tokens = index(tree.tokens().iter().map(|&id| i64::from(id)).collect());
        let positions = index(tree.positions().iter().map(|&p| p as i64).collect());
        // Rows of the tables, selected while still quantized: `Embedding::forward` would expand
        // the whole token table (49,408 × 512 for ViT-B/32) to f32 on every call.
        let rows = |table: Tensor<2>, at: Tensor<1, Int>| {
            let picked = table.select(0, at);
            if matches!(picked.dtype(), DType::QFloat(_)) { picked.dequantize() } else { picked }
        };
        let x = rows(m.embeddings.token_embedding.weight.val(), tokens)
            + rows(m.embeddings.position_embedding.weight.val(), positions);
        let hidden = x.dims()[1];
        let heads = m.encoder.layers.first().map_or(1, |layer| layer.self_attn.num_heads);
        // The same tree for every head: [1, heads, nodes, nodes], built whole because not every
        // backend's attention broadcasts a mask.
        let mask = tree.attention_mask().repeat(heads);
        let mask = Tensor::<4, Bool>::from_data(TensorData::new(mask, [1, heads, nodes, nodes]), device);
        let x = m.encoder.forward(x.reshape([1, nodes, hidden]), Some(mask));
        let x = m.final_layer_norm.forward(x).reshape([nodes, hidden]);
        let ends = tree.ends().iter().map(|&n| n as i64).collect::<Vec<_>>();
        let ends = Tensor::<1, Int>::from_data(TensorData::new(ends, [ids.len()]), device);
        self.text_projection.forward(x.select(0, ends))
    }
}

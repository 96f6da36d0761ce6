//! The image tower: patches → transformer → class token → shared embedding space.
//! Field names follow the Hugging Face checkpoint, so weights load by path.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, LayerNorm, Linear};
use burn::tensor::{Device, Tensor};

use super::encoder::{Encoder, layer_norm, linear};
use crate::config::ClipConfig;

#[derive(Module, Debug)]
pub struct VisionEmbeddings {
    pub class_embedding: Param<Tensor<1>>,
    pub patch_embedding: Conv2d,
    pub position_embedding: Embedding,
}

#[derive(Module, Debug)]
pub struct VisionTransformer {
    pub embeddings: VisionEmbeddings,
    pub pre_layrnorm: LayerNorm,
    pub encoder: Encoder,
    pub post_layernorm: LayerNorm,
}

/// `vision_model.*` and `visual_projection.*` of a `CLIPModel` checkpoint.
#[derive(Module, Debug)]
pub struct VisionTower {
    pub vision_model: VisionTransformer,
    pub visual_projection: Linear,
}

impl VisionTower {
    pub fn new(config: &ClipConfig, device: &Device) -> Self {
        let v = &config.vision;
        let (d, p) = (v.tower.hidden_size, v.patch_size);
        VisionTower {
            vision_model: VisionTransformer {
                embeddings: VisionEmbeddings {
                    class_embedding: Initializer::Zeros.init([d], device),
                    patch_embedding: Conv2dConfig::new([v.num_channels, d], [p, p])
                        .with_stride([p, p])
                        .with_bias(false)
                        .with_initializer(Initializer::Zeros)
                        .init(device),
                    position_embedding: EmbeddingConfig::new(v.num_patches() + 1, d)
                        .with_initializer(Initializer::Zeros)
                        .init(device),
                },
                pre_layrnorm: layer_norm(d, v.tower.layer_norm_eps, device),
                encoder: Encoder::new(&v.tower, device),
                post_layernorm: layer_norm(d, v.tower.layer_norm_eps, device),
            },
            visual_projection: linear(d, config.projection_dim, false, device),
        }
    }

    /// `pixels`: [batch, 3, size, size] → projected, unnormalised image features [batch, dim].
    pub fn forward(&self, pixels: Tensor<4>) -> Tensor<2> {
        let m = &self.vision_model;
        let patches = m.embeddings.patch_embedding.forward(pixels); // [b, d, h/p, w/p]
        let [batch, hidden, gh, gw] = patches.dims();
        let patches = patches.reshape([batch, hidden, gh * gw]).swap_dims(1, 2);
        let class = m.embeddings.class_embedding.val().reshape([1, 1, hidden]).expand([batch, 1, hidden]);
        let tokens = Tensor::cat(vec![class, patches], 1);
        let positions = m.embeddings.position_embedding.weight.val().unsqueeze_dim::<3>(0);
        let x = m.pre_layrnorm.forward(tokens + positions);
        let x = m.encoder.forward(x, None);
        let class_token = x.narrow(1, 0, 1).reshape([batch, hidden]);
        self.visual_projection.forward(m.post_layernorm.forward(class_token))
    }
}

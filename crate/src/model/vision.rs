//! The image tower: patches → transformer → class token → shared embedding space.
//! Field names follow the Hugging Face checkpoint, so weights load by path.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, LayerNorm, Linear};
use burn::tensor::{DType, Device, Tensor};

use super::encoder::{Encoder, layer_norm, linear};
use crate::config::ClipConfig;

#[derive(Module, Debug)]
pub struct VisionEmbeddings {
    pub class_embedding: Param<Tensor<1>>,
    pub patch_embedding: Conv2d,
    pub position_embedding: Embedding,
    /// The patch kernel as a `[channels × p × p, hidden]` matrix, still quantized, for the CPU's
    /// integer kernel ([`VisionTower::with_patch_matrix`]); `None` convolves.
    #[module(skip)]
    pub patch_matrix: Option<Tensor<2>>,
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
                    patch_matrix: None,
                },
                pre_layrnorm: layer_norm(d, v.tower.layer_norm_eps, device),
                encoder: Encoder::new(&v.tower, device),
                post_layernorm: layer_norm(d, v.tower.layer_norm_eps, device),
            },
            visual_projection: linear(d, config.projection_dim, false, device),
        }
    }

    /// For the CPU's integer kernel: the patch convolution (stride = kernel) as one matmul of the
    /// image's patches by the kernel's matrix. Its 8-bit blocks run along the kernel's width,
    /// which the transposed matrix keeps exactly as scales down each column (burn-flex's
    /// `matmul_k_blocks`), so the kernel is neither expanded to f32 (9 MB for B/32) nor
    /// requantized, and an image's 118 M multiply-adds leave the f32 convolution. A float kernel
    /// (f32 or f16 bundle) keeps the convolution: the tower comes back unchanged as the error.
    #[allow(clippy::result_large_err)]
    pub fn with_patch_matrix(mut self) -> Result<Self, Self> {
        let kernel = self.vision_model.embeddings.patch_embedding.weight.val();
        if !matches!(kernel.dtype(), DType::QFloat(_)) {
            return Err(self);
        }
        let [hidden, channels, height, width] = kernel.dims();
        let matrix = kernel.reshape([hidden, channels * height * width]).swap_dims(0, 1);
        self.vision_model.embeddings.patch_matrix = Some(matrix);
        Ok(self)
    }

    /// `pixels`: [batch, 3, size, size] → one embedding per patch, [batch, patches, hidden].
    pub fn embed_patches(&self, pixels: Tensor<4>) -> Tensor<3> {
        let m = &self.vision_model;
        match &m.embeddings.patch_matrix {
            Some(matrix) => {
                // [b, c, gh·p, gw·p] → [b·gh·gw, c·p·p], each row one patch in the kernel's
                // (channel, row, column) order, times the matrix.
                let [.., p, _] = m.embeddings.patch_embedding.weight.dims();
                let [batch, channels, height, width] = pixels.dims();
                let (gh, gw) = (height / p, width / p);
                let rows = pixels
                    .reshape([batch, channels, gh, p, gw, p])
                    .permute([0, 2, 4, 1, 3, 5])
                    .reshape([batch * gh * gw, channels * p * p]);
                let [_, hidden] = matrix.dims();
                rows.matmul(matrix.clone()).reshape([batch, gh * gw, hidden])
            }
            None => {
                let patches = m.embeddings.patch_embedding.forward(pixels); // [b, d, h/p, w/p]
                let [batch, hidden, gh, gw] = patches.dims();
                patches.reshape([batch, hidden, gh * gw]).swap_dims(1, 2)
            }
        }
    }

    /// `pixels`: [batch, 3, size, size] → projected, unnormalised image features [batch, dim].
    pub fn forward(&self, pixels: Tensor<4>) -> Tensor<2> {
        let m = &self.vision_model;
        let patches = self.embed_patches(pixels);
        let [batch, _, hidden] = patches.dims();
        let class = m.embeddings.class_embedding.val().reshape([1, 1, hidden]).expand([batch, 1, hidden]);
        let tokens = Tensor::cat(vec![class, patches], 1);
        let positions = m.embeddings.position_embedding.weight.val().unsqueeze_dim::<3>(0);
        let x = m.pre_layrnorm.forward(tokens + positions);
        let x = m.encoder.forward(x, None);
        let class_token = x.narrow(1, 0, 1).reshape([batch, hidden]);
        self.visual_projection.forward(m.post_layernorm.forward(class_token))
    }
}

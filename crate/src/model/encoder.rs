//! The pre-norm transformer block both towers share (transformers' `CLIPEncoderLayer`).

use burn::module::Module;
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, gelu_approximate, sigmoid, softmax};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor};

use crate::config::{Activation, TowerConfig};

pub(crate) fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    // Zeros: the weights are always loaded afterwards, so skip random initialisation.
    LinearConfig::new(d_in, d_out).with_bias(bias).with_initializer(Initializer::Zeros).init(device)
}

pub(crate) fn layer_norm(d: usize, eps: f64, device: &Device) -> LayerNorm {
    LayerNormConfig::new(d).with_epsilon(eps).init(device)
}

/// Multi-head self-attention with separate q/k/v/out projections (the HF layout).
#[derive(Module, Debug)]
pub struct SelfAttention {
    pub q_proj: Linear,
    pub k_proj: Linear,
    pub v_proj: Linear,
    pub out_proj: Linear,
    pub num_heads: usize,
}

impl SelfAttention {
    /// `x`: [batch, tokens, hidden]. `mask`: [batch, heads, tokens, tokens], `true` where a token
    /// may not attend to another (the text tower's prompt tree); `None`: every token sees all.
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let [batch, tokens, hidden] = x.dims();
        let head_dim = hidden / self.num_heads;
        let heads = |t: Tensor<3>| t.reshape([batch, tokens, self.num_heads, head_dim]).swap_dims(1, 2);
        let q = heads(dense(&self.q_proj, x.clone()));
        let k = heads(dense(&self.k_proj, x.clone()));
        let v = heads(dense(&self.v_proj, x));
        // softmax(q·kᵀ / √head_dim)·v, the scale CLIP uses.
        let context = if has_attention_kernel(&q.device()) {
            let options = AttentionModuleOptions { scale: None, softcap: None, is_causal: false };
            attention(q, k, v, mask, None, options)
        } else {
            attention_as_tensor_ops(q, k, v, mask)
        };
        dense(&self.out_proj, context.swap_dims(1, 2).reshape([batch, tokens, hidden]))
    }
}

/// `linear.forward(x)`, in an order fusion can carry. burn's `Linear` reshapes its bias after
/// the matmul, and a GPU backend's fusion stops a matmul's kernel at a reshape of a tensor it
/// has not read yet, so every bias add (and QuickGELU after `fc1`, the residual add after
/// `out_proj` and `fc2`) was a launch of its own. The bias reshaped first (a view: no launch),
/// the matmul's kernel adds it as it writes. The CPU keeps burn's own (its integer matmul
/// folds the batch into rows).
fn dense(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    if is_cpu(&x.device()) {
        return linear.forward(x);
    }
    let bias = linear.bias.as_ref().map(|bias| bias.val().unsqueeze::<3>());
    let y = x.matmul(linear.weight.val().unsqueeze::<3>());
    match bias {
        Some(bias) => y + bias,
        None => y,
    }
}

/// burn-flex computes attention in one kernel. burn's GPU backends without autotune run the
/// attention op as its fallback instead: 18 launches per layer (head copies, each step of a
/// NaN-safe softmax), below fusion, which cannot merge them. Written as tensor ops, fusion
/// sees the scale, the mask and the softmax.
fn has_attention_kernel(device: &Device) -> bool {
    is_cpu(device)
}

fn is_cpu(device: &Device) -> bool {
    #[cfg(feature = "cpu")]
    {
        *device == Device::flex()
    }
    #[cfg(not(feature = "cpu"))]
    {
        let _ = device;
        false
    }
}

/// softmax(q·kᵀ / √head_dim)·v on [batch, heads, tokens, head_dim]; `mask` `true` where a token
/// may not attend. Every row keeps at least itself, so no row is masked whole.
fn attention_as_tensor_ops(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, mask: Option<Tensor<4, Bool>>) -> Tensor<4> {
    let head_dim = q.dims()[3];
    let scores = q.matmul(k.swap_dims(2, 3)) * (head_dim as f64).powf(-0.5);
    let scores = match mask {
        Some(mask) => scores.mask_fill(mask, f32::NEG_INFINITY),
        None => scores,
    };
    softmax(scores, 3).matmul(v)
}

#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = dense(&self.fc1, x);
        let h = match self.activation {
            // x·σ(1.702x): OpenAI's approximation, which their checkpoints were trained with.
            Activation::QuickGelu => h.clone() * sigmoid(h * 1.702),
            Activation::Gelu => gelu(h),
            Activation::GeluTanh => gelu_approximate(h),
        };
        dense(&self.fc2, h)
    }
}

#[derive(Module, Debug)]
pub struct EncoderLayer {
    pub self_attn: SelfAttention,
    pub layer_norm1: LayerNorm,
    pub mlp: Mlp,
    pub layer_norm2: LayerNorm,
}

impl EncoderLayer {
    pub fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let x = x.clone() + self.self_attn.forward(self.layer_norm1.forward(x), mask);
        x.clone() + self.mlp.forward(self.layer_norm2.forward(x))
    }
}

#[derive(Module, Debug)]
pub struct Encoder {
    pub layers: Vec<EncoderLayer>,
}

impl Encoder {
    pub fn new(config: &TowerConfig, device: &Device) -> Self {
        let (d, eps) = (config.hidden_size, config.layer_norm_eps);
        let layers = (0..config.num_hidden_layers)
            .map(|_| EncoderLayer {
                self_attn: SelfAttention {
                    q_proj: linear(d, d, true, device),
                    k_proj: linear(d, d, true, device),
                    v_proj: linear(d, d, true, device),
                    out_proj: linear(d, d, true, device),
                    num_heads: config.num_attention_heads,
                },
                layer_norm1: layer_norm(d, eps, device),
                mlp: Mlp {
                    fc1: linear(d, config.intermediate_size, true, device),
                    fc2: linear(config.intermediate_size, d, true, device),
                    activation: config.activation,
                },
                layer_norm2: layer_norm(d, eps, device),
            })
            .collect();
        Encoder { layers }
    }

    pub fn forward(&self, mut x: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        for layer in &self.layers {
            x = layer.forward(x, mask.clone());
        }
        x
    }
}

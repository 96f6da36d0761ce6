//! The pre-norm transformer block both towers share (transformers' `CLIPEncoderLayer`).

use burn::module::Module;
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, gelu_approximate, sigmoid, softmax};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Tensor};

use crate::config::{Activation, TowerConfig};
#[cfg(feature = "wgpu")]
use super::quantized_linear_gpu::Epilogue;

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
    /// `residual` + attention over `x`: [batch, tokens, hidden]. `mask`: [batch, heads, tokens,
    /// tokens], `true` where a token may not attend to another (the text tower's prompt tree);
    /// `None`: every token sees all. `p`: the projections as this device runs them
    /// ([`LayerParams`]).
    fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>, p: &LayerParams, residual: Tensor<3>) -> Tensor<3> {
        let [batch, tokens, hidden] = x.dims();
        let head_dim = hidden / self.num_heads;
        let heads = |t: Tensor<3>| t.reshape([batch, tokens, self.num_heads, head_dim]).swap_dims(1, 2);
        let q = heads(p.q.forward(x.clone()));
        let k = heads(p.k.forward(x.clone()));
        let v = heads(p.v.forward(x));
        // softmax(q·kᵀ / √head_dim)·v, the scale CLIP uses.
        let context = if has_attention_kernel(&q.device()) {
            let options = AttentionModuleOptions { scale: None, softcap: None, is_causal: false };
            attention(q, k, v, mask, None, options)
        } else {
            attention_as_tensor_ops(q, k, v, mask)
        };
        p.out.forward_add(context.swap_dims(1, 2).reshape([batch, tokens, hidden]), residual)
    }
}

/// One layer's linears and layer norms as this device runs them. burn-flex runs the modules
/// themselves. On a GPU backend every parameter is first viewed in the shape its op takes (a
/// weight [1, d_in, d_out], a bias or a norm's scale [1, 1, d]): burn's `Linear` and
/// `LayerNorm` reshape them between the ops they feed, and fusion ends a kernel at a reshape of
/// a tensor it has not read yet and counts each reshape as a block of its own (at most five per
/// segment), so a matmul's bias, QuickGELU and residual add, or a norm's scale and shift, became
/// launches of their own. Taken for every layer before the first runs ([`Encoder::forward`]),
/// the views leave the layers' ops uninterrupted.
struct LayerParams<'a> {
    q: Dense<'a>,
    k: Dense<'a>,
    v: Dense<'a>,
    out: Dense<'a>,
    fc1: Dense<'a>,
    fc2: Dense<'a>,
    norm1: Norm<'a>,
    norm2: Norm<'a>,
}

impl<'a> LayerParams<'a> {
    fn of(layer: &'a EncoderLayer, eps: f64, views: bool) -> Self {
        let (attn, mlp) = (&layer.self_attn, &layer.mlp);
        let dense = |linear: &'a Linear| Dense::of(linear, views);
        let norm = |norm: &'a LayerNorm| Norm::of(norm, eps, views);
        LayerParams {
            q: dense(&attn.q_proj),
            k: dense(&attn.k_proj),
            v: dense(&attn.v_proj),
            out: dense(&attn.out_proj),
            fc1: dense(&mlp.fc1),
            fc2: dense(&mlp.fc2),
            norm1: norm(&layer.layer_norm1),
            norm2: norm(&layer.layer_norm2),
        }
    }
}

enum Dense<'a> {
    /// burn-flex: `Linear::forward` (its integer matmul folds the batch into rows).
    Module(&'a Linear),
    /// `x · weight + bias`, the add fused into the matmul's kernel.
    Views { weight: Tensor<3>, bias: Option<Tensor<3>> },
    /// An 8-bit weight on a GPU: our own kernel, with the bias, QuickGELU or the residual add in
    /// it (quantized_linear_gpu.rs).
    #[cfg(feature = "wgpu")]
    Quantized { weight: Tensor<2>, bias: Tensor<1> },
}

impl<'a> Dense<'a> {
    fn of(linear: &'a Linear, views: bool) -> Self {
        if !views {
            return Dense::Module(linear);
        }
        #[cfg(feature = "wgpu")]
        if let Some(bias) = &linear.bias {
            let weight = linear.weight.val();
            if super::quantized_linear_gpu::fits(&weight) {
                return Dense::Quantized { weight, bias: bias.val() };
            }
        }
        let bias = linear.bias.as_ref().map(|bias| bias.val().unsqueeze::<3>());
        Dense::Views { weight: linear.weight.val().unsqueeze::<3>(), bias }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Dense::Module(linear) => linear.forward(x),
            Dense::Views { weight, bias } => {
                let y = x.matmul(weight.clone());
                match bias {
                    Some(bias) => y + bias.clone(),
                    None => y,
                }
            }
            #[cfg(feature = "wgpu")]
            Dense::Quantized { weight, bias } => super::quantized_linear_gpu::linear(x, weight, bias, Epilogue::None),
        }
    }

    /// QuickGELU of the layer's output: x·σ(1.702x), OpenAI's approximation, which their
    /// checkpoints were trained with.
    fn forward_quick_gelu(&self, x: Tensor<3>) -> Tensor<3> {
        #[cfg(feature = "wgpu")]
        if let Dense::Quantized { weight, bias } = self {
            return super::quantized_linear_gpu::linear(x, weight, bias, Epilogue::QuickGelu);
        }
        let h = self.forward(x);
        h.clone() * sigmoid(h * 1.702)
    }

    /// `residual` + the layer's output.
    fn forward_add(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        #[cfg(feature = "wgpu")]
        if let Dense::Quantized { weight, bias } = self {
            return super::quantized_linear_gpu::linear_add(x, weight, bias, residual);
        }
        residual + self.forward(x)
    }
}

enum Norm<'a> {
    Module(&'a LayerNorm),
    /// burn's own layer norm (the backends' default `layer_norm`: mean, centre, variance, scale,
    /// shift), with the scale and shift viewed beforehand.
    Views { gamma: Tensor<3>, beta: Option<Tensor<3>>, eps: f64 },
}

impl<'a> Norm<'a> {
    fn of(norm: &'a LayerNorm, eps: f64, views: bool) -> Self {
        if !views {
            return Norm::Module(norm);
        }
        let beta = norm.beta.as_ref().map(|beta| beta.val().unsqueeze::<3>());
        Norm::Views { gamma: norm.gamma.val().unsqueeze::<3>(), beta, eps }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Norm::Module(norm) => norm.forward(x),
            Norm::Views { gamma, beta, eps } => {
                let centered = x.clone() - x.mean_dim(2);
                let var = (centered.clone() * centered.clone()).mean_dim(2);
                let scaled = centered / (var + *eps).sqrt() * gamma.clone();
                match beta {
                    Some(beta) => scaled + beta.clone(),
                    None => scaled,
                }
            }
        }
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
    /// `residual` + the MLP of `x`.
    fn forward(&self, x: Tensor<3>, p: &LayerParams, residual: Tensor<3>) -> Tensor<3> {
        let h = match self.activation {
            Activation::QuickGelu => p.fc1.forward_quick_gelu(x),
            Activation::Gelu => gelu(p.fc1.forward(x)),
            Activation::GeluTanh => gelu_approximate(p.fc1.forward(x)),
        };
        p.fc2.forward_add(h, residual)
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
    fn forward(&self, x: Tensor<3>, mask: Option<Tensor<4, Bool>>, p: &LayerParams) -> Tensor<3> {
        let x = self.self_attn.forward(p.norm1.forward(x.clone()), mask, p, x);
        self.mlp.forward(p.norm2.forward(x.clone()), p, x)
    }
}

#[derive(Module, Debug)]
pub struct Encoder {
    pub layers: Vec<EncoderLayer>,
    /// The layer norms' epsilon (burn's `LayerNorm` keeps its own private).
    #[module(skip)]
    pub layer_norm_eps: f64,
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
        Encoder { layers, layer_norm_eps: eps }
    }

    pub fn forward(&self, mut x: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let views = !is_cpu(&x.device());
        let params: Vec<LayerParams> = self.layers.iter().map(|layer| LayerParams::of(layer, self.layer_norm_eps, views)).collect();
        for (layer, p) in self.layers.iter().zip(&params) {
            x = layer.forward(x, mask.clone(), p);
        }
        x
    }
}

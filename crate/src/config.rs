//! Model and preprocessing configuration, read from Hugging Face `config.json` and
//! `preprocessor_config.json`. Every size comes from here; defaults are transformers' own.

use serde::{Deserialize, Serialize};

use crate::error::{ClipError, Result};

/// The MLP activation. OpenAI checkpoints use `quick_gelu`; OpenCLIP/LAION ones use `gelu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    QuickGelu,
    Gelu,
    /// tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
}

impl Activation {
    fn parse(name: &str) -> Result<Self> {
        match name {
            "quick_gelu" => Ok(Activation::QuickGelu),
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            other => Err(ClipError::Model(format!(
                "config.json asks for the activation \"{other}\", which is not supported (quick_gelu, gelu, gelu_new)"
            ))),
        }
    }
}

/// One transformer tower's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TowerConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub activation: Activation,
    pub layer_norm_eps: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    pub tower: TowerConfig,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    /// `eos_token_id` from config.json. Old checkpoints say 2 (and transformers then pools at the
    /// largest id, the EOT token); we always pool at the first EOT token of the tokenizer.
    pub eos_token_id: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisionConfig {
    pub tower: TowerConfig,
    pub image_size: usize,
    pub patch_size: usize,
    pub num_channels: usize,
}

impl VisionConfig {
    pub fn num_patches(&self) -> usize {
        (self.image_size / self.patch_size).pow(2)
    }
}

/// The whole model's shape: both towers and the shared embedding width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipConfig {
    pub text: TextConfig,
    pub vision: VisionConfig,
    pub projection_dim: usize,
}

// --- Hugging Face config.json, as written by transformers (old and new) ---------------------

#[derive(Deserialize, Default)]
struct HfTower {
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    hidden_act: Option<String>,
    layer_norm_eps: Option<f64>,
    projection_dim: Option<usize>,
    // text
    vocab_size: Option<usize>,
    max_position_embeddings: Option<usize>,
    eos_token_id: Option<u32>,
    // vision
    image_size: Option<usize>,
    patch_size: Option<usize>,
    num_channels: Option<usize>,
}

#[derive(Deserialize)]
struct HfConfig {
    text_config: Option<HfTower>,
    vision_config: Option<HfTower>,
    // Checkpoints written by transformers < 4.20 keep the towers here instead.
    text_config_dict: Option<HfTower>,
    vision_config_dict: Option<HfTower>,
    projection_dim: Option<usize>,
}

impl ClipConfig {
    /// Parse a Hugging Face `CLIPModel` config.json.
    pub fn from_hf_json(json: &[u8]) -> Result<Self> {
        let hf: HfConfig = serde_json::from_slice(json)
            .map_err(|e| ClipError::Model(format!("config.json is not a valid CLIP config: {e}")))?;
        let text = hf.text_config.or(hf.text_config_dict).unwrap_or_default();
        let vision = hf.vision_config.or(hf.vision_config_dict).unwrap_or_default();
        let projection_dim = hf.projection_dim.or(text.projection_dim).unwrap_or(512);
        let tower = |t: &HfTower, hidden, inter, layers, heads| -> Result<TowerConfig> {
            let tower = TowerConfig {
                hidden_size: t.hidden_size.unwrap_or(hidden),
                intermediate_size: t.intermediate_size.unwrap_or(inter),
                num_hidden_layers: t.num_hidden_layers.unwrap_or(layers),
                num_attention_heads: t.num_attention_heads.unwrap_or(heads),
                activation: Activation::parse(t.hidden_act.as_deref().unwrap_or("quick_gelu"))?,
                layer_norm_eps: t.layer_norm_eps.unwrap_or(1e-5),
            };
            Ok(tower)
        };
        let config = ClipConfig {
            text: TextConfig {
                tower: tower(&text, 512, 2048, 12, 8)?,
                vocab_size: text.vocab_size.unwrap_or(49408),
                max_position_embeddings: text.max_position_embeddings.unwrap_or(77),
                eos_token_id: text.eos_token_id.unwrap_or(49407),
            },
            vision: VisionConfig {
                tower: tower(&vision, 768, 3072, 12, 12)?,
                image_size: vision.image_size.unwrap_or(224),
                patch_size: vision.patch_size.unwrap_or(32),
                num_channels: vision.num_channels.unwrap_or(3),
            },
            projection_dim,
        };
        config.check("config.json")?;
        Ok(config)
    }

    /// Shapes the towers can be built with, within bounds no CLIP comes near (ViT-bigG: width
    /// 1664, 48 layers), so a hostile config.json or bundle manifest gets one sentence, not a
    /// division by zero or a tower of terabytes.
    pub fn check(&self, file: &str) -> Result<()> {
        let bad = |what: String| Err(ClipError::Model(format!("{file}: {what}")));
        for (name, t) in [("text", &self.text.tower), ("vision", &self.vision.tower)] {
            if t.num_attention_heads == 0 || t.hidden_size % t.num_attention_heads != 0 {
                return bad(format!(
                    "the {name} tower's hidden_size {} is not divisible by num_attention_heads {}",
                    t.hidden_size, t.num_attention_heads
                ));
            }
            let sizes = [t.hidden_size, t.intermediate_size, t.num_hidden_layers];
            if sizes.iter().any(|&n| n == 0) || t.hidden_size > 8192 || t.intermediate_size > 32768 || t.num_hidden_layers > 128 {
                return bad(format!(
                    "the {name} tower's sizes (hidden {}, intermediate {}, {} layers) are out of range",
                    t.hidden_size, t.intermediate_size, t.num_hidden_layers
                ));
            }
            if !t.layer_norm_eps.is_finite() || t.layer_norm_eps < 0.0 {
                return bad(format!("the {name} tower's layer_norm_eps {} is not a small positive number", t.layer_norm_eps));
            }
        }
        let text = &self.text;
        if text.vocab_size == 0 || text.vocab_size > 1_000_000 || !(2..=1024).contains(&text.max_position_embeddings) {
            return bad(format!(
                "the text tower's vocab_size {} or max_position_embeddings {} is out of range",
                text.vocab_size, text.max_position_embeddings
            ));
        }
        let v = &self.vision;
        if v.patch_size == 0 || v.image_size < v.patch_size || v.image_size > 1024 || v.image_size % v.patch_size != 0 || v.num_channels != 3 {
            return bad(format!(
                "image_size {} must be a multiple of patch_size {} (at most 1024) with 3 channels",
                v.image_size, v.patch_size
            ));
        }
        if self.projection_dim == 0 || self.projection_dim > 8192 {
            return bad(format!("projection_dim {} is out of range", self.projection_dim));
        }
        Ok(())
    }
}

/// How an image becomes the tower's input, as `CLIPImageProcessor` does it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessConfig {
    /// Resize so the shortest side has this length (bicubic); `None` skips resizing.
    pub shortest_edge: Option<usize>,
    /// Center crop to (height, width); `None` skips cropping.
    pub crop: Option<(usize, usize)>,
    pub rescale_factor: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// OpenAI's normalisation constants, used when a checkpoint has no preprocessor_config.json.
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

#[derive(Deserialize)]
#[serde(untagged)]
enum HfSize {
    Int(usize),
    Dict { shortest_edge: Option<usize>, height: Option<usize>, width: Option<usize> },
}

#[derive(Deserialize)]
struct HfPreprocess {
    size: Option<HfSize>,
    crop_size: Option<HfSize>,
    do_resize: Option<bool>,
    do_center_crop: Option<bool>,
    do_rescale: Option<bool>,
    do_normalize: Option<bool>,
    rescale_factor: Option<f32>,
    image_mean: Option<Vec<f32>>,
    image_std: Option<Vec<f32>>,
    resample: Option<u32>,
}

impl PreprocessConfig {
    /// CLIP's defaults for a model whose input is `image_size` pixels square.
    pub fn default_for(image_size: usize) -> Self {
        PreprocessConfig {
            shortest_edge: Some(image_size),
            crop: Some((image_size, image_size)),
            rescale_factor: 1.0 / 255.0,
            mean: CLIP_MEAN,
            std: CLIP_STD,
        }
    }

    /// Parse `preprocessor_config.json` (plain integers as in openai's files, or dicts as
    /// newer transformers writes them).
    pub fn from_hf_json(json: &[u8], image_size: usize) -> Result<Self> {
        let bad = |what: String| ClipError::Model(format!("preprocessor_config.json: {what}"));
        let hf: HfPreprocess =
            serde_json::from_slice(json).map_err(|e| bad(format!("not valid JSON ({e})")))?;
        if let Some(r) = hf.resample
            && r != 3
        {
            return Err(bad(format!("resample {r} is not supported, only 3 (bicubic)")));
        }
        let mut config = Self::default_for(image_size);
        config.shortest_edge = match (hf.do_resize.unwrap_or(true), hf.size) {
            (false, _) => None,
            (true, None) => Some(image_size),
            (true, Some(HfSize::Int(n))) => Some(n),
            (true, Some(HfSize::Dict { shortest_edge: Some(n), .. })) => Some(n),
            (true, Some(HfSize::Dict { .. })) => {
                return Err(bad("only a shortest_edge resize is supported".into()));
            }
        };
        config.crop = match (hf.do_center_crop.unwrap_or(true), hf.crop_size) {
            (false, _) => None,
            (true, None) => Some((image_size, image_size)),
            (true, Some(HfSize::Int(n))) => Some((n, n)),
            (true, Some(HfSize::Dict { height: Some(h), width: Some(w), .. })) => Some((h, w)),
            (true, Some(HfSize::Dict { .. })) => return Err(bad("crop_size needs height and width".into())),
        };
        config.rescale_factor = if hf.do_rescale.unwrap_or(true) {
            hf.rescale_factor.unwrap_or(1.0 / 255.0)
        } else {
            1.0
        };
        if hf.do_normalize.unwrap_or(true) {
            let three = |v: Option<Vec<f32>>, default: [f32; 3], name: &str| -> Result<[f32; 3]> {
                match v {
                    None => Ok(default),
                    Some(v) if v.len() == 3 => Ok([v[0], v[1], v[2]]),
                    Some(v) if v.len() == 1 => Ok([v[0]; 3]),
                    Some(_) => Err(bad(format!("{name} must have 3 values"))),
                }
            };
            config.mean = three(hf.image_mean, CLIP_MEAN, "image_mean")?;
            config.std = three(hf.image_std, CLIP_STD, "image_std")?;
            if config.std.iter().any(|s| *s == 0.0) {
                return Err(bad("image_std contains a zero".into()));
            }
        } else {
            config.mean = [0.0; 3];
            config.std = [1.0; 3];
        }
        Ok(config)
    }

    /// The (height, width) of the tensor this produces, or `None` if it depends on the image.
    pub fn output_size(&self) -> Option<(usize, usize)> {
        self.crop
    }
}

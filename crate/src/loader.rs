//! Hugging Face `model.safetensors` → the two towers, through burn-store: PyTorch Linear
//! weights are transposed, LayerNorm `weight`/`bias` become `gamma`/`beta`, every float is
//! loaded as f32, and extra buffers (`position_ids`) are ignored.

use burn::module::Module;
use burn::store::{
    ApplyError, FloatCastAdapter, ModuleAdapter, ModuleStore, PyTorchToBurnAdapter,
    SafetensorsStore,
};
use burn::tensor::{DType, Device};

use crate::config::ClipConfig;
use crate::error::{ClipError, Result};
use crate::model::{TextTower, VisionTower};

/// A `CLIPModel` checkpoint's four top-level parts, named as in the file.
#[derive(Module, Debug)]
struct HfClip {
    vision_model: crate::model::VisionTransformer,
    visual_projection: burn::nn::Linear,
    text_model: crate::model::TextTransformer,
    text_projection: burn::nn::Linear,
}

/// The weights of both towers and the learned temperature.
pub struct LoadedWeights {
    pub vision: VisionTower,
    pub text: TextTower,
    /// `logit_scale` as stored (log of the temperature): probabilities use `exp(logit_scale)`.
    pub logit_scale: f32,
}

/// Load from the bytes of a `model.safetensors` (the browser path; the CLI reads the file
/// into memory and calls this too).
pub fn load_safetensors(bytes: Vec<u8>, config: &ClipConfig, device: &Device) -> Result<LoadedWeights> {
    let logit_scale = read_logit_scale(&bytes)?;
    let vision = VisionTower::new(config, device);
    let text = TextTower::new(config, device);
    let mut model = HfClip {
        vision_model: vision.vision_model,
        visual_projection: vision.visual_projection,
        text_model: text.text_model,
        text_projection: text.text_projection,
    };
    let mut store = SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(from_pytorch())
        .allow_partial(true)
        .validate(false);
    let result = store
        .apply_to(&mut model)
        .map_err(|e| ClipError::Weights(format!("model.safetensors cannot be read: {e}")))?;
    check_applied("model.safetensors", &result)?;
    Ok(LoadedWeights {
        vision: VisionTower { vision_model: model.vision_model, visual_projection: model.visual_projection },
        text: TextTower { text_model: model.text_model, text_projection: model.text_projection },
        logit_scale,
    })
}

pub(crate) fn from_pytorch() -> impl ModuleAdapter + 'static {
    PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32))
}

/// Turn burn-store's report into one sentence naming the first bad tensor.
pub(crate) fn check_applied(file: &str, result: &burn::store::ApplyResult) -> Result<()> {
    if let Some(error) = result.errors.first() {
        return Err(ClipError::Weights(match error {
            ApplyError::ShapeMismatch { path, expected, found } => {
                let (expected, found) = (pytorch_shape(path, expected.as_slice()), pytorch_shape(path, found.as_slice()));
                format!(
                    "{file}: tensor {} has shape {found:?}, but config.json needs {expected:?}",
                    checkpoint_name(path)
                )
            }
            other => format!("{file}: {other}"),
        }));
    }
    if let Some((path, _)) = result.missing.first() {
        let more = result.missing.len() - 1;
        let more = if more > 0 { format!(" (and {more} more)") } else { String::new() };
        return Err(ClipError::Weights(format!(
            "{file} has no tensor {}{more}; is this a CLIP checkpoint matching config.json?",
            checkpoint_name(path)
        )));
    }
    Ok(())
}

/// burn's parameter path → the key in the Hugging Face file.
fn checkpoint_name(path: &str) -> String {
    if let Some(prefix) = path.strip_suffix(".gamma") {
        format!("{prefix}.weight")
    } else if let Some(prefix) = path.strip_suffix(".beta") {
        format!("{prefix}.bias")
    } else {
        path.to_string()
    }
}

/// burn stores Linear weights as [in, out]; report them as the file has them, [out, in].
fn pytorch_shape(path: &str, dims: &[usize]) -> Vec<usize> {
    let is_linear = path.ends_with(".weight")
        && dims.len() == 2
        && !path.contains("embedding")
        && (path.contains("proj") || path.contains(".fc"));
    if is_linear { dims.iter().rev().copied().collect() } else { dims.to_vec() }
}

/// The scalar `logit_scale`, read straight from the safetensors header.
fn read_logit_scale(bytes: &[u8]) -> Result<f32> {
    let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
        ClipError::Weights(format!("model.safetensors is not a valid safetensors file ({e})"))
    })?;
    let tensor = file
        .tensor("logit_scale")
        .map_err(|_| ClipError::Weights("model.safetensors has no tensor logit_scale".into()))?;
    let data = tensor.data();
    let value = match tensor.dtype() {
        safetensors::Dtype::F32 if data.len() == 4 => f32::from_le_bytes([data[0], data[1], data[2], data[3]]),
        safetensors::Dtype::F16 if data.len() == 2 => half::f16::from_le_bytes([data[0], data[1]]).to_f32(),
        safetensors::Dtype::BF16 if data.len() == 2 => half::bf16::from_le_bytes([data[0], data[1]]).to_f32(),
        other => {
            return Err(ClipError::Weights(format!(
                "model.safetensors: logit_scale must be one float, found {other:?} of shape {:?}",
                tensor.shape()
            )));
        }
    };
    if !value.is_finite() {
        return Err(ClipError::Weights("model.safetensors: logit_scale is not a finite number".into()));
    }
    Ok(value)
}

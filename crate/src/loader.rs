//! A Hugging Face `CLIPModel` checkpoint → the two towers, through burn-store: PyTorch Linear
//! weights are transposed, LayerNorm `weight`/`bias` become `gamma`/`beta`, every float is
//! loaded as f32, and extra buffers (the int64 `position_ids` of the 2021 openai files) are
//! ignored. The weights come as `model.safetensors` (any platform, from bytes) or, natively,
//! as `pytorch_model.bin`: torch's zip pickle, read by burn's own pickle reader, which
//! understands tensors and plain containers only and never runs code from the file.

use burn::module::Module;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ApplyError, FloatCastAdapter, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter};
use burn::tensor::{DType, Device};

use crate::config::{ClipConfig, PreprocessConfig};
use crate::error::{ClipError, Result};
use crate::model::{ModelParts, TextTower, VisionTower};
use crate::tokenizer::ClipTokenizer;

pub const SAFETENSORS_FILE: &str = "model.safetensors";
pub const PYTORCH_FILE: &str = "pytorch_model.bin";

/// Where a checkpoint's weights are.
pub enum Weights {
    /// The bytes of a `model.safetensors` (the only kind the browser gets).
    Safetensors(Vec<u8>),
    /// A `pytorch_model.bin` on disk, read one tensor at a time (no second copy of the file).
    #[cfg(not(target_family = "wasm"))]
    PytorchFile(std::path::PathBuf),
}

impl Weights {
    /// The file name, for messages.
    pub fn file_name(&self) -> &'static str {
        match self {
            Weights::Safetensors(_) => SAFETENSORS_FILE,
            #[cfg(not(target_family = "wasm"))]
            Weights::PytorchFile(_) => PYTORCH_FILE,
        }
    }
}

/// The files of a Hugging Face CLIP checkpoint (weights as found, the rest in memory).
pub struct HfFiles {
    pub config_json: Vec<u8>,
    pub weights: Weights,
    pub tokenizer_json: Vec<u8>,
    pub preprocessor_config_json: Option<Vec<u8>>,
}

impl HfFiles {
    /// Read a model directory in Hugging Face layout. `model.safetensors` is preferred when
    /// both weight files exist: it loads faster and holds nothing but tensors.
    #[cfg(not(target_family = "wasm"))]
    pub fn read_dir(dir: &std::path::Path) -> Result<Self> {
        let read = |name: &str| read_model_file(dir, name);
        let config_json = read("config.json")?;
        let weights = if dir.join(SAFETENSORS_FILE).exists() {
            Weights::Safetensors(read(SAFETENSORS_FILE)?)
        } else if dir.join(PYTORCH_FILE).exists() {
            Weights::PytorchFile(dir.join(PYTORCH_FILE))
        } else {
            return Err(ClipError::Model(format!(
                "the model directory {} has neither {SAFETENSORS_FILE} nor {PYTORCH_FILE}",
                dir.display()
            )));
        };
        let preprocessor = dir.join("preprocessor_config.json");
        Ok(HfFiles {
            config_json,
            weights,
            tokenizer_json: read("tokenizer.json")?,
            preprocessor_config_json: if preprocessor.exists() { Some(read("preprocessor_config.json")?) } else { None },
        })
    }
}

/// One file of a model directory, with an error that says which is missing.
#[cfg(not(target_family = "wasm"))]
pub fn read_model_file(dir: &std::path::Path, name: &str) -> Result<Vec<u8>> {
    if !dir.is_dir() {
        return Err(ClipError::Model(format!("{} is not a model directory", dir.display())));
    }
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ClipError::Model(format!("the model directory {} has no {name}", dir.display())),
        _ => ClipError::io(&path, e),
    })
}

/// Load a whole checkpoint: configs, tokenizer and both towers on `device`.
pub fn load_hf(files: HfFiles, device: &Device) -> Result<ModelParts> {
    let config = ClipConfig::from_hf_json(&files.config_json)?;
    let preprocess = match &files.preprocessor_config_json {
        Some(json) => PreprocessConfig::from_hf_json(json, config.vision.image_size)?,
        None => PreprocessConfig::default_for(config.vision.image_size),
    };
    let tokenizer = ClipTokenizer::from_bytes(&files.tokenizer_json, config.text.max_position_embeddings)?;
    let file = files.weights.file_name();
    let (tensors, logit_scale) = match files.weights {
        Weights::Safetensors(bytes) => read_safetensors(bytes)?,
        #[cfg(not(target_family = "wasm"))]
        Weights::PytorchFile(path) => read_pytorch(&path)?,
    };
    if !logit_scale.is_finite() {
        return Err(ClipError::Weights(format!("{file}: logit_scale is not a finite number")));
    }
    let (vision, text) = towers_from(tensors, &config, device, file)?;
    Ok(ModelParts { config, preprocess, tokenizer, vision: Some(vision), text: Some(text), logit_scale, classifiers: Vec::new() })
}

/// A `CLIPModel` checkpoint's four top-level parts, named as in the file.
#[derive(Module, Debug)]
struct HfClip {
    vision_model: crate::model::VisionTransformer,
    visual_projection: burn::nn::Linear,
    text_model: crate::model::TextTransformer,
    text_projection: burn::nn::Linear,
}

fn towers_from(tensors: Vec<PackTensor>, config: &ClipConfig, device: &Device, file: &str) -> Result<(VisionTower, TextTower)> {
    let vision = VisionTower::new(config, device);
    let text = TextTower::new(config, device);
    let mut model = HfClip {
        vision_model: vision.vision_model,
        visual_projection: vision.visual_projection,
        text_model: text.text_model,
        text_projection: text.text_projection,
    };
    // Tensors the towers have no place for (position_ids, logit_scale) are left unused.
    let result = model.apply(tensors, None, Some(Box::new(from_pytorch())), false);
    check_applied(file, &result)?;
    Ok((
        VisionTower { vision_model: model.vision_model, visual_projection: model.visual_projection },
        TextTower { text_model: model.text_model, text_projection: model.text_projection },
    ))
}

/// Every tensor of a `model.safetensors` (views into its bytes) and its `logit_scale`.
fn read_safetensors(bytes: Vec<u8>) -> Result<(Vec<PackTensor>, f32)> {
    let invalid = |e: String| ClipError::Weights(format!("{SAFETENSORS_FILE} is not a valid safetensors file ({e})"));
    let logit_scale = {
        let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
        let tensor = file
            .tensor("logit_scale")
            .map_err(|_| ClipError::Weights(format!("{SAFETENSORS_FILE} has no tensor logit_scale")))?;
        let dtype = match tensor.dtype() {
            safetensors::Dtype::F32 => Some(ScalarType::F32),
            safetensors::Dtype::F16 => Some(ScalarType::F16),
            safetensors::Dtype::BF16 => Some(ScalarType::BF16),
            _ => None,
        };
        scalar(SAFETENSORS_FILE, dtype, tensor.shape(), tensor.data())?
    };
    let mut store = burn::store::SafetensorsStore::from_bytes(Some(bytes));
    let tensors = burn::store::ModuleStore::get_all_tensors(&mut store)
        .map_err(|e| invalid(e.to_string()))?
        .values()
        .cloned()
        .collect();
    Ok((tensors, logit_scale))
}

/// Every tensor of a `pytorch_model.bin` (read lazily, when applied) and its `logit_scale`.
#[cfg(not(target_family = "wasm"))]
fn read_pytorch(path: &std::path::Path) -> Result<(Vec<PackTensor>, f32)> {
    use burn::store::pytorch_reader::{DType as Pt, PytorchReader};
    let reader = PytorchReader::new(path)
        .map_err(|e| ClipError::Weights(format!("{PYTORCH_FILE} cannot be read as a PyTorch checkpoint ({e})")))?;
    let tensor = reader
        .get("logit_scale")
        .ok_or_else(|| ClipError::Weights(format!("{PYTORCH_FILE} has no tensor logit_scale")))?;
    let dtype = match tensor.dtype() {
        Pt::F32 => Some(ScalarType::F32),
        Pt::F16 => Some(ScalarType::F16),
        Pt::BF16 => Some(ScalarType::BF16),
        _ => None,
    };
    let bytes = tensor.read().map_err(|e| ClipError::Weights(format!("{PYTORCH_FILE}: {e}")))?;
    let logit_scale = scalar(PYTORCH_FILE, dtype, tensor.shape(), &bytes)?;
    let tensors = reader.into_tensors().into_values().map(burn::store::bridge::from_pytorch).collect();
    Ok((tensors, logit_scale))
}

#[derive(Debug)]
enum ScalarType {
    F32,
    F16,
    BF16,
}

/// `logit_scale`: one float, stored as a 0-d (or one-element) tensor.
fn scalar(file: &str, dtype: Option<ScalarType>, shape: &[usize], bytes: &[u8]) -> Result<f32> {
    let one = shape.iter().product::<usize>() == 1;
    match (dtype, one) {
        (Some(ScalarType::F32), true) if bytes.len() == 4 => Ok(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        (Some(ScalarType::F16), true) if bytes.len() == 2 => Ok(half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f32()),
        (Some(ScalarType::BF16), true) if bytes.len() == 2 => Ok(half::bf16::from_le_bytes([bytes[0], bytes[1]]).to_f32()),
        (dtype, _) => Err(ClipError::Weights(format!(
            "{file}: logit_scale must be one float, found {} of shape {shape:?}",
            dtype.map_or("a non-float tensor".to_string(), |d| format!("{d:?}"))
        ))),
    }
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

//! Model bundles for the web: one burnpack file per tower (fetched in parallel, loaded alone
//! when only one is needed), the tokenizer, and a manifest that pins every file's size and
//! sha256. Quantized at convert time with burn's own schemes; loading does no calibration.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::{Module, ModuleMapper, Param};
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    BurnpackStore, FloatCastAdapter, HalfPrecisionAdapter, ModuleAdapter, ModuleContext, ModuleSnapshot,
};
use burn::tensor::quantization::{
    Calibration, QPARAM_ALIGN, QuantScheme, QuantStore, QuantValue, ScaleDtype, compute_q_params, compute_range, params_shape,
};
use burn::tensor::{Bytes, DType, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::backend::Backend;
use crate::config::{ClipConfig, PreprocessConfig};
use crate::error::{ClipError, Result};
use crate::loader::check_applied;
use crate::model::{ModelParts, TextTower, VisionTower};
use crate::tokenizer::ClipTokenizer;
use crate::zero_shot::Classifier;

pub const FORMAT: &str = "clip-zero-shot-bundle";
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const VISION_FILE: &str = "vision.bpk";
pub const TEXT_FILE: &str = "text.bpk";
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// The weight matrices that are quantized: attention and MLP Linears, the token embedding, the
/// patch convolution and both output projections — every matrix, which is what brings ViT-B/32
/// near 150 MB at 8 bits. LayerNorms, biases, the class and positional embeddings (small, and
/// where fidelity is most sensitive) stay in f16 (f32 for the class embedding).
const QUANTIZED_WEIGHTS: &str =
    r"((q_proj|k_proj|v_proj|out_proj|fc1|fc2|visual_projection|text_projection)|token_embedding|patch_embedding)\.weight$";

/// The quantized weights a 4-bit bundle keeps at 8 bits: the patch embedding and both output
/// projections; in the vision tower, every layer's attention values and output (`v_proj`,
/// `out_proj`) and the first layer's MLP. bench/q4_study.py ranks each vision tensor by what it
/// costs the image embedding alone at 4 bits: the projection and patch embedding most, then the
/// value path of attention, layer by layer, and the first layers' MLPs; queries and keys, which
/// only steer the softmax, least. Later layers cost less (their error passes through fewer
/// layers). On ViT-B/32 that is 15 % of the weights, for an image cosine of 0.993 against f32
/// (0.972 with the projections alone) at 97.7 MB.
const EIGHT_BIT_IN_Q4: &str = r"(patch_embedding|visual_projection|text_projection)\.weight$|vision_model\.encoder\.layers\.(\d+\.self_attn\.(v_proj|out_proj)|0\.mlp\.(fc1|fc2))\.weight$";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F16,
    Q8,
    Q4,
}

impl Precision {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            "q8" => Ok(Precision::Q8),
            "q4" => Ok(Precision::Q4),
            other => Err(ClipError::Input(format!("unknown precision {other:?} (f32, f16, q8 or q4)"))),
        }
    }

    /// burn's scheme: symmetric, one f32 scale per block of values along the last dimension.
    fn scheme(self) -> Option<QuantScheme> {
        self.scheme_with_block(&[1, self.block_cap()])
    }

    /// The largest block: 128 values for 8 bits; 32 for 4 bits, where one scale per 128 values
    /// costs too much accuracy (bench/q4_study.py: image cosine 0.946 with 128, see the README).
    fn block_cap(self) -> u8 {
        match self {
            Precision::Q4 => 32,
            _ => BLOCK[1],
        }
    }

    fn scheme_with_block(self, block: &[u8]) -> Option<QuantScheme> {
        let value = match self {
            Precision::F32 | Precision::F16 => return None,
            Precision::Q8 => QuantValue::Q8S,
            Precision::Q4 => QuantValue::Q4S,
        };
        Some(
            QuantScheme::default()
                .with_value(value)
                .with_store(QuantStore::PackedU32(0))
                // f32 scales: f16 ones would make every quantized kernel `enable f16`, which
                // WebGPU adapters without shader-f16 (SwiftShader, many laptops) refuse.
                .per_block(block, ScaleDtype::F32),
        )
    }
}

/// One quantization scale per block of 1 × 128 values along the last dimension (every released
/// CLIP's widths are multiples of 128; a tensor whose width is not gets the largest power of two
/// that divides it). burn 0.22.1 caps a block at 255 values per dimension, and its wgpu backend
/// rejects blocks spanning two dimensions ("Reshape of ND block-quantized tensor is not yet
/// supported"), so 128 is the largest block that runs everywhere.
const BLOCK: [u8; 2] = [1, 128];

/// The block a tensor of these dimensions is quantized with: one row of up to `cap` values along
/// the last dimension, narrowed to the largest power of two that divides it.
fn block_for(dims: &[usize], cap: u8) -> Vec<u8> {
    let fit = |n: usize, want: u8| {
        [128u8, 64, 32, 16, 8, 4, 2, 1].into_iter().filter(|b| *b <= want).find(|b| n % usize::from(*b) == 0).unwrap_or(1)
    };
    let mut block = vec![1u8; dims.len()];
    if let Some((last, rest)) = dims.split_last() {
        block[rest.len()] = fit(*last, cap);
        if let [first] = rest {
            block[0] = fit(*first, BLOCK[0]);
        }
    }
    block
}

/// How a quantized weight (one [`QUANTIZED_WEIGHTS`] matches) is stored: the bundle's precision
/// with the block [`block_for`] gives, except that a 4-bit bundle keeps the weights
/// [`EIGHT_BIT_IN_Q4`] matches at 8 bits.
fn weight_scheme(precision: Precision, keep_8_bit: &regex_lite::Regex, path: &str, dims: &[usize]) -> Option<QuantScheme> {
    let precision = if precision == Precision::Q4 && keep_8_bit.is_match(path) { Precision::Q8 } else { precision };
    precision.scheme_with_block(&block_for(dims, precision.block_cap()))
}

fn eight_bit_in_q4() -> Result<regex_lite::Regex> {
    regex_lite::Regex::new(EIGHT_BIT_IN_Q4).map_err(|e| ClipError::Model(format!("bad quantization pattern: {e}")))
}

/// Quantizes the parameters whose path matches [`QUANTIZED_WEIGHTS`] as [`weight_scheme`] says.
/// (burn's `Quantizer` takes one scheme for all tensors.)
struct BlockQuantizer {
    precision: Precision,
    pattern: regex_lite::Regex,
    keep_8_bit: regex_lite::Regex,
    path: Vec<String>,
}

impl ModuleMapper for BlockQuantizer {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        if !self.pattern.is_match(&path) {
            return param;
        }
        let (precision, keep_8_bit) = (self.precision, &self.keep_8_bit);
        param.map(|tensor| {
            match weight_scheme(precision, keep_8_bit, &path, &tensor.dims()) {
                Some(scheme) => {
                    let range = compute_range(&scheme, &tensor, &Calibration::MinMax);
                    let qparams = compute_q_params(&scheme, range);
                    tensor.quantize(&scheme, qparams)
                }
                None => tensor,
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub repo: Option<String>,
    pub revision: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    /// burn's scheme of the stored weights, as burn serialises it (a 4-bit bundle's scales are
    /// f16 on disk and f32 once loaded).
    pub scheme: QuantScheme,
    /// Which weights are quantized (a regex over parameter paths).
    pub weights: String,
    /// In a 4-bit bundle, the quantized weights kept at 8 bits (a regex over parameter paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eight_bit_weights: Option<String>,
    /// Everything else is stored in this float type.
    pub other_weights: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// Ties the tower files to this manifest: written into each burnpack's metadata.
    pub bundle_id: String,
    pub source: Source,
    pub config: ClipConfig,
    pub preprocess: PreprocessConfig,
    pub logit_scale: f32,
    pub precision: Precision,
    pub quantization: Option<Quantization>,
    pub files: BTreeMap<String, FileEntry>,
    /// Precomputed zero-shot classifiers for big presets; their files are in `files` too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classifiers: Vec<ClassifierEntry>,
}

/// A precomputed classifier's file: f16 little-endian, `classes × dim`, one unit-length ensemble
/// vector per class of `preset` (its `templates` templates averaged), computed with this bundle's
/// own text tower so it equals encoding the preset prompt by prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierEntry {
    pub preset: String,
    pub file: String,
    pub classes: usize,
    pub dim: usize,
    pub templates: usize,
}

/// The file a preset's classifier is stored in.
pub fn classifier_file(preset: &str) -> String {
    format!("classifier-{preset}.f16")
}

impl ClassifierEntry {
    /// f16 bytes → class vectors, checking the size against the entry.
    pub fn decode(&self, bytes: &[u8]) -> Result<Classifier> {
        if bytes.len() != self.classes * self.dim * 2 || self.dim == 0 {
            return Err(ClipError::Model(format!(
                "{} holds {} bytes, not {} classes × {} dimensions of f16",
                self.file,
                bytes.len(),
                self.classes,
                self.dim
            )));
        }
        let values: Vec<f32> = bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect();
        Ok(Classifier {
            preset: self.preset.clone(),
            templates: self.templates,
            classes: values.chunks(self.dim).map(<[f32]>::to_vec).collect(),
        })
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    pub fn parse(json: &[u8]) -> Result<Self> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            format_version: Option<u32>,
        }
        let bad = |e: String| ClipError::Model(format!("{MANIFEST} is not a valid bundle manifest ({e})"));
        let header: Header = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(bad(format!("its format is not {FORMAT:?}")));
        }
        match header.format_version {
            Some(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(ClipError::Model(format!(
                    "{MANIFEST} has format version {v}, but this build reads version {FORMAT_VERSION}; convert the model again"
                )));
            }
            None => return Err(bad("it has no format_version".into())),
        }
        let manifest: Manifest = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        // File names come from outside: plain names in this directory only.
        for name in manifest.files.keys() {
            let plain = !name.is_empty()
                && !name.starts_with('.')
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !plain {
                return Err(bad(format!("it lists a file named {name:?}")));
            }
        }
        if let Some(entry) = manifest.classifiers.iter().find(|c| !manifest.files.contains_key(&c.file)) {
            return Err(bad(format!("the {} classifier's file {} is not in its file list", entry.preset, entry.file)));
        }
        manifest.config.check(MANIFEST)?;
        // Compared, never printed: cubecl panics on a block size whose length passes its storage.
        if manifest.quantization.as_ref().map(|q| q.scheme) != manifest.precision.scheme().map(stored_scheme) {
            return Err(bad(format!("its quantization scheme is not the one {:?} bundles use", manifest.precision)));
        }
        Ok(manifest)
    }

    /// Check one file's bytes against the manifest: size first (a truncated download), then
    /// sha256 (any flipped byte).
    pub fn verify(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.verify_digest(name, bytes.len(), || sha256_hex(bytes))
    }

    /// [`Manifest::verify`] with the sha256 (lowercase hex) computed elsewhere, on the same bytes.
    pub fn verify_digest(&self, name: &str, len: usize, sha256: impl FnOnce() -> String) -> Result<()> {
        let entry = self
            .files
            .get(name)
            .ok_or_else(|| ClipError::Model(format!("{MANIFEST} does not list {name}")))?;
        if len as u64 != entry.bytes {
            return Err(ClipError::Model(format!(
                "{name} is {len} bytes but {MANIFEST} says {}: the file is truncated or from another bundle",
                entry.bytes
            )));
        }
        if sha256() != entry.sha256 {
            return Err(ClipError::Model(format!(
                "{name} does not match its sha256 in {MANIFEST}: the file is corrupt or from another bundle"
            )));
        }
        Ok(())
    }
}

/// A converted bundle in memory: the manifest and each file's bytes.
pub struct Bundle {
    pub manifest: Manifest,
    /// burn's `Bytes`, so that a tower's 8-bit weights can stay views into its file (see
    /// [`aligned_file`]) instead of copies.
    pub files: BTreeMap<String, Bytes>,
    /// sha256 (hex) of some of `files`, computed by whoever holds the same bytes: the page's
    /// worker asks the browser's WebCrypto, which hashes ViT-B/32's 158 MB in a fraction of the
    /// 0.5 s that sha2 takes in wasm. A file listed here is checked against the manifest by this
    /// digest (and its length); any other file is hashed here.
    sha256: BTreeMap<String, String>,
    /// The weights of each tower file already rewritten in the CPU kernel's order
    /// ([`crate::cpu_weights::rewrite`], after the file's digest was taken).
    cpu_order: BTreeMap<String, BTreeSet<String>>,
}

impl Bundle {
    pub fn new(manifest: Manifest, files: BTreeMap<String, Bytes>) -> Self {
        Bundle { manifest, files, sha256: BTreeMap::new(), cpu_order: BTreeMap::new() }
    }

    /// Says that `file`'s weights named in `rewritten` are in the CPU kernel's order (rewritten
    /// by [`crate::cpu_weights::rewrite`]); loaded on the CPU, they are declared so. Only for a
    /// file whose digest is among [`Bundle::with_sha256`]'s: the rewritten bytes no longer hash
    /// to the manifest's.
    #[cfg(feature = "cpu")]
    pub fn with_cpu_order(mut self, file: &str, rewritten: BTreeSet<String>) -> Self {
        self.cpu_order.insert(file.to_string(), rewritten);
        self
    }

    /// Keeps the towers' 8-bit matrices quantized on the CPU's integer kernel, as the page's CPU
    /// path does, instead of expanding them once as the native CPU does (its f32 gemm is the
    /// faster there): to measure the page's arithmetic natively (`clip bench fidelity
    /// --page-kernel`, tests). Nothing is rewritten; the towers' digests are taken here.
    #[cfg(feature = "cpu")]
    pub fn on_integer_kernel(mut self) -> Self {
        for file in [VISION_FILE, TEXT_FILE] {
            if let Some(bytes) = self.files.get(file) {
                self.sha256.entry(file.to_string()).or_insert_with(|| sha256_hex(bytes));
                self.cpu_order.entry(file.to_string()).or_default();
            }
        }
        self
    }

    /// The sha256 of some files, already computed on these same bytes (see the field's note).
    pub fn with_sha256(mut self, sha256: BTreeMap<String, String>) -> Self {
        self.sha256 = sha256;
        self
    }

    fn verify(manifest: &Manifest, sha256: &BTreeMap<String, String>, name: &str, bytes: &[u8]) -> Result<()> {
        match sha256.get(name) {
            Some(digest) => manifest.verify_digest(name, bytes.len(), || digest.to_ascii_lowercase()),
            None => manifest.verify(name, bytes),
        }
    }
}

/// A file's bytes in a fresh 16-byte-aligned buffer, filled in place by `fill`. burn copies any
/// buffer it cannot prove aligned (a `Vec<u8>` proves nothing), and in the page that copy of a
/// 90 MB tower would stay in the wasm heap for good (wasm memory never shrinks). Filled here, the
/// file is never copied again: the 8-bit weights loaded from it are views into it.
pub fn aligned_file<E>(len: usize, fill: impl FnOnce(&mut [u8]) -> std::result::Result<(), E>) -> std::result::Result<Bytes, E> {
    let mut bytes = Bytes::from_elems(vec![0u128; len.div_ceil(16)]);
    fill(&mut bytes[..len])?;
    if bytes.len() == len {
        return Ok(bytes);
    }
    // A window of exactly the file's length over the padded words, still without a copy.
    Ok(bytes.shared().view(0, len).expect("a shared buffer gives views of its own range"))
}

/// [`aligned_file`] of bytes already in memory.
pub fn file_bytes(bytes: &[u8]) -> Bytes {
    let filled: std::result::Result<Bytes, std::convert::Infallible> = aligned_file(bytes.len(), |buffer| {
        buffer.copy_from_slice(bytes);
        Ok(())
    });
    match filled {
        Ok(bytes) => bytes,
    }
}

/// Convert loaded f32 towers to a bundle. `progress` is told what is happening, step by step.
pub fn convert(
    model: ModelParts,
    tokenizer_json: Vec<u8>,
    precision: Precision,
    source: Source,
    progress: &mut dyn FnMut(&str),
) -> Result<Bundle> {
    let ModelParts { config, preprocess, logit_scale, vision, text, .. } = model;
    let (vision, text) = match (vision, text) {
        (Some(v), Some(t)) => (v, t),
        _ => return Err(ClipError::Input("converting needs both towers".into())),
    };
    let scheme = precision.scheme();
    progress("quantizing the towers");
    let (vision, text) = (quantize(vision, scheme, precision)?, quantize(text, scheme, precision)?);
    // Identity of this conversion: the config, precision, temperature, tokenizer and every
    // weight as stored, so two fine-tunes of one architecture never pass as the same model.
    let mut identity = Sha256::new();
    identity.update(format!("{}|{:?}|{}|", serde_json::to_string(&config).unwrap_or_default(), precision, logit_scale));
    identity.update(&tokenizer_json);
    digest_weights(&mut identity, &vision)?;
    digest_weights(&mut identity, &text)?;
    let bundle_id: String = identity.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let mut files = BTreeMap::new();
    progress("packing the vision tower");
    files.insert(VISION_FILE.to_string(), Bytes::from_bytes_vec(pack(vision, precision, &bundle_id, "vision")?));
    progress("packing the text tower");
    files.insert(TEXT_FILE.to_string(), Bytes::from_bytes_vec(pack(text, precision, &bundle_id, "text")?));
    files.insert(TOKENIZER_FILE.to_string(), Bytes::from_bytes_vec(minify_json(&tokenizer_json)?));
    progress("hashing files");
    let entries = files
        .iter()
        .map(|(name, bytes)| (name.clone(), FileEntry { bytes: bytes.len() as u64, sha256: sha256_hex(bytes) }))
        .collect();
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        bundle_id,
        source,
        config,
        preprocess,
        logit_scale,
        precision,
        quantization: scheme.map(|scheme| Quantization {
            scheme: stored_scheme(scheme),
            weights: QUANTIZED_WEIGHTS.into(),
            eight_bit_weights: (precision == Precision::Q4).then(|| EIGHT_BIT_IN_Q4.into()),
            other_weights: "f16 (LayerNorms, biases, positional embeddings); f32 (class embedding)".into(),
        }),
        files: entries,
        classifiers: Vec::new(),
    };
    Ok(Bundle::new(manifest, files))
}

/// How a quantized weight is stored on disk: as burn computes on it, except that a 4-bit
/// weight's block scales are written in f16. At 4 bits in blocks of 32, f32 scales are a fifth
/// of the bytes (1 bit a value); f16 halves that, a relative error of 2^-11 on each scale
/// against 1/14 for the values. They are widened back to f32 on load ([`WidenScales`]):
/// burn's WebGPU kernels would otherwise need `shader-f16`, which SwiftShader and many laptops
/// lack. 8-bit weights keep f32 scales: their scales cost a quarter bit a value, and the CPU
/// path computes on their bytes where they lie, which a conversion would copy.
fn stored_scheme(scheme: QuantScheme) -> QuantScheme {
    if scheme.value == QuantValue::Q4S { with_scale_dtype(scheme, ScaleDtype::F16) } else { scheme }
}

fn with_scale_dtype(scheme: QuantScheme, dtype: ScaleDtype) -> QuantScheme {
    match scheme.block_scale() {
        Some(block) => scheme.per_block(block.size.as_slice(), dtype),
        None => scheme,
    }
}

/// burn-flex keeps quantized values one per byte (`Native`); on disk they are packed into u32
/// words (four 8-bit or eight 4-bit values), burn's `PackedU32` layout, which is what the wgpu
/// backend computes on directly and what burn-flex unpacks on load; scales as [`stored_scheme`] says.
#[derive(Clone)]
struct PackQuantized;

impl ModuleAdapter for PackQuantized {
    fn adapt(&self, tensor: PackTensor, _ctx: ModuleContext<'_>) -> PackTensor {
        let DType::QFloat(scheme) = tensor.dtype else { return tensor };
        let bits: usize = match scheme.value {
            QuantValue::Q8S | QuantValue::Q8F => 8,
            QuantValue::Q4S | QuantValue::Q4F => 4,
            _ => return tensor,
        };
        if scheme.store != QuantStore::Native {
            return tensor;
        }
        let packed = stored_scheme(scheme.with_store(QuantStore::PackedU32(0)));
        let half_scales = packed.scale_dtype() == ScaleDtype::F16;
        let (name, shape) = (tensor.name.clone(), tensor.shape.clone());
        burn::store::bridge::map_data(tensor, name, DType::QFloat(packed), shape.clone(), move |data| {
            let count = shape.num_elements();
            let bytes = data.into_bytes();
            let scales_at = count.div_ceil(QPARAM_ALIGN) * QPARAM_ALIGN;
            let mask = (1u32 << bits) - 1;
            let words: Vec<u32> = bytes[..count]
                .chunks(32 / bits)
                .map(|values| {
                    values.iter().enumerate().fold(0u32, |word, (i, &v)| word | ((u32::from(v) & mask) << (bits * i)))
                })
                .collect();
            let mut out = Bytes::from_elems(words);
            let scales = &bytes[scales_at..];
            if half_scales {
                let halves: Vec<u8> = scales
                    .chunks_exact(4)
                    .flat_map(|s| half::f16::from_f32(f32::from_le_bytes([s[0], s[1], s[2], s[3]])).to_le_bytes())
                    .collect();
                out.extend_from_byte_slice_aligned(&halves, QPARAM_ALIGN);
            } else {
                out.extend_from_byte_slice_aligned(scales, QPARAM_ALIGN);
            }
            TensorData::from_bytes(out, shape.clone(), DType::QFloat(packed))
        })
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// The reverse of [`stored_scheme`] on load: f16 block scales become f32 ones, the packed
/// values stay as they are.
#[derive(Clone)]
struct WidenScales;

impl ModuleAdapter for WidenScales {
    fn adapt(&self, tensor: PackTensor, _ctx: ModuleContext<'_>) -> PackTensor {
        let DType::QFloat(scheme) = tensor.dtype else { return tensor };
        if scheme.scale_dtype() != ScaleDtype::F16 || !matches!(scheme.store, QuantStore::PackedU32(_)) {
            return tensor;
        }
        let widened = with_scale_dtype(scheme, ScaleDtype::F32);
        let (name, shape) = (tensor.name.clone(), tensor.shape.clone());
        // check_stored has checked the byte length against the shape before this runs.
        let scale_bytes = params_shape(&shape, &scheme).num_elements() * 2;
        let value_bytes = burn::store::bridge::data_len(DType::QFloat(scheme), &shape).saturating_sub(scale_bytes);
        burn::store::bridge::map_data(tensor, name, DType::QFloat(widened), shape.clone(), move |data| {
            let bytes = data.into_bytes();
            let mut out = Bytes::from_bytes_vec(bytes[..value_bytes].to_vec());
            let scales: Vec<u8> = bytes[value_bytes..]
                .chunks_exact(2)
                .flat_map(|h| half::f16::from_le_bytes([h[0], h[1]]).to_f32().to_le_bytes())
                .collect();
            out.extend_from_byte_slice_aligned(&scales, QPARAM_ALIGN);
            TensorData::from_bytes(out, shape.clone(), DType::QFloat(widened))
        })
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// Hugging Face writes tokenizer.json indented; compact, CLIP's is 1.7 MB instead of 3.6 MB.
fn minify_json(json: &[u8]) -> Result<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| ClipError::Tokenizer(format!("tokenizer.json is not valid JSON ({e})")))?;
    serde_json::to_vec(&value).map_err(|e| ClipError::Tokenizer(format!("cannot write tokenizer.json ({e})")))
}

fn quantize<M: Module>(tower: M, scheme: Option<QuantScheme>, precision: Precision) -> Result<M> {
    Ok(match scheme {
        Some(_) => {
            let pattern = regex_lite::Regex::new(QUANTIZED_WEIGHTS)
                .map_err(|e| ClipError::Model(format!("bad quantization pattern: {e}")))?;
            tower.map(&mut BlockQuantizer { precision, pattern, keep_8_bit: eight_bit_in_q4()?, path: Vec::new() })
        }
        None => tower,
    })
}

/// Feed every parameter's name and stored bytes to `hasher`, in the tower's own order.
fn digest_weights<M: ModuleSnapshot>(hasher: &mut Sha256, tower: &M) -> Result<()> {
    for tensor in tower.collect(None, None, false) {
        let data = burn::store::bridge::into_data(tensor.clone())
            .map_err(|e| ClipError::Model(format!("cannot read the weight {} ({e})", tensor.name)))?;
        hasher.update(tensor.name.as_bytes());
        hasher.update(data.as_bytes());
    }
    Ok(())
}

fn pack<M: Module + ModuleSnapshot>(tower: M, precision: Precision, bundle_id: &str, tower_name: &str) -> Result<Vec<u8>> {
    let mut store = BurnpackStore::from_bytes(None)
        .metadata("clip.bundle_id", bundle_id)
        .metadata("clip.tower", tower_name);
    match precision {
        Precision::F32 => {}
        Precision::F16 => store = store.with_to_adapter(HalfPrecisionAdapter::new()),
        Precision::Q8 | Precision::Q4 => store = store.with_to_adapter(HalfPrecisionAdapter::new().chain(PackQuantized)),
    }
    tower
        .save_into(&mut store)
        .map_err(|e| ClipError::Model(format!("cannot pack the {tower_name} tower: {e}")))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| ClipError::Model(format!("cannot pack the {tower_name} tower: {e}")))?;
    Ok(bytes.to_vec())
}

/// Which towers to load from a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Towers {
    pub vision: bool,
    pub text: bool,
}

/// A bundle's towers and classifiers, loaded and verified: [`ModelParts`] but the tokenizer.
pub struct LoadedTowers {
    pub config: ClipConfig,
    pub preprocess: PreprocessConfig,
    pub vision: Option<VisionTower>,
    pub text: Option<TextTower>,
    pub logit_scale: f32,
    pub classifiers: Vec<Classifier>,
}

impl Towers {
    pub const BOTH: Towers = Towers { vision: true, text: true };
}

impl Bundle {
    /// Ship a precomputed classifier with the bundle (stored in f16, listed in the manifest).
    pub fn add_classifier(&mut self, classifier: &Classifier) -> Result<()> {
        let dim = self.manifest.config.projection_dim;
        if classifier.classes.iter().any(|c| c.len() != dim) {
            return Err(ClipError::Input(format!("the {} classifier's vectors are not {dim}-dimensional", classifier.preset)));
        }
        let file = classifier_file(&classifier.preset);
        let bytes: Vec<u8> =
            classifier.classes.iter().flatten().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect();
        self.manifest.files.insert(file.clone(), FileEntry { bytes: bytes.len() as u64, sha256: sha256_hex(&bytes) });
        self.manifest.classifiers.retain(|c| c.preset != classifier.preset);
        self.manifest.classifiers.push(ClassifierEntry {
            preset: classifier.preset.clone(),
            file: file.clone(),
            classes: classifier.classes.len(),
            dim,
            templates: classifier.templates,
        });
        self.files.insert(file, Bytes::from_bytes_vec(bytes));
        Ok(())
    }

    /// Verify every present file against the manifest and load the towers it holds.
    /// Either tower file may be absent (a page that only needs text skips the vision file).
    pub fn load(mut self, backend: &Backend) -> Result<ModelParts> {
        let tokenizer_json = self
            .files
            .remove(TOKENIZER_FILE)
            .ok_or_else(|| ClipError::Model(format!("the bundle has no {TOKENIZER_FILE}")))?;
        Bundle::verify(&self.manifest, &self.sha256, TOKENIZER_FILE, &tokenizer_json)?;
        let max_len = self.manifest.config.text.max_position_embeddings;
        let LoadedTowers { config, preprocess, vision, text, logit_scale, classifiers } = self.load_towers(backend)?;
        let tokenizer = ClipTokenizer::from_bytes(&tokenizer_json[..], max_len)?;
        Ok(ModelParts { config, preprocess, tokenizer, vision, text, logit_scale, classifiers })
    }

    /// [`Bundle::load`] without the tokenizer: verify the other files and load the towers and
    /// classifiers. Apart because building the tokenizer (reading its 49 000 merges) costs more than
    /// loading a small tower, which matters to the bundle fuzzer's speed.
    pub fn load_towers(self, backend: &Backend) -> Result<LoadedTowers> {
        let Bundle { manifest, mut files, sha256, cpu_order } = self;
        // Rewritten bytes are checked by the digest taken before the rewrite, and only the CPU
        // reads that order.
        if let Some(file) = cpu_order.keys().find(|file| !sha256.contains_key(*file) || backend.kind != "cpu") {
            return Err(ClipError::Model(format!("{file} was rewritten for the CPU, but is loaded without its original digest or on {}", backend.kind)));
        }
        for (name, bytes) in &files {
            Bundle::verify(&manifest, &sha256, name, bytes)?;
        }
        let classifiers = manifest
            .classifiers
            .iter()
            .filter_map(|entry| files.remove(&entry.file).map(|bytes| entry.decode(&bytes)))
            .collect::<Result<Vec<_>>>()?;
        let device = backend.device.clone();
        // On a GPU quantized weights stay quantized (burn's quantized kernels). In wasm's CPU path
        // too: burn-flex, as patched in third_party/, multiplies their i8 values directly, so
        // only the patch convolution's kernel is expanded here (burn convolves float kernels
        // only, and would expand it again for every image). The native CPU expands everything
        // once: its f32 gemm (AVX2/AVX-512, all cores) is 3× faster than the integer kernel's
        // SSE2 on ViT-B/32, and memory is no concern there.
        // A file rewritten for the integer kernel (cpu_weights.rs) keeps its matrices quantized
        // natively too. On that kernel the patch convolution becomes a matmul whose matrix stays
        // quantized too (`VisionTower::with_patch_matrix`), so nothing is expanded.
        let integer_kernel = |file: &str| cfg!(target_family = "wasm") || cpu_order.contains_key(file);
        let expander = |file: &str| Dequantizer { min_rank: if integer_kernel(file) { 3 } else { 1 } };
        let expand = backend.kind == "cpu";
        let vision = match files.remove(VISION_FILE) {
            Some(bytes) => {
                let tower = unpack(VisionTower::new(&manifest.config, &device), bytes, &manifest, VISION_FILE, "vision")?;
                let tower = declared(tower, &cpu_order, VISION_FILE)?;
                Some(match (expand, integer_kernel(VISION_FILE)) {
                    (true, true) => tower.with_patch_matrix().unwrap_or_else(|tower| tower.map(&mut expander(VISION_FILE))),
                    (true, false) => tower.map(&mut expander(VISION_FILE)),
                    (false, _) => tower,
                })
            }
            None => None,
        };
        let text = match files.remove(TEXT_FILE) {
            Some(bytes) => {
                let tower = unpack(TextTower::new(&manifest.config, &device), bytes, &manifest, TEXT_FILE, "text")?;
                let tower = declared(tower, &cpu_order, TEXT_FILE)?;
                Some(if expand { tower.map(&mut expander(TEXT_FILE)) } else { tower })
            }
            None => None,
        };
        if vision.is_none() && text.is_none() {
            return Err(ClipError::Model(format!("the bundle has neither {VISION_FILE} nor {TEXT_FILE}")));
        }
        Ok(LoadedTowers {
            config: manifest.config,
            preprocess: manifest.preprocess,
            vision,
            text,
            logit_scale: manifest.logit_scale,
            classifiers,
        })
    }

    /// Read a bundle directory (all files, or only the towers asked for).
    #[cfg(not(target_family = "wasm"))]
    pub fn read_dir(dir: &std::path::Path, towers: Towers) -> Result<Self> {
        let read = |name: &str| crate::loader::read_model_file(dir, name).map(Bytes::from_bytes_vec);
        let manifest = Manifest::parse(&read(MANIFEST)?[..])?;
        let mut files = BTreeMap::new();
        files.insert(TOKENIZER_FILE.to_string(), read(TOKENIZER_FILE)?);
        if towers.vision {
            files.insert(VISION_FILE.to_string(), read(VISION_FILE)?);
        }
        if towers.text {
            files.insert(TEXT_FILE.to_string(), read(TEXT_FILE)?);
        }
        for entry in &manifest.classifiers {
            files.insert(entry.file.clone(), read(&entry.file)?);
        }
        Ok(Bundle::new(manifest, files))
    }

    /// Write the bundle into `dir` (created if needed).
    #[cfg(not(target_family = "wasm"))]
    pub fn write_dir(&self, dir: &std::path::Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| ClipError::io(dir, e))?;
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            std::fs::write(&path, &bytes[..]).map_err(|e| ClipError::io(&path, e))?;
        }
        let json = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| ClipError::Model(format!("cannot write {MANIFEST}: {e}")))?;
        let path = dir.join(MANIFEST);
        std::fs::write(&path, json).map_err(|e| ClipError::io(&path, e))
    }
}

/// The tower, with the weights its file had rewritten in the CPU kernel's order declared so.
fn declared<M: Module>(tower: M, cpu_order: &BTreeMap<String, BTreeSet<String>>, file: &str) -> Result<M> {
    #[cfg(feature = "cpu")]
    if let Some(rewritten) = cpu_order.get(file) {
        return crate::cpu_weights::declare(tower, rewritten);
    }
    let _ = (cpu_order, file);
    Ok(tower)
}

/// Turns quantized parameters of at least `min_rank` dimensions back into f32.
struct Dequantizer {
    min_rank: usize,
}

impl ModuleMapper for Dequantizer {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let expand = D >= self.min_rank;
        param.map(|tensor| if expand && matches!(tensor.dtype(), DType::QFloat(_)) { tensor.dequantize() } else { tensor })
    }
}

fn unpack<M: Module + ModuleSnapshot>(
    mut tower: M,
    bytes: Bytes,
    manifest: &Manifest,
    file: &str,
    tower_name: &str,
) -> Result<M> {
    // One reader over the bytes for both the identity check and the tensors: no copy of the tower.
    let reader = burn::store::burn_pack::Reader::from_bytes(bytes)
        .map_err(|e| ClipError::Model(format!("{file} is not a valid burnpack file ({e})")))?;
    let metadata = reader.metadata();
    if metadata.get("clip.bundle_id") != Some(&manifest.bundle_id) || metadata.get("clip.tower").map(String::as_str) != Some(tower_name) {
        return Err(ClipError::Model(format!(
            "{file} belongs to another model than {MANIFEST} (bundle id {:?}, expected {:?})",
            metadata.get("clip.bundle_id").map(String::as_str).unwrap_or("none"),
            manifest.bundle_id
        )));
    }
    let tensors = reader
        .into_tensors()
        .map_err(|e| ClipError::Model(format!("{file} cannot be read ({e})")))?;
    let keep_8_bit = eight_bit_in_q4()?;
    for tensor in &tensors {
        check_stored(file, tensor, manifest.precision, &keep_8_bit)?;
    }
    // f16 weights come back as f32 for compute; quantized weights stay quantized (4-bit ones
    // with their scales widened to f32).
    let result = tower.apply(tensors, None, Some(Box::new(FloatCastAdapter::to(DType::F32).chain(WidenScales))), false);
    check_applied(file, &result)?;
    Ok(tower)
}

/// A stored weight's type must be one this bundle's precision writes (f32, f16, or the
/// quantization scheme [`weight_scheme`] gives its name), and its byte length exactly what
/// its shape needs: burn's loaders assume both and panic otherwise (found by fuzzing).
fn check_stored(file: &str, tensor: &PackTensor, precision: Precision, keep_8_bit: &regex_lite::Regex) -> Result<()> {
    let name = &tensor.name;
    let dims = tensor.shape.as_slice();
    let elements = dims.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
    // Every stored type takes at least 4 bits a value, so this also bounds the shape.
    if elements.is_none_or(|n| n > tensor.byte_len().saturating_mul(2).saturating_add(64)) {
        return Err(ClipError::Model(format!("{file}: the weight {name} declares the shape {dims:?}, far more values than its bytes hold")));
    }
    let expected_type = match tensor.dtype {
        DType::F32 | DType::F16 => true,
        DType::QFloat(scheme) => !dims.is_empty() && weight_scheme(precision, keep_8_bit, name, dims).map(stored_scheme) == Some(scheme),
        _ => false,
    };
    if !expected_type {
        // Not `{:?}` of the whole dtype: a hostile block size (a length past its storage)
        // panics in cubecl's Debug.
        let stored = match tensor.dtype {
            DType::QFloat(scheme) => format!("{:?} with another block or store", scheme.value),
            other => format!("{other:?}"),
        };
        return Err(ClipError::Model(format!(
            "{file}: the weight {name} is stored as {stored}, which a {precision:?} bundle does not use"
        )));
    }
    let needed = burn::store::bridge::data_len(tensor.dtype, &tensor.shape);
    if tensor.byte_len() != needed {
        return Err(ClipError::Model(format!(
            "{file}: the weight {name} has {} bytes where its shape {dims:?} needs {needed}",
            tensor.byte_len()
        )));
    }
    Ok(())
}

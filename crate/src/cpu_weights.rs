//! The CPU path's Linear weights, stored in the order its integer kernel reads them.
//!
//! burn-flex (as patched in `third_party/`) multiplies 8-bit weights by streaming each 8-column
//! strip of a `k × n` matrix as one contiguous panel, pairs of rows interleaved. Packed on every
//! call, that pass over the weights cost 13 % of a ViT-B/32 image on one thread. The page holds
//! each tower file once in memory and its 8-bit weights are views into it, so the file itself is
//! rewritten, in place, before it is loaded ([`rewrite`]): no copy, no per-call pass. The bundle
//! format stays row-major, which is what the WebGPU path and the CLI read. After loading,
//! [`declare`] tells burn-flex which weights are in that order; it reads them back row-major for
//! any operation but the matmul.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::{Module, ModuleMapper, Param};
use burn::store::burn_pack::{HEADER_SIZE, Header, MAX_CBOR_RECURSION_DEPTH, aligned_data_section_start};
use burn::tensor::quantization::{QuantStore, QuantValue};
use burn::tensor::{DType, Tensor};
use burn_dispatch::{BackendTensor, DispatchTensorKind};
use burn_flex::ops::qmatmul;
use serde::Deserialize;

use crate::error::{ClipError, Result};

/// The weights that only ever meet a matmul: every Linear's (attention, MLP, both projections).
/// Not the token embedding (looked up by row) nor the patch convolution (expanded at load).
const LINEAR_WEIGHTS: &str = r"(q_proj|k_proj|v_proj|out_proj|fc1|fc2|visual_projection|text_projection)\.weight$";

/// What [`rewrite`] reads of a burnpack file's index (the fields burn-pack writes; others ignored).
#[derive(Deserialize)]
struct Index {
    tensors: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    dtype: DType,
    shape: Vec<u64>,
    data_offsets: (u64, u64),
}

/// Rewrites, in place, the 8-bit Linear weights of a burnpack file (a tower) in the integer
/// kernel's panel order, and returns their names, for [`declare`] once the file is loaded. A file
/// it cannot read is left as it is (the loader then says what is wrong with it), as is every
/// weight the order does not fit.
pub fn rewrite(file: &mut [u8]) -> BTreeSet<String> {
    let mut rewritten = BTreeSet::new();
    let Ok(pattern) = regex_lite::Regex::new(LINEAR_WEIGHTS) else { return rewritten };
    let Some(index) = read_index(file) else { return rewritten };
    let data_start = aligned_data_section_start(index.1);
    for (name, entry) in index.0.tensors {
        let DType::QFloat(scheme) = entry.dtype else { continue };
        let [k, n] = entry.shape.as_slice() else { continue };
        let (Ok(k), Ok(n)) = (usize::try_from(*k), usize::try_from(*n)) else { continue };
        // 8-bit values, one byte each in order: natively stored, or four to a little-endian word.
        let bytes_in_order = match scheme.store {
            QuantStore::Native => true,
            QuantStore::PackedU32(0) => cfg!(target_endian = "little") && n % 4 == 0,
            _ => false,
        };
        let block = scheme.block_size().and_then(|block| match block.as_slice() {
            [lead @ .., run] if lead.iter().all(|&d| d == 1) => Some(*run as usize),
            _ => None,
        });
        let Some(block) = block else { continue };
        if !pattern.is_match(&name)
            || !matches!(scheme.value, QuantValue::Q8S | QuantValue::Q8F)
            || !bytes_in_order
            || !qmatmul::panels_fit(k, n, block)
        {
            continue;
        }
        let start = usize::try_from(entry.data_offsets.0).ok().and_then(|offset| data_start.checked_add(offset));
        let values = start.and_then(|start| Some(start..start.checked_add(k.checked_mul(n)?)?));
        let end = usize::try_from(entry.data_offsets.1).ok().and_then(|offset| data_start.checked_add(offset));
        let (Some(values), Some(end)) = (values, end) else { continue };
        if values.end > end || end > file.len() {
            continue;
        }
        let values: &mut [i8] = as_i8(&mut file[values]);
        qmatmul::to_panels(values, k, n);
        rewritten.insert(name);
    }
    rewritten
}

/// The file's index and the length of its metadata, or `None` where it is not a burnpack file.
fn read_index(file: &[u8]) -> Option<(Index, usize)> {
    let header = Header::from_bytes(file.get(..HEADER_SIZE)?).ok()?;
    let size = header.metadata_size as usize;
    let metadata = file.get(HEADER_SIZE..HEADER_SIZE.checked_add(size)?)?;
    let index: Index = ciborium::de::from_reader_with_recursion_limit(metadata, MAX_CBOR_RECURSION_DEPTH).ok()?;
    Some((index, size))
}

fn as_i8(bytes: &mut [u8]) -> &mut [i8] {
    // SAFETY: i8 and u8 have the same size and alignment, and every bit pattern is valid for both.
    unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<i8>(), bytes.len()) }
}

/// Declares to burn-flex that the loaded tower's weights named in `rewritten` (by [`rewrite`],
/// on the file it was loaded from) are in panel order. Each of them must be found and accepted:
/// one left undeclared would be multiplied as if it were row-major.
pub fn declare<M: Module>(tower: M, rewritten: &BTreeSet<String>) -> Result<M> {
    let mut declarer = Declarer { rewritten, path: Vec::new(), declared: 0, refused: Vec::new() };
    let tower = tower.map(&mut declarer);
    if declarer.declared != rewritten.len() || !declarer.refused.is_empty() {
        return Err(ClipError::Model(format!(
            "the CPU could not take {} of {} weights in its order ({})",
            rewritten.len() - declarer.declared,
            rewritten.len(),
            declarer.refused.join(", ")
        )));
    }
    Ok(tower)
}

struct Declarer<'a> {
    rewritten: &'a BTreeSet<String>,
    path: Vec<String>,
    declared: usize,
    refused: Vec<String>,
}

impl ModuleMapper for Declarer<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        if !self.rewritten.contains(&path) {
            return param;
        }
        param.map(|tensor| {
            let mut dispatch = tensor.into_dispatch();
            dispatch.kind = match dispatch.kind {
                DispatchTensorKind::Flex(BackendTensor::Quantized(weight)) => match weight.in_panel_order() {
                    Ok(weight) => {
                        self.declared += 1;
                        DispatchTensorKind::Flex(BackendTensor::Quantized(weight))
                    }
                    Err(weight) => {
                        self.refused.push(path.clone());
                        DispatchTensorKind::Flex(BackendTensor::Quantized(weight))
                    }
                },
                other => {
                    self.refused.push(path.clone());
                    other
                }
            };
            Tensor::from_dispatch(dispatch)
        })
    }
}

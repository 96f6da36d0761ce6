use alloc::vec::Vec;

use burn_backend::{DType, TensorMetadata};
use burn_std::{QuantScheme, Shape, quantization::global_scale_dtype};

use crate::{FlexDevice, tensor::FlexTensor};

/// Quantized tensor for the Flex backend.
///
/// Stores quantized i8 values in the tensor and keeps scales separately
/// for efficient dequantization without reparsing bytes.
#[derive(Clone, Debug)]
pub struct FlexQTensor {
    /// The underlying quantized data (stored as i8).
    pub(crate) tensor: FlexTensor,
    /// Quantization scheme.
    pub(crate) scheme: QuantScheme,
    /// Per-tensor or per-block scale factors.
    pub(crate) scales: Vec<f32>,
    /// The per-tensor scale that [`scales`](Self::scales) are expressed relative to, for a
    /// two-level scheme.
    pub(crate) global: Option<f32>,
    /// Patched: the values of this `[1.., k, n]` matrix are in the integer matmul's panel order
    /// ([`to_panels`](crate::ops::qmatmul::to_panels)), not row-major; see [`Self::in_panel_order`].
    pub(crate) panels: bool,
}

impl FlexQTensor {
    /// Create a new quantized tensor.
    ///
    /// The tensor must store i8 data and scales must be non-empty. A two-level scheme takes a
    /// per-tensor scale, and no other level does.
    pub fn new(
        tensor: FlexTensor,
        scheme: QuantScheme,
        scales: Vec<f32>,
        global: Option<f32>,
    ) -> Self {
        assert_eq!(
            tensor.dtype(),
            DType::I8,
            "quantized tensor must store i8 data, got {:?}",
            tensor.dtype()
        );
        assert!(
            !scales.is_empty(),
            "quantized tensor must have at least one scale factor"
        );
        assert_eq!(
            global_scale_dtype(&scheme).is_some(),
            global.is_some(),
            "{scheme:?} does not match a per-tensor scale of {global:?}"
        );
        Self {
            tensor,
            scheme,
            scales,
            global,
            panels: false,
        }
    }

    /// Patched: declares that this matrix's values are already in the integer matmul's panel
    /// order, as [`to_panels`](crate::ops::qmatmul::to_panels) writes it (a loader rewrites the
    /// weights of a model file in place before loading it), so that a float × quantized matmul
    /// streams them as stored instead of packing them on every call. Every other operation
    /// reads them back in row-major order first. Where that order cannot apply (not a
    /// contiguous `[1.., k, n]` matrix whose blocks run along `n`, with an even `k` and whole
    /// 8-column tiles in each block), the tensor comes back unchanged as the error.
    pub fn in_panel_order(mut self) -> Result<Self, Self> {
        let shape = self.tensor.shape();
        let dims = shape.as_slice();
        let layout = self.tensor.layout();
        let whole = self.tensor.is_contiguous()
            && layout.start_offset() == 0
            && self.tensor.bytes().len() == shape.num_elements();
        let fits = match (dims, crate::ops::qtensor::last_dim_block(&self.scheme)) {
            ([.., k, n], Some(block)) if dims[..dims.len() - 2].iter().all(|&d| d == 1) => {
                crate::ops::qmatmul::panels_fit(*k, *n, block) && self.scales.len() == k * (n / block)
            }
            _ => false,
        };
        if !(whole && fits) || self.panels {
            return Err(self);
        }
        self.panels = true;
        Ok(self)
    }

    /// Whether the values are in panel order ([`Self::in_panel_order`]).
    pub fn is_panel_ordered(&self) -> bool {
        self.panels
    }

    /// Patched: the same tensor with its values in row-major order (a copy, if they were in
    /// panel order).
    pub(crate) fn row_major(self) -> Self {
        if !self.panels {
            return self;
        }
        let shape = self.tensor.shape();
        let dims = shape.as_slice();
        let (k, n) = (dims[dims.len() - 2], dims[dims.len() - 1]);
        let values = crate::ops::qmatmul::from_panels(self.tensor.storage::<i8>(), k, n);
        let tensor = FlexTensor::from_data(burn_backend::TensorData::new(values, shape));
        Self::new(tensor, self.scheme, self.scales, self.global)
    }

    /// Get the underlying tensor.
    pub fn tensor(&self) -> &FlexTensor {
        &self.tensor
    }

    /// Get the quantization scales.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }
}

impl TensorMetadata for FlexQTensor {
    type Device = FlexDevice;

    fn dtype(&self) -> DType {
        DType::QFloat(self.scheme)
    }

    fn shape(&self) -> Shape {
        self.tensor.shape()
    }

    fn rank(&self) -> usize {
        self.tensor.rank()
    }

    fn device(&self) -> Self::Device {
        FlexDevice
    }

    fn can_mut(&self) -> bool {
        self.tensor.is_unique()
    }
}

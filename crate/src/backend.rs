//! Where the towers run: burn-flex on the CPU, or burn-wgpu (Vulkan/Metal/DX12 natively,
//! WebGPU in the browser). Initialising is async because the browser only offers that.

use burn::tensor::Device;

use crate::error::{ClipError, Result};

/// A device and a human-readable description of it, for the CLI's and the page's display.
#[derive(Clone, Debug)]
pub struct Backend {
    pub device: Device,
    /// "cpu" or "wgpu".
    pub kind: &'static str,
    /// e.g. "CPU (burn-flex)" or "WebGPU: SwiftShader Device (Subzero)".
    pub description: String,
    /// A GPU API served by a software renderer (SwiftShader, lavapipe): no GPU behind it.
    pub software: bool,
}

impl Backend {
    #[cfg(feature = "cpu")]
    pub fn cpu() -> Self {
        Backend { device: Device::flex(), kind: "cpu", description: "CPU (burn-flex)".into(), software: false }
    }

    /// Acquire a GPU adapter through wgpu. Call once per process: the runtime cannot be
    /// registered twice, so keep and clone the returned device.
    #[cfg(feature = "wgpu")]
    pub async fn wgpu() -> Result<Self> {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup_async()
            .await
            .map_err(|e| ClipError::Backend(format!("no usable GPU through wgpu: {e}")))?;
        let info = setup.adapter.get_info();
        // Browsers often hide the adapter's name; say what kind of device it is instead.
        let name = if info.name.trim().is_empty() { format!("{:?}", info.device_type) } else { info.name };
        let api = match info.backend {
            burn::tensor::wgpu::wgpu::Backend::BrowserWebGpu => "WebGPU".to_string(),
            other => format!("{other:?}"),
        };
        let software = info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu;
        Ok(Backend { device, kind: "wgpu", description: format!("{api}: {name}"), software })
    }

    #[cfg(not(feature = "wgpu"))]
    pub async fn wgpu() -> Result<Self> {
        Err(ClipError::Backend("this build has no wgpu support (built without the `wgpu` feature)".into()))
    }
}

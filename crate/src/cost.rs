//! What a model costs, from its config alone: parameters, and multiply-adds per image (the
//! vision tower's work, which dominates a visitor's wait). The page uses it to say, before
//! downloading another model, how long an image would take on this device, scaled from what the
//! current model took here.

use serde::Serialize;

use crate::config::{ClipConfig, TowerConfig};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelCost {
    pub parameters: u64,
    /// Multiply-adds of one image through the vision tower and its projection.
    pub image_macs: u64,
}

/// One transformer layer's weights and biases: q, k, v, out; the MLP; two LayerNorms.
fn layer_parameters(t: &TowerConfig) -> u64 {
    let (w, i) = (t.hidden_size as u64, t.intermediate_size as u64);
    4 * (w * w + w) + (w * i + i) + (i * w + w) + 4 * w
}

/// One layer over `tokens` tokens: the four projections, attention's two products, the MLP.
fn layer_macs(t: &TowerConfig, tokens: u64) -> u64 {
    let (w, i) = (t.hidden_size as u64, t.intermediate_size as u64);
    4 * tokens * w * w + 2 * tokens * tokens * w + 2 * tokens * w * i
}

impl ClipConfig {
    pub fn cost(&self) -> ModelCost {
        let (text, vision) = (&self.text, &self.vision);
        let (tw, vw, proj) = (
            text.tower.hidden_size as u64,
            vision.tower.hidden_size as u64,
            self.projection_dim as u64,
        );
        let patch_inputs = (vision.num_channels * vision.patch_size * vision.patch_size) as u64;
        let patches = vision.num_patches() as u64;
        let text_parameters = (text.vocab_size + text.max_position_embeddings) as u64 * tw
            + text.tower.num_hidden_layers as u64 * layer_parameters(&text.tower)
            + 2 * tw // final LayerNorm
            + tw * proj;
        let vision_parameters = vw // class embedding
            + patch_inputs * vw // patch embedding (no bias)
            + (patches + 1) * vw // positions
            + 4 * vw // pre and post LayerNorm
            + vision.tower.num_hidden_layers as u64 * layer_parameters(&vision.tower)
            + vw * proj;
        let image_macs = patches * patch_inputs * vw
            + vision.tower.num_hidden_layers as u64 * layer_macs(&vision.tower, patches + 1)
            + vw * proj;
        ModelCost {
            parameters: text_parameters + vision_parameters + 1,
            image_macs,
        }
    }
}

/// Another model's expected time per image here, from the time `measured_ms` that a model of
/// cost `measured` took on the same device and backend: the work scales with the multiply-adds.
pub fn scaled_ms(measured_ms: f64, measured: &ModelCost, other: &ModelCost) -> f64 {
    measured_ms * other.image_macs as f64 / measured.image_macs.max(1) as f64
}

/// Several models' costs, and their expected time per image where one of them (`measured`: its
/// index and milliseconds per image) was timed here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    #[serde(flatten)]
    pub cost: ModelCost,
    pub ms_per_image: Option<f64>,
}

pub fn estimates(configs: &[ClipConfig], measured: Option<(usize, f64)>) -> Vec<Estimate> {
    let costs: Vec<ModelCost> = configs.iter().map(ClipConfig::cost).collect();
    let timed = measured
        .and_then(|(index, ms)| Some((costs.get(index)?, ms)))
        .filter(|(_, ms)| ms.is_finite() && *ms > 0.0);
    costs
        .iter()
        .map(|cost| Estimate {
            cost: *cost,
            ms_per_image: timed.map(|(base, ms)| scaled_ms(ms, base, cost)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Activation, TextConfig, VisionConfig};

    fn tower(width: usize, layers: usize) -> TowerConfig {
        TowerConfig {
            hidden_size: width,
            intermediate_size: 4 * width,
            num_hidden_layers: layers,
            num_attention_heads: width / 64,
            activation: Activation::QuickGelu,
            layer_norm_eps: 1e-5,
        }
    }

    fn openai(
        vision_width: usize,
        vision_layers: usize,
        patch: usize,
        text_width: usize,
        projection: usize,
    ) -> ClipConfig {
        ClipConfig {
            text: TextConfig {
                tower: tower(text_width, 12),
                vocab_size: 49408,
                max_position_embeddings: 77,
                eos_token_id: 2,
            },
            vision: VisionConfig {
                tower: tower(vision_width, vision_layers),
                image_size: 224,
                patch_size: patch,
                num_channels: 3,
            },
            projection_dim: projection,
        }
    }

    /// The published weights as the reference for the parameter count: each checkpoint's weights
    /// file in models/catalogue.json (the real files' sizes, pinned by sha256) holds 4 bytes per
    /// parameter plus its header and two small `position_ids` buffers. The multiply-adds per image
    /// are the figures published for these towers (timm: 4.41 and 17.58 GMACs at 224 px).
    #[test]
    fn costs_match_the_published_checkpoints() {
        let catalogue: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../models/catalogue.json"
            ))
            .unwrap(),
        )
        .unwrap();
        let weights_bytes = |repo: &str| -> f64 {
            let model = catalogue["models"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["repo"] == repo)
                .unwrap();
            let file = model["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["file"].as_str().unwrap().contains("model."))
                .unwrap();
            file["bytes"].as_f64().unwrap()
        };
        let cases = [
            (
                "openai/clip-vit-base-patch32",
                openai(768, 12, 32, 512, 512),
                Some(4.41e9),
            ),
            (
                "openai/clip-vit-base-patch16",
                openai(768, 12, 16, 512, 512),
                Some(17.58e9),
            ),
            (
                "openai/clip-vit-large-patch14",
                openai(1024, 24, 14, 768, 768),
                None,
            ),
        ];
        for (repo, config, macs) in cases {
            let cost = config.cost();
            let overhead = weights_bytes(repo) - 4.0 * cost.parameters as f64;
            assert!(
                (0.0..256e3).contains(&overhead),
                "{repo}: {} parameters leave {overhead} bytes of its weights file",
                cost.parameters
            );
            if let Some(macs) = macs {
                let m = cost.image_macs as f64;
                assert!(
                    (m - macs).abs() / macs < 0.01,
                    "{repo}: {m} MACs per image, published {macs}"
                );
            }
        }
    }

    #[test]
    fn time_scales_with_the_image_work() {
        let b32 = openai(768, 12, 32, 512, 512).cost();
        let b16 = openai(768, 12, 16, 512, 512).cost();
        let ms = scaled_ms(100.0, &b32, &b16);
        assert!(
            (ms - 100.0 * b16.image_macs as f64 / b32.image_macs as f64).abs() < 1e-9 && ms > 390.0,
            "{ms}"
        );
        assert_eq!(scaled_ms(100.0, &b32, &b32), 100.0);

        let configs = [openai(768, 12, 32, 512, 512), openai(768, 12, 16, 512, 512)];
        let both = estimates(&configs, Some((0, 100.0)));
        assert_eq!(both[0].ms_per_image, Some(100.0));
        assert_eq!(both[1].ms_per_image, Some(ms));
        assert!(
            estimates(&configs, None)
                .iter()
                .all(|e| e.ms_per_image.is_none())
        );
        assert!(
            estimates(&configs, Some((5, 100.0)))
                .iter()
                .all(|e| e.ms_per_image.is_none()),
            "an index out of range times nothing"
        );
        assert!(
            estimates(&configs, Some((0, f64::NAN)))
                .iter()
                .all(|e| e.ms_per_image.is_none())
        );
    }
}

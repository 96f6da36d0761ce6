//! The CLIP paper's prompt data as presets: ImageNet's 1000 classes with its 80 templates (and
//! the 7 forward-selected ones), and the 26 datasets of OpenAI's `data/prompts.md`. Transcribed
//! unedited by `presets/transcribe.py` into `presets/presets.json`, which is compiled in, so the
//! CLI and the page share one copy.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{ClipError, Result};
use crate::zero_shot::Label;

const PRESETS_JSON: &str = include_str!("../presets/presets.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    pub name: String,
    pub title: String,
    /// Where the prompts come from (repository, commit, file, licence).
    pub source: String,
    pub labels: Vec<Label>,
    pub templates: Vec<String>,
}

#[derive(Deserialize)]
struct PresetFile {
    presets: Vec<Preset>,
}

/// Every preset, in the order of the data file (ImageNet first).
pub fn all() -> &'static [Preset] {
    static PRESETS: OnceLock<Vec<Preset>> = OnceLock::new();
    // The file is part of the build and checked by tests; a parse failure is a build bug.
    PRESETS.get_or_init(|| serde_json::from_str::<PresetFile>(PRESETS_JSON).map(|f| f.presets).unwrap_or_default())
}

/// The preset called `name`, or an error listing the names there are.
pub fn find(name: &str) -> Result<&'static Preset> {
    all().iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = all().iter().map(|p| p.name.as_str()).collect();
        ClipError::Input(format!("there is no preset {name:?} (there are: {})", names.join(", ")))
    })
}

/// The presets as JSON text, for the page (parsed once there, not per call).
pub fn json() -> &'static str {
    PRESETS_JSON
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zero_shot::class_prompts;

    #[test]
    fn every_preset_of_the_paper_is_there_and_makes_prompts() {
        let presets = all();
        assert_eq!(presets.len(), 28, "ImageNet, its 7-template subset and 26 datasets");
        let imagenet = find("imagenet").unwrap();
        assert_eq!((imagenet.labels.len(), imagenet.templates.len()), (1000, 80));
        assert_eq!(find("imagenet-7").unwrap().templates[0], "itap of a {}.");
        assert_eq!(find("food101").unwrap().templates, ["a photo of {}, a type of food."]);
        assert_eq!(find("eurosat").unwrap().templates[0], "a centered satellite photo of {}.");
        let fer = find("fer2013").unwrap();
        assert_eq!(fer.labels[3], Label::Names(vec!["happy".into(), "smiling".into()]));
        for preset in presets {
            let templates: Vec<&str> = preset.templates.iter().map(String::as_str).collect();
            class_prompts(&preset.labels, &templates).unwrap_or_else(|e| panic!("{}: {e}", preset.name));
            assert!(preset.source.contains("openai/CLIP") && preset.source.contains("MIT"), "{}", preset.name);
        }
        assert!(find("nope").unwrap_err().to_string().contains("imagenet"));
    }
}

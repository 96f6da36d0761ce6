//! `clip`: the command-line face of the crate. JSON on stdout; any failure is one line on
//! stderr and a non-zero exit, never a panic trace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use clip::tokenizer::ClipTokenizer;
use clip::zero_shot::DEFAULT_TEMPLATE;
use clip::{Backend, Clip, ClipError, HfFiles, Result};

#[derive(Parser)]
#[command(name = "clip", version, about = "CLIP zero-shot classification on burn")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeviceArg {
    /// burn-flex on the CPU
    Cpu,
    /// burn-wgpu (Vulkan, Metal, DX12)
    Wgpu,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Model directory: Hugging Face layout (config.json, model.safetensors, tokenizer.json)
    #[arg(long)]
    model: PathBuf,
    /// Where to run the towers
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceArg,
}

#[derive(Subcommand)]
enum Command {
    /// Token ids for each text: {"ids": [[...], ...]}
    Tokenize {
        #[arg(long)]
        model: PathBuf,
        #[arg(required = true)]
        texts: Vec<String>,
    },
    /// Projected, unnormalised embeddings: {"images": [[...]], "texts": [[...]]}
    Embed {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long = "image")]
        images: Vec<PathBuf>,
        #[arg(long = "text")]
        texts: Vec<String>,
    },
    /// Zero-shot probabilities of each image over the labels
    Classify {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long = "image", required = true)]
        images: Vec<PathBuf>,
        #[arg(long = "label", required = true)]
        labels: Vec<String>,
        /// Prompt template with a {} placeholder; several form an ensemble [default: "a photo of a {}."]
        #[arg(long = "template")]
        templates: Vec<String>,
    },
}

fn main() -> ExitCode {
    // Last line of defence: a bug must still end in one readable line.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("clip: internal error: {message}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help, --version
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap explains over several lines; keep what comes before its usage text, joined.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(|l| l.trim().trim_start_matches("error: "))
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            eprintln!("clip: {} (see clip --help)", message.join(" "));
            return ExitCode::from(2);
        }
    };
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(output)) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("clip: {e}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::from(101),
    }
}

fn run(cli: Cli) -> Result<serde_json::Value> {
    match cli.command {
        Command::Tokenize { model, texts } => {
            let tokenizer = load_tokenizer(&model)?;
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(json!({ "ids": tokenizer.encode(&texts)? }))
        }
        Command::Embed { model, images, texts } => {
            if images.is_empty() && texts.is_empty() {
                return Err(ClipError::Input("give at least one --image or --text".into()));
            }
            let mut clip = load_model(&model)?;
            let pixels = preprocess_images(&clip, &images)?;
            let images = pollster::block_on(clip.embed_pixels(&pixels))?;
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let texts = pollster::block_on(clip.embed_texts(&texts))?;
            Ok(json!({ "images": images, "texts": texts }))
        }
        Command::Classify { model, images, labels, templates } => {
            let templates = if templates.is_empty() { vec![DEFAULT_TEMPLATE.to_string()] } else { templates };
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
            clip::zero_shot::prompts(&labels, &templates)?;
            let mut clip = load_model(&model)?;
            let pixels = preprocess_images(&clip, &images)?;
            let embeddings = pollster::block_on(clip.embed_pixels(&pixels))?;
            let result = pollster::block_on(clip.classify_embeddings(&embeddings, &labels, &templates))?;
            let results: Vec<_> = images
                .iter()
                .zip(&result.scores)
                .map(|(file, s)| json!({ "image": file.display().to_string(), "probs": s.probs, "cosine": s.cosine }))
                .collect();
            Ok(json!({
                "labels": result.labels,
                "templates": result.templates,
                "backend": clip.backend().description,
                "results": results,
            }))
        }
    }
}

/// Read and preprocess each image; a bad one is reported with its file name.
fn preprocess_images(clip: &Clip, paths: &[PathBuf]) -> Result<Vec<clip::preprocess::Pixels>> {
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(|e| ClipError::io(p, e))?;
            clip.preprocess(&bytes).map_err(|e| ClipError::Image(format!("{}: {e}", p.display())))
        })
        .collect()
}

fn backend(device: DeviceArg) -> Result<Backend> {
    match device {
        DeviceArg::Cpu => Ok(Backend::cpu()),
        DeviceArg::Wgpu => pollster::block_on(Backend::wgpu()),
    }
}

fn load_model(args: &ModelArgs) -> Result<Clip> {
    let files = HfFiles::read_dir(&args.model)?;
    Clip::from_hf(files, backend(args.device)?)
}

fn load_tokenizer(dir: &Path) -> Result<ClipTokenizer> {
    let read = |name: &str| clip::pipeline::read_model_file(dir, name);
    let context = clip::config::ClipConfig::from_hf_json(&read("config.json")?)?.text.max_position_embeddings;
    ClipTokenizer::from_bytes(&read("tokenizer.json")?, context)
}

//! `clip`: the command-line face of the crate. JSON on stdout; any failure is one line on
//! stderr and a non-zero exit, never a panic trace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod fidelity;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use clip::zero_shot::DEFAULT_TEMPLATE;
use clip::bundle::{Precision, Source};
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
    /// Model directory: a bundle from `clip convert`, or Hugging Face layout (config.json,
    /// model.safetensors, tokenizer.json, optional preprocessor_config.json)
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
    /// Convert a Hugging Face checkpoint to a web bundle (manifest.json, vision.bpk, text.bpk, tokenizer.json)
    Convert {
        /// Hugging Face model directory
        #[arg(long)]
        from: PathBuf,
        /// Output directory
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_parser = ["f32", "f16", "q8", "q4"], default_value = "q8")]
        precision: String,
        /// Source repository to record in the manifest (read from source.json in --from if absent)
        #[arg(long)]
        source_repo: Option<String>,
        /// Source revision to record in the manifest
        #[arg(long)]
        source_revision: Option<String>,
    },
    /// Benchmarks
    Bench {
        #[command(subcommand)]
        bench: Bench,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Size and fidelity of bundles against the f32 checkpoint they came from
    Fidelity {
        /// The f32 Hugging Face checkpoint
        #[arg(long)]
        model: PathBuf,
        /// Bundle directories to measure
        #[arg(long = "bundle", required = true)]
        bundles: Vec<PathBuf>,
        /// Images to embed (default: the real photos in tests/fixtures/images)
        #[arg(long = "image")]
        images: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "cpu")]
        device: DeviceArg,
    },
    /// Time image and text embedding on the CPU and, when available, on wgpu (same inputs, same run)
    Speed {
        /// Model directory (Hugging Face or bundle)
        #[arg(long)]
        model: PathBuf,
        /// Images to embed (default: the real photos in tests/fixtures/images)
        #[arg(long = "image")]
        images: Vec<PathBuf>,
        /// Timed repetitions after one warm-up
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
}

fn main() -> ExitCode {
    // Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid" on every probe when it is unset
    // (containers, CI); give them a private one so stderr stays one line.
    #[cfg(target_os = "linux")]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join(format!("clip-runtime-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            // SAFETY: first thing in main, before any other thread exists.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
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
            let tokenizer = Clip::open_tokenizer(&model)?;
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
        Command::Convert { from, out, precision, source_repo, source_revision } => {
            convert(&from, &out, &precision, source_repo, source_revision)
        }
        Command::Bench { bench: Bench::Speed { model, images, repeat } } => {
            let images = if images.is_empty() { default_bench_images() } else { images };
            fidelity::speed(&model, &images, repeat.max(1))
        }
        Command::Bench { bench: Bench::Fidelity { model, bundles, images, device } } => {
            let images = if images.is_empty() { default_bench_images() } else { images };
            fidelity::run(&model, &bundles, &images, backend(device)?)
        }
    }
}

/// The real photos shipped with the tests, when run from the repository.
fn default_bench_images() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images");
    ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"].iter().map(|f| dir.join(f)).collect()
}

/// Read and preprocess each image; a bad one is reported with its file name.
fn convert(from: &Path, out: &Path, precision: &str, repo: Option<String>, revision: Option<String>) -> Result<serde_json::Value> {
    let precision = Precision::parse(precision)?;
    let mut step = |what: &str| eprintln!("clip convert: {what}");
    step(&format!("reading {}", from.display()));
    let files = HfFiles::read_dir(from)?;
    let tokenizer_json = files.tokenizer_json.clone();
    let recorded = clip::pipeline::read_model_file(from, "source.json")
        .ok()
        .and_then(|json| serde_json::from_slice::<Source>(&json).ok());
    let source = Source {
        repo: repo.or_else(|| recorded.as_ref().and_then(|s| s.repo.clone())),
        revision: revision.or_else(|| recorded.as_ref().and_then(|s| s.revision.clone())),
    };
    step("loading the f32 weights");
    let model = Clip::from_hf(files, Backend::cpu())?;
    let bundle = clip::bundle::convert(model, tokenizer_json, precision, source, &mut step)?;
    step(&format!("writing {}", out.display()));
    bundle.write_dir(out)?;
    let total: u64 = bundle.manifest.files.values().map(|f| f.bytes).sum();
    step(&format!("done: {:.1} MB in all", total as f64 / 1e6));
    Ok(serde_json::to_value(&bundle.manifest.files).unwrap_or_default())
}

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
    Clip::open(&args.model, backend(args.device)?)
}

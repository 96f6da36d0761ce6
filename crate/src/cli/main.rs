//! `clip`: the command-line face of the crate. JSON on stdout; any failure is one line on
//! stderr and a non-zero exit, never a panic trace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod fidelity;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use clip::zero_shot::{Classifier, DEFAULT_TEMPLATE, Label};
use clip::bundle::{Bundle, Precision, Source};
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
    /// model.safetensors or pytorch_model.bin, tokenizer.json, optional preprocessor_config.json)
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
        /// A class name; "happy | smiling" is one class with two names (required unless --preset gives them)
        #[arg(long = "label", required_unless_present = "preset")]
        labels: Vec<String>,
        /// Prompt template with a {} placeholder; several form an ensemble [default: "a photo of a {}."]
        #[arg(long = "template")]
        templates: Vec<String>,
        /// Labels and templates of one of `clip presets` (--label / --template replace its own)
        #[arg(long)]
        preset: Option<String>,
        /// Also give each template's own probabilities: "per_template", [template][label]
        #[arg(long)]
        per_template: bool,
        /// The softmax's scale τ (probabilities are softmax(τ · cosine)) [default: the model's own]
        #[arg(long)]
        scale: Option<f32>,
    },
    /// The CLIP paper's prompt presets, in full: {"presets": [{"name", "title", "source", "labels", "templates"}]}
    Presets,
    /// Rank images by cosine to a text or to another image: {"results": [{"image", "cosine"}, ...]}, highest first
    Search {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long = "image", required = true)]
        images: Vec<PathBuf>,
        /// A text, as typed (no template)
        #[arg(long, conflicts_with = "query_image", required_unless_present = "query_image")]
        query: Option<String>,
        /// An image to find similar ones to
        #[arg(long)]
        query_image: Option<PathBuf>,
    },
    /// Few-shot linear probe beside zero-shot: {"labels", "results": [{"image", "probs", "zero_shot"}, ...]};
    /// with --curve, the k-shot curve: {"zero_shot_accuracy", "curve": [{"k", "mean", "draws": [{"train", "accuracy"}]}]};
    /// with --shift DOMAIN, a probe fitted on DOMAIN's images tested on every domain
    Probe {
        #[command(flatten)]
        model: ModelArgs,
        /// A training example, LABEL=IMAGE (labels keep the order they first appear in)
        #[arg(long = "train", required_unless_present_any = ["curve", "shift"])]
        train: Vec<String>,
        /// An image to classify with the probe and with zero-shot
        #[arg(long = "test", required_unless_present_any = ["curve", "shift"])]
        test: Vec<PathBuf>,
        /// Inverse L2 penalty, as scikit-learn's LogisticRegression(C=...)
        #[arg(long, default_value_t = clip::probe::DEFAULT_C)]
        c: f64,
        /// Zero-shot template(s) for the same labels [default: "a photo of a {}."]
        #[arg(long = "template")]
        templates: Vec<String>,
        /// The k-shot curve over the --labelled images: the probe fitted on k per label, --draws times per k
        #[arg(long, conflicts_with_all = ["train", "test", "shift"], requires = "labelled")]
        curve: bool,
        /// Distribution shift: the probe fitted on this domain's --labelled images (see --domain), tested on every domain
        #[arg(long, conflicts_with_all = ["train", "test"], requires = "labelled")]
        shift: Option<String>,
        /// A labelled image, LABEL=IMAGE, for --curve and --shift
        #[arg(long = "labelled")]
        labelled: Vec<String>,
        /// The domain of each --labelled image, in the same order (photo, drawing, ...), for --shift
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// The labels' order for --curve and --shift (default: as they first appear); it decides the seeded draws
        #[arg(long = "label")]
        labels: Vec<String>,
        /// Images per label of the curve (those a label cannot supply with one left to test are skipped)
        #[arg(long, value_delimiter = ',', default_values_t = clip::curves::DEFAULT_SHOTS)]
        shots: Vec<usize>,
        /// Images per label the --shift probe trains on [default: all but one of the fewest]
        #[arg(long)]
        k: Option<usize>,
        /// Random training sets per k
        #[arg(long, default_value_t = clip::curves::DEFAULT_DRAWS)]
        draws: usize,
        /// Seed of the draws (SplitMix64)
        #[arg(long, default_value_t = clip::curves::DEFAULT_SEED)]
        seed: u64,
    },
    /// The contrastive training batch: image i paired with caption i, {"images", "captions", "cosine", "logits",
    /// "loss_images", "loss_texts", "loss"}, rows images, as CLIPModel(..., return_loss=True)
    Contrast {
        #[command(flatten)]
        model: ModelArgs,
        /// One image-caption pair, IMAGE=CAPTION (at least two)
        #[arg(long = "pair", required = true)]
        pairs: Vec<String>,
        /// An extra caption with no image of its own (a hard negative)
        #[arg(long = "negative")]
        negatives: Vec<String>,
        /// τ in logits = τ · cosine [default: the model's own, exp(logit_scale)]
        #[arg(long)]
        scale: Option<f32>,
    },
    /// Zero-shot accuracy on labelled images as templates are added: {"steps": [{"templates", "accuracy"}]}
    Templates {
        #[command(flatten)]
        model: ModelArgs,
        /// Required: the curve is the only thing this command computes
        #[arg(long, required = true)]
        curve: bool,
        /// A labelled image, LABEL=IMAGE
        #[arg(long = "labelled", required = true)]
        labelled: Vec<String>,
        /// Templates, in the order the curve adds them (or the candidates, with --greedy)
        #[arg(long = "template", required = true)]
        templates: Vec<String>,
        /// Add at each step the template that helps most (the CLIP notebook's forward selection)
        #[arg(long)]
        greedy: bool,
        /// The labels' order (default: as they first appear)
        #[arg(long = "label")]
        labels: Vec<String>,
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
        /// Ship a precomputed zero-shot classifier for this preset (e.g. imagenet: 1000 classes ×
        /// 80 templates, encoded once here with the bundle's own text tower)
        #[arg(long = "classifier")]
        classifiers: Vec<String>,
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
        /// On the CPU, multiply the 8-bit matrices as the page's CPU path does (kept quantized,
        /// on the integer kernel) instead of expanding them to f32 once
        #[arg(long)]
        page_kernel: bool,
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
        Command::Classify { model, images, labels, templates, preset, per_template, scale } => {
            let preset = preset.as_deref().map(clip::presets::find).transpose()?;
            let labels: Vec<Label> = match preset {
                Some(p) if labels.is_empty() => p.labels.clone(),
                _ => labels.iter().map(|l| Label::parse(l)).collect(),
            };
            let templates = match preset {
                _ if !templates.is_empty() => templates,
                Some(p) => p.templates.clone(),
                None => vec![DEFAULT_TEMPLATE.to_string()],
            };
            let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
            clip::zero_shot::class_prompts(&labels, &templates)?;
            let mut clip = load_model(&model)?;
            let pixels = preprocess_images(&clip, &images)?;
            let embeddings = pollster::block_on(clip.embed_pixels(&pixels))?;
            // A bundle's precomputed classifier answers for its preset as given, unless every
            // template's own probabilities are wanted (those need the prompts).
            let precomputed = match preset {
                Some(p) if p.labels == labels && p.templates == templates && !per_template && scale.is_none() => {
                    clip.classifier(&p.name).cloned()
                }
                _ => None,
            };
            let result = match &precomputed {
                Some(classifier) => clip::Classification {
                    labels: labels.clone(),
                    templates: templates.iter().map(|t| t.to_string()).collect(),
                    scores: clip.score_with(&embeddings, &classifier),
                },
                None => {
                    let options = clip::ZeroShotOptions { per_template, scale };
                    pollster::block_on(clip.zero_shot(&embeddings, &labels, &templates, options))?
                }
            };
            let results: Vec<_> = images
                .iter()
                .zip(result.scores)
                .map(|(file, s)| {
                    let mut entry = json!({ "image": file.display().to_string(), "probs": s.probs, "cosine": s.cosine });
                    if let Some(per_template) = s.per_template {
                        entry["per_template"] = json!(per_template);
                    }
                    entry
                })
                .collect();
            Ok(json!({
                "labels": result.labels,
                "templates": result.templates,
                "backend": clip.backend().description,
                "classifier": if precomputed.is_some() { "precomputed" } else { "prompts" },
                "results": results,
            }))
        }
        Command::Presets => Ok(json!({ "presets": clip::presets::all() })),
        Command::Search { model, images, query, query_image } => {
            let mut clip = load_model(&model)?;
            let pixels = preprocess_images(&clip, &images)?;
            let embeddings = pollster::block_on(clip.embed_pixels(&pixels))?;
            let ranked = match (query, query_image) {
                (Some(text), _) => pollster::block_on(clip.search_text(&text, &embeddings))?,
                (None, Some(path)) => {
                    let pixels = preprocess_images(&clip, std::slice::from_ref(&path))?;
                    let query = pollster::block_on(clip.embed_pixels(&pixels))?;
                    clip::search::rank(&query[0], &embeddings)
                }
                (None, None) => return Err(ClipError::Input("give --query or --query-image".into())),
            };
            let results: Vec<_> = ranked
                .iter()
                .map(|(i, cosine)| json!({ "image": images[*i].display().to_string(), "cosine": cosine }))
                .collect();
            Ok(json!({ "backend": clip.backend().description, "results": results }))
        }
        Command::Probe { model, train, test, c, templates, curve, shift, labelled, domains, labels, shots, k, draws, seed } => {
            let sampling = clip::curves::Sampling { draws, seed, c };
            match (curve, shift) {
                (true, _) => shot_curve(&model, &labels, &labelled, &shots, sampling, templates),
                (false, Some(domain)) => domain_shift(&model, &labels, &labelled, &domains, &domain, k, sampling, templates),
                (false, None) => probe(&model, &train, &test, c, templates),
            }
        }
        Command::Contrast { model, pairs, negatives, scale } => contrast(&model, &pairs, &negatives, scale),
        Command::Templates { model, curve: _, labelled, templates, greedy, labels } => template_curve(&model, &labels, &labelled, &templates, greedy),
        Command::Convert { from, out, precision, source_repo, source_revision, classifiers } => {
            convert(&from, &out, &precision, source_repo, source_revision, &classifiers)
        }
        Command::Bench { bench: Bench::Speed { model, images, repeat } } => {
            let images = if images.is_empty() { default_bench_images() } else { images };
            fidelity::speed(&model, &images, repeat.max(1))
        }
        Command::Bench { bench: Bench::Fidelity { model, bundles, images, device, page_kernel } } => {
            let images = if images.is_empty() { default_bench_images() } else { images };
            if page_kernel && !matches!(device, DeviceArg::Cpu) {
                return Err(ClipError::Input("--page-kernel measures the CPU's integer kernel: use it with --device cpu".into()));
            }
            fidelity::run(&model, &bundles, &images, backend(device)?, page_kernel)
        }
    }
}

/// The real photos shipped with the tests, when run from the repository.
fn default_bench_images() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/images");
    ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"].iter().map(|f| dir.join(f)).collect()
}

/// Read and preprocess each image; a bad one is reported with its file name.
fn convert(
    from: &Path,
    out: &Path,
    precision: &str,
    repo: Option<String>,
    revision: Option<String>,
    classifiers: &[String],
) -> Result<serde_json::Value> {
    let precision = Precision::parse(precision)?;
    let presets = classifiers.iter().map(|name| clip::presets::find(name)).collect::<Result<Vec<_>>>()?;
    let mut step = |what: &str| eprintln!("clip convert: {what}");
    step(&format!("reading {}", from.display()));
    let files = HfFiles::read_dir(from)?;
    let tokenizer_json = files.tokenizer_json.clone();
    let recorded = clip::loader::read_model_file(from, "source.json")
        .ok()
        .and_then(|json| serde_json::from_slice::<Source>(&json).ok());
    let source = Source {
        repo: repo.or_else(|| recorded.as_ref().and_then(|s| s.repo.clone())),
        revision: revision.or_else(|| recorded.as_ref().and_then(|s| s.revision.clone())),
    };
    step(&format!("loading the weights from {}", files.weights.file_name()));
    let model = clip::loader::load_hf(files, &Backend::cpu().device)?;
    let mut bundle = clip::bundle::convert(model, tokenizer_json, precision, source, &mut step)?;
    if !presets.is_empty() {
        // With the bundle's own (quantized) text tower, so the classifier equals what encoding
        // the preset prompt by prompt from this bundle gives.
        let text_only = [clip::bundle::TOKENIZER_FILE, clip::bundle::TEXT_FILE]
            .iter()
            .filter_map(|f| bundle.files.get(*f).map(|bytes| (f.to_string(), bytes.clone())))
            .collect();
        let mut text = Clip::from_bundle(Bundle::new(bundle.manifest.clone(), text_only), Backend::cpu())?;
        for preset in presets {
            let templates: Vec<&str> = preset.templates.iter().map(String::as_str).collect();
            let count: usize = preset.labels.iter().map(|l| l.names().len()).sum::<usize>() * templates.len();
            step(&format!("encoding the {} preset's {count} prompts for its classifier", preset.name));
            let started = std::time::Instant::now();
            let classes = pollster::block_on(text.label_embeddings(&preset.labels, &templates))?;
            step(&format!("  {} classes in {:.1} s", classes.len(), started.elapsed().as_secs_f64()));
            bundle.add_classifier(&Classifier { preset: preset.name.clone(), templates: templates.len(), classes })?;
        }
    }
    step(&format!("writing {}", out.display()));
    bundle.write_dir(out)?;
    let total: u64 = bundle.manifest.files.values().map(|f| f.bytes).sum();
    step(&format!("done: {:.1} MB in all", total as f64 / 1e6));
    Ok(serde_json::to_value(&bundle.manifest.files).unwrap_or_default())
}

/// `LABEL=IMAGE` arguments → the labels (`order` first, then any others in first-seen order),
/// each image's class index, the images.
fn labelled_images(flag: &str, order: &[String], examples: &[String]) -> Result<(Vec<String>, Vec<usize>, Vec<PathBuf>)> {
    let mut labels: Vec<String> = order.iter().map(|l| l.trim().to_string()).collect();
    let mut classes = Vec::new();
    let mut images = Vec::new();
    for example in examples {
        let (label, image) = example
            .split_once('=')
            .map(|(l, i)| (l.trim(), i))
            .filter(|(l, i)| !l.is_empty() && !i.is_empty())
            .ok_or_else(|| ClipError::Input(format!("{flag} wants LABEL=IMAGE, not {example:?}")))?;
        let class = match labels.iter().position(|l| l == label) {
            Some(class) => class,
            None => {
                labels.push(label.to_string());
                labels.len() - 1
            }
        };
        classes.push(class);
        images.push(PathBuf::from(image));
    }
    Ok((labels, classes, images))
}

/// The zero-shot labels (one name each) and templates (default: the one), checked before any model work.
fn zero_shot_setup(labels: &[String], templates: Vec<String>) -> Result<(Vec<Label>, Vec<String>)> {
    let templates = if templates.is_empty() { vec![DEFAULT_TEMPLATE.to_string()] } else { templates };
    let zero_shot_labels: Vec<Label> = labels.iter().map(|l| Label::Name(l.clone())).collect();
    let refs: Vec<&str> = templates.iter().map(String::as_str).collect();
    clip::zero_shot::class_prompts(&zero_shot_labels, &refs)?;
    Ok((zero_shot_labels, templates))
}

fn shot_curve(
    model: &ModelArgs,
    order: &[String],
    labelled: &[String],
    shots: &[usize],
    sampling: clip::curves::Sampling,
    templates: Vec<String>,
) -> Result<serde_json::Value> {
    let (labels, truth, images) = labelled_images("--labelled", order, labelled)?;
    let (zero_shot_labels, templates) = zero_shot_setup(&labels, templates)?;
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
    let mut clip = load_model(model)?;
    let embeddings = pollster::block_on(clip.embed_pixels(&preprocess_images(&clip, &images)?))?;
    let right = pollster::block_on(clip.zero_shot_right(&embeddings, &truth, &zero_shot_labels, &templates))?;
    let curve = clip::curves::shot_curve(&embeddings, &truth, labels.len(), &right, shots, sampling)?;
    let names: Vec<String> = images.iter().map(|p| p.display().to_string()).collect();
    let points: Vec<_> = curve
        .curve
        .iter()
        .map(|p| {
            let draws: Vec<_> = p
                .draws
                .iter()
                .map(|d| json!({ "train": d.train.iter().map(|&i| &names[i]).collect::<Vec<_>>(), "accuracy": d.accuracy }))
                .collect();
            json!({ "k": p.k, "mean": p.mean, "min": p.min, "max": p.max, "draws": draws })
        })
        .collect();
    Ok(json!({
        "labels": labels,
        "templates": templates,
        "c": sampling.c,
        "seed": sampling.seed,
        "zero_shot_accuracy": curve.zero_shot_accuracy,
        "overtakes_at": curve.overtakes_at,
        "skipped": curve.skipped,
        "curve": points,
    }))
}

#[allow(clippy::too_many_arguments)]
fn domain_shift(
    model: &ModelArgs,
    order: &[String],
    labelled: &[String],
    domains: &[String],
    train_domain: &str,
    k: Option<usize>,
    sampling: clip::curves::Sampling,
    templates: Vec<String>,
) -> Result<serde_json::Value> {
    let (labels, truth, images) = labelled_images("--labelled", order, labelled)?;
    if domains.len() != images.len() {
        return Err(ClipError::Input(format!("give one --domain per --labelled image ({} images, {} domains)", images.len(), domains.len())));
    }
    let (zero_shot_labels, templates) = zero_shot_setup(&labels, templates)?;
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
    let mut clip = load_model(model)?;
    let embeddings = pollster::block_on(clip.embed_pixels(&preprocess_images(&clip, &images)?))?;
    let right = pollster::block_on(clip.zero_shot_right(&embeddings, &truth, &zero_shot_labels, &templates))?;
    let shift = clip::curves::domain_shift(&embeddings, &truth, labels.len(), domains, &right, train_domain, k, sampling)?;
    let mut out = serde_json::to_value(&shift).unwrap_or_default();
    out["labels"] = json!(labels);
    out["templates"] = json!(templates);
    Ok(out)
}

fn contrast(model: &ModelArgs, pairs: &[String], negatives: &[String], scale: Option<f32>) -> Result<serde_json::Value> {
    let mut images = Vec::new();
    let mut captions: Vec<&str> = Vec::new();
    for pair in pairs {
        let (image, caption) = pair
            .split_once('=')
            .filter(|(i, _)| !i.is_empty())
            .ok_or_else(|| ClipError::Input(format!("--pair wants IMAGE=CAPTION, not {pair:?}")))?;
        images.push(PathBuf::from(image));
        captions.push(caption);
    }
    if images.len() < 2 {
        return Err(ClipError::Input("a training batch needs at least two --pair IMAGE=CAPTION".into()));
    }
    captions.extend(negatives.iter().map(String::as_str));
    let mut clip = load_model(model)?;
    let embeddings = pollster::block_on(clip.embed_pixels(&preprocess_images(&clip, &images)?))?;
    let batch = pollster::block_on(clip.contrast(&embeddings, &captions, scale))?;
    Ok(json!({
        "images": images.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "captions": captions,
        "scale": batch.scale,
        "cosine": batch.cosine,
        "logits": batch.logits,
        "image_to_text": batch.image_to_text,
        "text_to_image": batch.text_to_image,
        "loss_images": batch.loss_images,
        "loss_texts": batch.loss_texts,
        "loss": batch.loss,
        "wrong_images": batch.wrong_images,
        "wrong_captions": batch.wrong_captions,
    }))
}

fn template_curve(model: &ModelArgs, order: &[String], labelled: &[String], templates: &[String], greedy: bool) -> Result<serde_json::Value> {
    let (labels, truth, images) = labelled_images("--labelled", order, labelled)?;
    let (zero_shot_labels, templates) = zero_shot_setup(&labels, templates.to_vec())?;
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();
    let mut clip = load_model(model)?;
    let embeddings = pollster::block_on(clip.embed_pixels(&preprocess_images(&clip, &images)?))?;
    let steps = pollster::block_on(clip.template_curve(&embeddings, &truth, &zero_shot_labels, &templates, greedy))?;
    let steps: Vec<_> = steps
        .iter()
        .map(|s| json!({ "templates": s.templates.iter().map(|&t| templates[t]).collect::<Vec<_>>(), "accuracy": s.accuracy, "mean_true_prob": s.mean_true_prob }))
        .collect();
    Ok(json!({ "labels": labels, "greedy": greedy, "steps": steps }))
}

fn probe(model: &ModelArgs, train: &[String], test: &[PathBuf], c: f64, templates: Vec<String>) -> Result<serde_json::Value> {
    let (labels, classes, train_images) = labelled_images("--train", &[], train)?;
    let (zero_shot_labels, templates) = zero_shot_setup(&labels, templates)?;
    let templates: Vec<&str> = templates.iter().map(String::as_str).collect();

    let mut clip = load_model(model)?;
    let train_embeddings = pollster::block_on(clip.embed_pixels(&preprocess_images(&clip, &train_images)?))?;
    let test_embeddings = pollster::block_on(clip.embed_pixels(&preprocess_images(&clip, test)?))?;
    let examples: Vec<_> = classes.into_iter().zip(train_embeddings).collect();
    let fitted = clip::probe::fit(&examples, labels.len(), c)?;
    let zero_shot = pollster::block_on(clip.zero_shot(&test_embeddings, &zero_shot_labels, &templates, Default::default()))?;
    let results: Vec<_> = test
        .iter()
        .zip(&test_embeddings)
        .zip(zero_shot.scores)
        .map(|((file, embedding), scores)| {
            json!({ "image": file.display().to_string(), "probs": fitted.predict(embedding), "zero_shot": scores.probs })
        })
        .collect();
    Ok(json!({ "labels": labels, "c": c, "templates": templates, "iterations": fitted.iterations, "results": results }))
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

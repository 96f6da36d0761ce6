//! Hugging Face checkpoint → `clip convert` bundle → the same answers: within the core
//! thresholds for f32 and f16, cosine ≥ 0.99 for q8; on the CPU and on wgpu. Every corrupt
//! bundle is refused with one line naming the file.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use clip::bundle::{Bundle, Manifest, Towers, sha256_hex};
use clip::{Backend, Clip};
use common::*;

fn convert(from: &Path, out: &Path, precision: &str) {
    let status = Command::new(clip_bin())
        .args(["convert", "--from", from.to_str().unwrap(), "--out", out.to_str().unwrap(), "--precision", precision])
        .output()
        .expect("run clip convert");
    assert!(status.status.success(), "convert failed: {}", String::from_utf8_lossy(&status.stderr));
}

fn check_bundle(model: &Path, bundle: &Path, backend: Backend, text_min: f32, image_min: f32, prob_tol: Option<f32>) {
    let r = reference(model);
    let name = format!("{} on {}", bundle.display(), backend.description);
    let mut clip = Clip::open(bundle, backend).expect("bundle loads");
    let prompts: Vec<&str> = r.prompts.iter().map(String::as_str).collect();
    assert_eq!(clip.tokenize(&prompts).unwrap(), r.token_ids, "{name}: token ids");
    let texts = pollster::block_on(clip.embed_texts(&prompts)).unwrap();
    for (ours, theirs) in texts.iter().zip(&r.text_embeds) {
        let c = cosine(ours, theirs);
        assert!(c >= text_min, "{name}: text cosine {c}");
        if prob_tol.is_some() {
            let ratio = norm(ours) / norm(theirs);
            assert!((ratio - 1.0).abs() <= 1e-3, "{name}: text norm ratio {ratio}");
        }
    }
    let files: Vec<Vec<u8>> = r.images.iter().map(|i| std::fs::read(image(&i.file)).unwrap()).collect();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let images = pollster::block_on(clip.embed_images(&refs)).unwrap();
    for (ours, theirs) in images.iter().zip(&r.images) {
        let c = cosine(ours, &theirs.embed);
        assert!(c >= image_min, "{name}: {} image cosine {c}", theirs.file);
    }
    if let Some(tol) = prob_tol {
        let labels: Vec<&str> = r.labels.iter().map(String::as_str).collect();
        let templates: Vec<&str> = r.templates.iter().map(String::as_str).collect();
        let result = pollster::block_on(clip.classify_embeddings(&images, &labels, &templates)).unwrap();
        for (scores, theirs) in result.scores.iter().zip(&r.images) {
            let d = max_abs_diff(&scores.probs, &theirs.zero_shot_probs);
            assert!(d <= tol, "{name}: {} probs differ by {d}", theirs.file);
        }
    }
}

fn bundles(tmp: &Path) -> (PathBuf, Vec<(String, PathBuf)>) {
    let model = fixture("tiny-quickgelu");
    let out = ["f32", "f16", "q8", "q4"]
        .iter()
        .map(|p| {
            let dir = tmp.join(p);
            convert(&model, &dir, p);
            (p.to_string(), dir)
        })
        .collect();
    (model, out)
}

#[test]
fn bundles_match_transformers_on_cpu_and_wgpu() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, bundles) = bundles(tmp.path());
    let mut backends = vec![Backend::cpu()];
    backends.extend(wgpu_backend());
    for backend in backends {
        for (precision, dir) in &bundles {
            match precision.as_str() {
                "f32" | "f16" => check_bundle(&model, dir, backend.clone(), 0.9999, 0.999, Some(1e-3)),
                "q8" => check_bundle(&model, dir, backend.clone(), 0.99, 0.99, None),
                // 4-bit: loads and runs everywhere; its fidelity is reported by bench fidelity.
                _ => check_bundle(&model, dir, backend.clone(), 0.5, 0.5, None),
            }
        }
    }
}

#[test]
fn bundles_load_from_memory_and_one_tower_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q8");
    convert(&fixture("tiny-quickgelu"), &dir, "q8");
    // The browser path: bytes, no filesystem.
    let manifest = Manifest::parse(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut files = BTreeMap::new();
    for name in ["text.bpk", "tokenizer.json"] {
        files.insert(name.to_string(), clip::bundle::file_bytes(&std::fs::read(dir.join(name)).unwrap()));
    }
    let mut text_only = Clip::from_bundle(Bundle::new(manifest, files), Backend::cpu()).unwrap();
    assert_eq!(pollster::block_on(text_only.embed_texts(&["a photo of a cat."])).unwrap().len(), 1);
    let err = pollster::block_on(text_only.embed_images(&[&std::fs::read(image("chelsea.png")).unwrap()])).unwrap_err();
    assert_eq!(err.to_string(), "this model was loaded without its vision tower");
    let both = Clip::from_bundle(Bundle::read_dir(&dir, Towers::BOTH).unwrap(), Backend::cpu());
    assert!(both.is_ok());
}

fn fails(bundle: &Path, expect: &str) {
    let out = Command::new(clip_bin())
        .args(["classify", "--model", bundle.to_str().unwrap(), "--image"])
        .arg(image("chelsea.png"))
        .args(["--label", "cat"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{} should be refused", bundle.display());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expect), "expected {expect:?} in {stderr:?}");
}

fn copy_bundle(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(path, json.to_string()).unwrap();
}

#[test]
fn corrupt_bundles_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    convert(&fixture("tiny-quickgelu"), &good, "f16");

    let flipped = tmp.path().join("flipped");
    copy_bundle(&good, &flipped);
    let mut bytes = std::fs::read(flipped.join("vision.bpk")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(flipped.join("vision.bpk"), bytes).unwrap();
    fails(&flipped, "vision.bpk does not match its sha256 in manifest.json");

    let truncated = tmp.path().join("truncated");
    copy_bundle(&good, &truncated);
    let bytes = std::fs::read(truncated.join("text.bpk")).unwrap();
    std::fs::write(truncated.join("text.bpk"), &bytes[..bytes.len() - 100]).unwrap();
    fails(&truncated, "text.bpk is");
    fails(&truncated, "the file is truncated");

    let future = tmp.path().join("future");
    copy_bundle(&good, &future);
    edit_manifest(&future, |m| m["format_version"] = 99.into());
    fails(&future, "manifest.json has format version 99");

    let missing = tmp.path().join("missing");
    copy_bundle(&good, &missing);
    std::fs::remove_file(missing.join("tokenizer.json")).unwrap();
    fails(&missing, "has no tokenizer.json");

    // A tower from another model, with a manifest that vouches for its bytes.
    let other = tmp.path().join("other");
    convert(&fixture("tiny-gelu"), &other, "f16");
    let swapped = tmp.path().join("swapped");
    copy_bundle(&good, &swapped);
    let foreign = std::fs::read(other.join("text.bpk")).unwrap();
    std::fs::write(swapped.join("text.bpk"), &foreign).unwrap();
    edit_manifest(&swapped, |m| {
        m["files"]["text.bpk"]["bytes"] = foreign.len().into();
        m["files"]["text.bpk"]["sha256"] = sha256_hex(&foreign).into();
    });
    fails(&swapped, "text.bpk belongs to another model than manifest.json");

    let garbage = tmp.path().join("garbage");
    copy_bundle(&good, &garbage);
    std::fs::write(garbage.join("manifest.json"), b"{\"format\": 3").unwrap();
    fails(&garbage, "manifest.json is not a valid bundle manifest");
}

/// The page hands `loadBundle` each file's sha256 from the browser's WebCrypto: a digest given
/// for a file stands in for hashing it, so it must be checked as strictly (the right digest
/// loads, in either case of hex; a wrong one, or a right one with the wrong length, is refused
/// naming the file), and files without one are still hashed.
#[test]
fn digests_computed_elsewhere_are_checked_like_hashing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q8");
    convert(&fixture("tiny-quickgelu"), &dir, "q8");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let manifest = Manifest::parse(&read("manifest.json")).unwrap();
    let files = |names: &[&str]| {
        names.iter().map(|n| (n.to_string(), clip::bundle::file_bytes(&read(n)))).collect::<BTreeMap<_, _>>()
    };
    let all = ["vision.bpk", "text.bpk", "tokenizer.json"];
    let digests = |edit: &dyn Fn(&str, String) -> String| {
        all.iter().map(|n| (n.to_string(), edit(n, sha256_hex(&read(n))))).collect::<BTreeMap<_, _>>()
    };
    let load = |files, sha256| Clip::from_bundle(Bundle::new(manifest.clone(), files).with_sha256(sha256), Backend::cpu());

    assert!(load(files(&all), digests(&|_, d| d)).is_ok());
    assert!(load(files(&all), digests(&|_, d| d.to_uppercase())).is_ok());
    // Only the tokenizer's digest given: the towers are hashed, and a flipped byte still fails.
    let mut flipped = files(&["text.bpk", "tokenizer.json"]);
    let mut text = read("text.bpk");
    text[1000] ^= 1;
    flipped.insert("text.bpk".into(), clip::bundle::file_bytes(&text));
    let only_tokenizer = digests(&|_, d| d).into_iter().filter(|(n, _)| n == "tokenizer.json").collect();
    let err = load(flipped, only_tokenizer).err().expect("a flipped byte is refused");
    assert!(err.to_string().contains("text.bpk does not match its sha256"), "{err}");
    // A wrong digest for good bytes.
    let other_last = |d: String| format!("{}{}", &d[..63], if d.ends_with('0') { '1' } else { '0' });
    let wrong = digests(&|n, d| if n == "vision.bpk" { other_last(d) } else { d });
    let err = load(files(&all), wrong).err().expect("a wrong digest is refused");
    assert!(err.to_string().contains("vision.bpk does not match its sha256"), "{err}");
    // A right digest does not excuse a wrong length.
    let mut short = files(&all);
    let vision = read("vision.bpk");
    short.insert("vision.bpk".into(), clip::bundle::file_bytes(&vision[..vision.len() - 4]));
    let err = load(short, digests(&|_, d| d)).err().expect("a truncated file is refused");
    assert!(err.to_string().contains("vision.bpk is"), "{err}");
}

/// On the CPU's integer kernel the patch convolution runs as one matmul of the image's patches by
/// the kernel's matrix, still 8-bit: its blocks along the kernel width kept exactly, as scales
/// down each column. The patch embeddings must be the convolution's (burn's f32 convolution of
/// the expanded kernel) within the rounding of the activations to 16 bits.
#[test]
fn the_patch_matrix_gives_the_convolution_s_patch_embeddings() {
    use burn::tensor::{Distribution, Tensor};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q8");
    convert(&fixture("tiny-quickgelu"), &dir, "q8");
    let read = |name: &str| clip::bundle::file_bytes(&std::fs::read(dir.join(name)).unwrap());
    let manifest = Manifest::parse(&read("manifest.json")[..]).unwrap();
    let files = BTreeMap::from([("vision.bpk".to_string(), read("vision.bpk"))]);
    // As the page loads it: the matrices kept quantized for the integer kernel.
    let backend = Backend::cpu();
    let bundle = Bundle::new(manifest, files).on_integer_kernel();
    let loaded = bundle.load_towers(&backend).unwrap();
    let image_size = loaded.config.vision.image_size;
    let tower = loaded.vision.unwrap();
    let matrix = tower.vision_model.embeddings.patch_matrix.clone().expect("a quantized kernel becomes a matrix");
    let mut convolving = tower.clone();
    convolving.vision_model.embeddings.patch_matrix = None;

    let kernel = tower.vision_model.embeddings.patch_embedding.weight.val().dequantize();
    let [hidden, channels, p, _] = kernel.dims();
    assert_eq!(matrix.dims(), [channels * p * p, hidden]);
    // Each output's error bound: half a step of its patch's activations (the patch's peak over
    // 32767 levels) times the column's weight mass, plus f32 rounding.
    let weights: Vec<f32> = kernel.reshape([hidden, channels * p * p]).into_data().to_vec().unwrap();
    let size = 2 * p + 3 * p;
    let pixels = Tensor::<4>::random([2, channels, size, size], Distribution::Uniform(-2.0, 2.0), &backend.device);
    let data: Vec<f32> = pixels.clone().into_data().to_vec().unwrap();
    let ours: Vec<f32> = tower.embed_patches(pixels.clone()).into_data().to_vec().unwrap();
    let theirs: Vec<f32> = convolving.embed_patches(pixels).into_data().to_vec().unwrap();
    let (grid, k) = (size / p, channels * p * p);
    for b in 0..2 {
        for (gy, gx) in (0..grid).flat_map(|y| (0..grid).map(move |x| (y, x))) {
            let patch: Vec<f32> = (0..k)
                .map(|i| {
                    let (c, y, x) = (i / (p * p), i / p % p, i % p);
                    data[((b * channels + c) * size + gy * p + y) * size + gx * p + x]
                })
                .collect();
            let peak = patch.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            for col in 0..hidden {
                let w = &weights[col * k..(col + 1) * k];
                let mass: f32 = w.iter().map(|v| v.abs()).sum();
                let terms: f32 = w.iter().zip(&patch).map(|(w, x)| (w * x).abs()).sum();
                let bound = 0.5 * peak / 32767.0 * mass + 1e-5 * terms + 1e-6;
                let at = (b * grid * grid + gy * grid + gx) * hidden + col;
                let error = (ours[at] - theirs[at]).abs();
                assert!(error <= bound, "image {b}, patch ({gy}, {gx}), column {col}: {error} > {bound}");
            }
        }
    }
    // Through the whole tower, the same features.
    let pixels = Tensor::<4>::random([1, channels, image_size, image_size], Distribution::Uniform(-2.0, 2.0), &backend.device);
    let a: Vec<f32> = tower.forward(pixels.clone()).into_data().to_vec().unwrap();
    let b: Vec<f32> = convolving.forward(pixels).into_data().to_vec().unwrap();
    assert!(cosine(&a, &b) >= 0.99999, "cosine {}", cosine(&a, &b));
}

/// `clip bench fidelity --page-kernel` measures the page's CPU arithmetic natively: the q8
/// bundle on the integer kernel (patch matrix included) against the f32 checkpoint, at the
/// threshold the bundle tests hold q8 to; asked of a GPU, it says why not in one line.
#[test]
fn bench_fidelity_measures_the_page_kernel() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q8");
    let model = fixture("tiny-quickgelu");
    convert(&model, &dir, "q8");
    let run = |extra: &[&str]| {
        Command::new(clip_bin())
            .args(["bench", "fidelity", "--model", model.to_str().unwrap(), "--bundle", dir.to_str().unwrap()])
            .args(["--image", image("chelsea.png").to_str().unwrap(), "--image", image("coffee.png").to_str().unwrap()])
            .args(extra)
            .output()
            .expect("run clip bench fidelity")
    };
    let out = run(&["--page-kernel"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["page_kernel"], true);
    let min = report["bundles"][0]["image_cosine"]["min"].as_f64().unwrap();
    assert!(min >= 0.99, "image cosine {min}");
    let refused = run(&["--page-kernel", "--device", "wgpu"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--page-kernel") && said.trim().lines().count() == 1, "{said}");
}

/// The page's CPU path rewrites each tower file's 8-bit Linear weights, in place, in the order
/// its integer kernel streams them (`cpu_weights.rs`), so that no matmul packs them per call.
/// Every such weight of the file is rewritten (and nothing else), the embeddings are the
/// row-major weights' to the bit, and a rewritten file is loaded only by its original digest.
#[test]
fn weights_rewritten_for_the_cpu_kernel_give_the_same_embeddings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q8");
    convert(&fixture("tiny-quickgelu"), &dir, "q8");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let manifest = Manifest::parse(&read("manifest.json")).unwrap();
    let towers = ["vision.bpk", "text.bpk"];
    let digests: BTreeMap<String, String> =
        ["vision.bpk", "text.bpk", "tokenizer.json"].iter().map(|n| (n.to_string(), sha256_hex(&read(n)))).collect();
    let linear = regex_lite::Regex::new(r"(q_proj|k_proj|v_proj|out_proj|fc1|fc2|visual_projection|text_projection)\.weight$").unwrap();
    // Both loads keep the matrices quantized, as the page does; only the order differs.
    let load = |rewrite: bool, sha256: BTreeMap<String, String>| {
        let mut files = BTreeMap::from([("tokenizer.json".to_string(), clip::bundle::file_bytes(&read("tokenizer.json")))]);
        let mut orders = Vec::new();
        for tower in towers {
            let bytes = read(tower);
            let mut rewritten = BTreeSet::new();
            let file = clip::bundle::aligned_file(bytes.len(), |buffer| {
                buffer.copy_from_slice(&bytes);
                if rewrite {
                    rewritten = clip::cpu_weights::rewrite(buffer);
                }
                Ok::<(), std::convert::Infallible>(())
            })
            .unwrap();
            if rewrite {
                let reader = burn::store::burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes)).unwrap();
                let expected: BTreeSet<String> =
                    reader.tensor_names().into_iter().filter(|n| linear.is_match(n)).map(String::from).collect();
                assert!(!expected.is_empty());
                assert_eq!(rewritten, expected, "{tower}: the Linear weights, and only they");
            }
            files.insert(tower.to_string(), file);
            orders.push((tower, rewritten));
        }
        let mut bundle = Bundle::new(manifest.clone(), files).with_sha256(sha256);
        for (tower, rewritten) in orders {
            bundle = bundle.with_cpu_order(tower, rewritten);
        }
        Clip::from_bundle(bundle, Backend::cpu())
    };
    let files: Vec<Vec<u8>> = ["chelsea.png", "coffee.png"].iter().map(|f| std::fs::read(image(f)).unwrap()).collect();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let prompts = ["a photo of a cat.", "a photo of a cup of coffee.", "a diagram"];
    let embed = |mut clip: Clip| {
        let images = pollster::block_on(clip.embed_images(&refs)).unwrap();
        let texts = pollster::block_on(clip.embed_texts(&prompts)).unwrap();
        let bits = |rows: Vec<Vec<f32>>| rows.into_iter().flatten().map(f32::to_bits).collect::<Vec<_>>();
        (bits(images), bits(texts))
    };
    let row_major = embed(load(false, digests.clone()).unwrap());
    let rewritten = embed(load(true, digests.clone()).unwrap());
    assert_eq!(rewritten.0, row_major.0, "image embeddings");
    assert_eq!(rewritten.1, row_major.1, "text embeddings");
    // The rewritten bytes no longer hash to the manifest's digest: without the original one,
    // the file is refused, naming it.
    let err = load(true, BTreeMap::new()).err().expect("a rewritten file without its digest is refused");
    assert!(err.to_string().contains(".bpk was rewritten for the CPU"), "{err}");
    // A file that is not a burnpack file is left alone.
    let mut noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let before = noise.clone();
    assert!(clip::cpu_weights::rewrite(&mut noise).is_empty());
    assert_eq!(noise, before);
    let mut truncated = read("vision.bpk");
    truncated.truncate(truncated.len() / 2);
    let _ = clip::cpu_weights::rewrite(&mut truncated);
}

/// `clip convert --classifier imagenet` ships ImageNet's 1000 × 80 zero-shot classifier; scoring
/// with it equals encoding the same preset prompt by prompt with the bundle's own text tower
/// (within 1e-3), the CLI uses it for `--preset imagenet`, and a damaged classifier file is refused.
#[test]
fn a_precomputed_preset_classifier_equals_encoding_its_prompts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("with-classifier");
    let status = Command::new(clip_bin())
        .args(["convert", "--from", fixture("tiny-quickgelu").to_str().unwrap(), "--out", dir.to_str().unwrap(), "--classifier", "imagenet"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let manifest = Manifest::parse(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let entry = &manifest.classifiers[0];
    assert_eq!((entry.preset.as_str(), entry.classes, entry.templates), ("imagenet", 1000, 80));
    assert_eq!(manifest.files[&entry.file].bytes, (1000 * manifest.config.projection_dim * 2) as u64, "f16");

    let preset = clip::presets::find("imagenet").unwrap();
    let templates: Vec<&str> = preset.templates.iter().map(String::as_str).collect();
    let photos: Vec<Vec<u8>> = ["chelsea.png", "astronaut.png", "coffee.png", "rocket.jpg"].iter().map(|f| std::fs::read(image(f)).unwrap()).collect();
    let photos: Vec<&[u8]> = photos.iter().map(Vec::as_slice).collect();
    let mut clip = Clip::open(&dir, Backend::cpu()).unwrap();
    let images = pollster::block_on(clip.embed_images(&photos)).unwrap();
    let classifier = clip.classifier("imagenet").expect("the bundle's classifier").clone();
    let fast = clip.score_with(&images, &classifier);
    let slow = pollster::block_on(clip.zero_shot(&images, &preset.labels, &templates, Default::default())).unwrap();
    for (f, s) in fast.iter().zip(&slow.scores) {
        let d = max_abs_diff(&f.probs, &s.probs);
        assert!(d <= 1e-3, "precomputed vs prompt by prompt: probabilities differ by {d}");
        assert_eq!(clip::zero_shot::top_k(&f.probs, 1)[0].0, clip::zero_shot::top_k(&s.probs, 1)[0].0);
    }
    // The page's top 5 (Clip::preset_top): the classifier's five best, named by the preset.
    let top = clip.preset_top("imagenet", &images, 5).unwrap();
    assert_eq!((top.templates, top.classes, top.results.len()), (80, 1000, images.len()));
    for (shown, scores) in top.results.iter().zip(&fast) {
        let best = clip::zero_shot::top_k(&scores.probs, 5);
        assert_eq!(shown.iter().map(|t| (t.index, t.prob)).collect::<Vec<_>>(), best);
        for t in shown {
            assert_eq!(t.label, preset.labels[t.index].display());
        }
    }
    let missing = clip.preset_top("food101", &images, 5).unwrap_err().to_string();
    assert!(missing.contains("no precomputed food101 classifier"), "{missing}");

    let out = Command::new(clip_bin())
        .args(["classify", "--model", dir.to_str().unwrap(), "--image", image("chelsea.png").to_str().unwrap(), "--preset", "imagenet"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["classifier"], "precomputed");
    let probs: Vec<f32> = serde_json::from_value(json["results"][0]["probs"].clone()).unwrap();
    assert!(max_abs_diff(&probs, &fast[0].probs) <= 1e-6);

    let damaged = tmp.path().join("damaged");
    copy_bundle(&dir, &damaged);
    let mut bytes = std::fs::read(damaged.join(&entry.file)).unwrap();
    bytes[10] ^= 0x40;
    std::fs::write(damaged.join(&entry.file), bytes).unwrap();
    fails(&damaged, "classifier-imagenet.f16 does not match its sha256 in manifest.json");
}

/// Two checkpoints with the same architecture but different weights (two fine-tunes) convert to
/// bundles with different ids, so a tower of one can never load under the other's manifest;
/// converting the same checkpoint twice gives the same id.
#[test]
fn a_bundle_id_depends_on_the_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let source = fixture("tiny-quickgelu");
    let tuned = tmp.path().join("fine-tuned");
    std::fs::create_dir(&tuned).unwrap();
    for f in ["config.json", "preprocessor_config.json", "tokenizer.json"] {
        std::fs::copy(source.join(f), tuned.join(f)).unwrap();
    }
    // One weight nudged, everything else identical.
    let bytes = std::fs::read(source.join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> =
        file.tensors().into_iter().map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    let (_, _, _, data) = tensors.iter_mut().find(|(k, ..)| k == "text_projection.weight").unwrap();
    let first = f32::from_le_bytes([data[0], data[1], data[2], data[3]]) + 0.25;
    data[..4].copy_from_slice(&first.to_le_bytes());
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(k, d, s, data)| (k.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), data).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, &tuned.join("model.safetensors")).unwrap();

    let id = |from: &Path, name: &str| {
        let out = tmp.path().join(name);
        convert(from, &out, "q8");
        Manifest::parse(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap().bundle_id
    };
    let (a, again, b) = (id(&source, "a"), id(&source, "again"), id(&tuned, "b"));
    assert_eq!(a, again);
    assert_ne!(a, b, "a fine-tune must not share the original's bundle id");
}

#[test]
fn four_bit_bundles_keep_the_most_sensitive_weights_at_eight_bits_and_store_f16_scales() {
    use burn::tensor::DType;
    use burn::tensor::quantization::{QuantValue, ScaleDtype};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q4");
    convert(&fixture("tiny-quickgelu"), &dir, "q4");
    let mut values = BTreeMap::new();
    for file in ["vision.bpk", "text.bpk"] {
        let bytes = burn::tensor::Bytes::from_bytes_vec(std::fs::read(dir.join(file)).unwrap());
        for tensor in burn::store::burn_pack::Reader::from_bytes(bytes).unwrap().into_tensors().unwrap() {
            if let DType::QFloat(scheme) = tensor.dtype {
                values.insert(tensor.name.clone(), scheme.value);
                // 4-bit scales are stored in f16 (widened on load), 8-bit ones in f32.
                let scales = if scheme.value == QuantValue::Q4S { ScaleDtype::F16 } else { ScaleDtype::F32 };
                assert_eq!(scheme.scale_dtype(), scales, "{}", tensor.name);
            }
        }
    }
    let eight_bit = |name: &str| {
        name.ends_with("patch_embedding.weight")
            || name.ends_with("projection.weight")
            || (name.starts_with("vision_model.") && (name.ends_with("v_proj.weight") || name.ends_with("out_proj.weight")))
            || name.starts_with("vision_model.encoder.layers.0.mlp.")
    };
    let vision_layers = values.keys().filter(|n| n.starts_with("vision_model.") && n.ends_with("q_proj.weight")).count();
    assert!(vision_layers >= 2, "{values:?}");
    assert_eq!(values.keys().filter(|n| eight_bit(n)).count(), 3 + 2 * vision_layers + 2, "{values:?}");
    for (name, value) in &values {
        let expected = if eight_bit(name) { QuantValue::Q8S } else { QuantValue::Q4S };
        assert_eq!(*value, expected, "{name}");
    }
    // Every other matrix is quantized too, at 4 bits: queries and keys, later MLPs, the text
    // tower's layers, the token embedding.
    for name in ["vision_model.encoder.layers.1.mlp.fc1.weight", "vision_model.encoder.layers.0.self_attn.q_proj.weight", "text_model.encoder.layers.0.self_attn.v_proj.weight", "text_model.embeddings.token_embedding.weight"] {
        assert_eq!(values.get(name), Some(&QuantValue::Q4S), "{name}: {values:?}");
    }
}

/// A 4-bit weight comes back from its bundle (values packed, scales stored in f16 and widened on
/// load) within half a quantization step of the checkpoint's: step = the block's largest
/// magnitude / 7, blocks of 32 along burn's last dimension (the Linear's output), plus the f16
/// rounding of the scale (at most 7 × 2^-11 of a step).
#[test]
fn four_bit_weights_load_within_half_a_step_of_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("q4");
    convert(&fixture("tiny-quickgelu"), &dir, "q4");
    let towers = Bundle::read_dir(&dir, Towers::BOTH).unwrap().load_towers(&Backend::cpu()).unwrap();
    // Natively the CPU path expands every weight to f32 once loaded.
    let layer = &towers.vision.unwrap().vision_model.encoder.layers[1];
    let loaded: Vec<f32> = layer.mlp.fc1.weight.val().into_data().to_vec().unwrap();

    let checkpoint = std::fs::read(fixture("tiny-quickgelu").join("model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&checkpoint).unwrap();
    let view = tensors.tensor("vision_model.encoder.layers.1.mlp.fc1.weight").unwrap();
    assert_eq!(view.dtype(), safetensors::Dtype::F32);
    let original: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let (outputs, inputs) = (view.shape()[0], view.shape()[1]);
    assert_eq!(outputs % 32, 0);
    let (mut worst, mut changed) = (0f32, 0);
    for input in 0..inputs {
        for block in (0..outputs).step_by(32) {
            // transformers stores [out, in]; burn [in, out].
            let weight = |output: usize| original[output * inputs + input];
            let absmax = (block..block + 32).map(|o| weight(o).abs()).fold(0f32, f32::max);
            let half_step = absmax / 7.0 / 2.0;
            for output in block..block + 32 {
                let error = (loaded[input * outputs + output] - weight(output)).abs();
                worst = worst.max(error / half_step);
                changed += usize::from(error > 0.0);
            }
        }
    }
    eprintln!("largest error {worst:.4} of half a step; {changed} of {} values moved", loaded.len());
    assert!(worst <= 1.0 + 7.0 / 2048.0 * 2.0, "a value is {worst} half-steps away: its scale is wrong");
    assert!(changed > loaded.len() / 2, "the weights were not quantized to 4 bits");
}

/// The text tower runs a batch as one prompt tree (shared starts computed once). A prompt's
/// features must not depend on which other prompts share its call: in a tree with others, they
/// equal those of the prompt run alone, to float rounding, on every backend and precision.
#[test]
fn prompts_sharing_a_tree_match_each_prompt_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let prompts = [
        "a photo of a cat.",
        "a photo of a dog.",
        "a photo of a tabby cat.",
        "a photo of a cat, a type of pet.",
        "a blurry photo of a cat.",
        "itap of a dog.",
        "a photo of a cat.", // twice in one call
        "a centered satellite photo of an annual crop land.",
    ];
    let mut backends = vec![Backend::cpu()];
    backends.extend(wgpu_backend());
    for precision in ["f32", "q8"] {
        let dir = tmp.path().join(precision);
        convert(&fixture("tiny-quickgelu"), &dir, precision);
        for backend in &backends {
            let mut clip = Clip::open(&dir, backend.clone()).unwrap();
            let together = pollster::block_on(clip.embed_texts(&prompts)).unwrap();
            let mut worst = 0f32;
            for (prompt, shared) in prompts.iter().zip(&together) {
                clip.clear_text_cache();
                let alone = &pollster::block_on(clip.embed_texts(&[prompt])).unwrap()[0];
                worst = worst.max(max_abs_diff(shared, alone) / norm(alone));
            }
            eprintln!("{precision} on {}: largest difference {worst:e} of the norm", backend.description);
            assert!(worst <= 1e-6, "{precision} on {}: a prompt in a tree differs from alone by {worst:e} of its norm", backend.description);
            assert_eq!(together[0], together[6]);
        }
    }
}

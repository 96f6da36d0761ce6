//! The `clip` binary end to end: its JSON agrees with transformers, and every bad input ends in
//! one clear line on stderr with a non-zero exit.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn clip(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(clip_bin()).args(args).output().expect("run clip");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn ok_json(args: &[&str]) -> Value {
    let (ok, stdout, stderr) = clip(args);
    assert!(ok, "clip {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).expect("stdout is JSON")
}

/// Fails with exactly one line on stderr that contains `expect`, and nothing on stdout.
fn fails_cleanly(args: &[&str], expect: &str) {
    let (ok, stdout, stderr) = clip(args);
    assert!(!ok, "clip {args:?} should fail");
    assert!(stdout.is_empty(), "clip {args:?} printed to stdout: {stdout}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "clip {args:?}: stderr is not one line: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{stderr}");
    assert!(stderr.contains(expect), "clip {args:?}: expected {expect:?} in {stderr:?}");
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn tokenize_matches_transformers() {
    let dir = fixture("tiny-quickgelu");
    let r = reference(&dir);
    let mut args = vec!["tokenize", "--model", s(&dir)];
    args.extend(r.prompts.iter().map(String::as_str));
    let out = ok_json(&args);
    let ids: Vec<Vec<u32>> = serde_json::from_value(out["ids"].clone()).unwrap();
    assert_eq!(ids, r.token_ids);
}

#[test]
fn embed_and_classify_match_transformers() {
    for dir in reference_models() {
        let r = reference(&dir);
        let files: Vec<PathBuf> = r.images.iter().take(4).map(|i| image(&i.file)).collect();
        let mut args = vec!["embed", "--model", s(&dir)];
        for f in &files {
            args.extend(["--image", s(f)]);
        }
        args.extend(["--text", &r.prompts[0], "--text", &r.prompts[3]]);
        let out = ok_json(&args);
        for (ours, theirs) in out["images"].as_array().unwrap().iter().zip(&r.images) {
            assert!(cosine(&floats(ours), &theirs.embed) >= 0.999);
        }
        for (ours, theirs) in out["texts"].as_array().unwrap().iter().zip([&r.text_embeds[0], &r.text_embeds[3]]) {
            assert!(cosine(&floats(ours), theirs) >= 0.9999);
        }

        // Default template, then the ensemble of all reference templates.
        let mut args = vec!["classify", "--model", s(&dir)];
        for f in &files {
            args.extend(["--image", s(f)]);
        }
        for l in &r.labels {
            args.extend(["--label", l]);
        }
        let out = ok_json(&args);
        assert_eq!(out["labels"].as_array().unwrap().len(), r.labels.len());
        for (result, theirs) in out["results"].as_array().unwrap().iter().zip(&r.images) {
            assert!(result["image"].as_str().unwrap().ends_with(&theirs.file));
            assert!(max_abs_diff(&floats(&result["probs"]), &theirs.default_template_probs) <= 1e-3);
        }
        for t in &r.templates {
            args.extend(["--template", t]);
        }
        let out = ok_json(&args);
        for (result, theirs) in out["results"].as_array().unwrap().iter().zip(&r.images) {
            assert!(max_abs_diff(&floats(&result["probs"]), &theirs.zero_shot_probs) <= 1e-3);
            assert!(max_abs_diff(&floats(&result["cosine"]), &theirs.zero_shot_cosine) <= 1e-3);
            assert!(result.get("per_template").is_none());
        }

        // Each template alone: the first reference template is "a photo of a {}.", whose
        // probabilities transformers computed on their own.
        assert_eq!(r.templates[0], clip::zero_shot::DEFAULT_TEMPLATE);
        args.push("--per-template");
        let out = ok_json(&args);
        for (result, theirs) in out["results"].as_array().unwrap().iter().zip(&r.images) {
            assert!(max_abs_diff(&floats(&result["probs"]), &theirs.zero_shot_probs) <= 1e-3);
            let per_template = result["per_template"].as_array().unwrap();
            assert_eq!(per_template.len(), r.templates.len());
            assert!(per_template.iter().all(|p| p.as_array().unwrap().len() == r.labels.len()));
            assert!(max_abs_diff(&floats(&per_template[0]), &theirs.default_template_probs) <= 1e-3);
        }
    }
}

fn classify_image(file: &Path) -> Vec<String> {
    let dir = fixture("tiny-quickgelu");
    vec!["classify".into(), "--model".into(), s(&dir).into(), "--image".into(), s(file).into(), "--label".into(), "cat".into()]
}

fn fails_on_image(file: &Path, expect: &str) {
    let args = classify_image(file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fails_cleanly(&args, expect);
}

#[test]
fn bad_images_fail_with_one_line() {
    fails_on_image(&image("does_not_exist.jpg"), "no such file");
    fails_on_image(&image("empty.png"), "empty");
    fails_on_image(&image("truncated.jpg"), "damaged or truncated");
    fails_on_image(&image("not_an_image.png"), "not an image");
    fails_on_image(&image("bomb.png"), "100000×100000");
    fails_on_image(&fixture("images"), "is a directory");

    // A few hundred bytes of PNG that would resize to 2,240,000×224 pixels.
    let tmp = tempfile::tempdir().unwrap();
    let thin = tmp.path().join("thin.png");
    image::RgbImage::from_pixel(10_000, 1, image::Rgb([200, 30, 30])).save(&thin).unwrap();
    assert!(std::fs::metadata(&thin).unwrap().len() < 2_000);
    fails_on_image(&thin, "10000×1 pixels, more than 100 times longer one way than the other");
}

/// Phones append a video to "motion photos", vendors append trailers: whatever follows the
/// end-of-image marker is not the image, and the image classifies exactly as without it.
#[test]
fn a_jpeg_with_data_after_its_end_classifies_as_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let original = image("rocket.jpg");
    let mut bytes = std::fs::read(&original).unwrap();
    bytes.extend_from_slice(b"\x00\x00\x00\x18ftypmp42");
    bytes.extend(std::iter::repeat_n([0x12u8, 0xFF, 0xDA, 0x33], 64).flatten()); // marker-like bytes, no end
    let trailer = tmp.path().join("motion.jpg");
    std::fs::write(&trailer, &bytes).unwrap();
    let dir = fixture("tiny-quickgelu");
    let run = |f: &Path| ok_json(&["classify", "--model", s(&dir), "--image", s(f), "--label", "rocket", "--label", "cat"]);
    assert_eq!(run(&trailer)["results"][0]["probs"], run(&original)["results"][0]["probs"]);
}

#[test]
fn bad_models_fail_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixture("tiny-quickgelu");
    let copy = |name: &str, skip: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for f in ["config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"] {
            if f != skip {
                std::fs::copy(good.join(f), dir.join(f)).unwrap();
            }
        }
        dir
    };
    let photo = image("chelsea.png");
    let classify = |dir: &Path, expect: &str| {
        fails_cleanly(&["classify", "--model", s(dir), "--image", s(&photo), "--label", "cat"], expect)
    };

    classify(&tmp.path().join("nope"), "is not a model directory");
    classify(&copy("no-weights", "model.safetensors"), "has neither model.safetensors nor pytorch_model.bin");
    classify(&copy("no-config", "config.json"), "has no config.json");

    // A checkpoint whose fc1 has the wrong shape: the message names the tensor and both shapes.
    let dir = copy("wrong-shape", "model.safetensors");
    rewrite_tensor(&good.join("model.safetensors"), &dir.join("model.safetensors"), "text_model.encoder.layers.1.mlp.fc1.weight", true);
    classify(&dir, "text_model.encoder.layers.1.mlp.fc1.weight has shape [63, 16], but config.json needs [64, 16]");

    let dir = copy("missing-tensor", "model.safetensors");
    rewrite_tensor(&good.join("model.safetensors"), &dir.join("model.safetensors"), "vision_model.post_layernorm.weight", false);
    classify(&dir, "has no tensor vision_model.post_layernorm.weight");

    let dir = copy("garbage-weights", "model.safetensors");
    std::fs::write(dir.join("model.safetensors"), b"not a safetensors file").unwrap();
    classify(&dir, "not a valid safetensors file");

    let dir = copy("bad-config", "config.json");
    std::fs::write(dir.join("config.json"), b"{ this is not json").unwrap();
    classify(&dir, "config.json is not a valid CLIP config");

    let dir = copy("bad-tokenizer", "tokenizer.json");
    std::fs::write(dir.join("tokenizer.json"), b"{}").unwrap();
    fails_cleanly(&["tokenize", "--model", s(&dir), "hello"], "tokenizer.json is not a CLIP tokenizer");
}

/// pytorch_model.bin files that must be refused in one sentence, and one whose pickle would run
/// a shell command if Python unpickled it: the reader must refuse it without running anything.
#[test]
fn bad_pytorch_checkpoints_fail_with_one_line_and_run_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixture("tiny-quickgelu-bin");
    let photo = image("chelsea.png");
    let with_weights = |name: &str, weights: &[u8]| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for f in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
            std::fs::copy(good.join(f), dir.join(f)).unwrap();
        }
        std::fs::write(dir.join("pytorch_model.bin"), weights).unwrap();
        dir
    };
    let classify = |dir: &Path, expect: &str| {
        fails_cleanly(&["classify", "--model", s(dir), "--image", s(&photo), "--label", "cat"], expect)
    };
    let broken = |name: &str| std::fs::read(fixture("pytorch").join(name)).unwrap();

    // text_projection is [24, 16] in the file; this one has a 25th row.
    classify(
        &with_weights("misshaped", &broken("misshaped.bin")),
        "pytorch_model.bin: tensor text_projection.weight has shape [25, 16], but config.json needs [24, 16]",
    );
    classify(&with_weights("incomplete", &broken("incomplete.bin")), "pytorch_model.bin has no tensor");

    let marker = Path::new("/tmp/clip-zero-shot-pickle-was-executed");
    let _ = std::fs::remove_file(marker);
    // burn's reader builds no Python objects: the os.system call is an unknown object, not run,
    // and the file simply has no tensors.
    classify(&with_weights("hostile", &broken("hostile.bin")), "pytorch_model.bin has no tensor logit_scale");
    // convert reports its steps first; the failure is its last line.
    let (ok, _, stderr) = clip(&["convert", "--from", s(&tmp.path().join("hostile")), "--out", s(&tmp.path().join("out"))]);
    assert!(!ok && stderr.trim_end().lines().last().unwrap().ends_with("pytorch_model.bin has no tensor logit_scale"), "{stderr}");
    assert!(!marker.exists(), "the hostile pickle ran a command");

    classify(&with_weights("garbage", b"not a zip file at all"), "pytorch_model.bin cannot be read as a PyTorch checkpoint");
    let whole = std::fs::read(good.join("pytorch_model.bin")).unwrap();
    classify(&with_weights("truncated", &whole[..whole.len() / 2]), "pytorch_model.bin");
}

#[test]
fn presets_are_listed_in_full_and_classify_uses_them() {
    let out = ok_json(&["presets"]);
    let presets = out["presets"].as_array().unwrap();
    assert_eq!(presets.len(), 28);
    let find = |name: &str| presets.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name}"));
    let imagenet = find("imagenet");
    assert_eq!(imagenet["labels"].as_array().unwrap().len(), 1000);
    assert_eq!(imagenet["templates"].as_array().unwrap().len(), 80);
    assert!(imagenet["source"].as_str().unwrap().contains("Prompt_Engineering_for_ImageNet.ipynb"));
    assert_eq!(find("fer2013")["labels"][3], serde_json::json!(["happy", "smiling"]));
    assert_eq!(find("food101")["templates"], serde_json::json!(["a photo of {}, a type of food."]));

    let dir = fixture("tiny-quickgelu");
    let photo = image("coffee.png");
    // The preset's labels and templates, and the same given explicitly, agree.
    let preset = ok_json(&["classify", "--model", s(&dir), "--image", s(&photo), "--preset", "cifar10", "--per-template"]);
    let mut args = vec!["classify", "--model", s(&dir), "--image", s(&photo), "--per-template"];
    let cifar = find("cifar10");
    for l in cifar["labels"].as_array().unwrap() {
        args.extend(["--label", l.as_str().unwrap()]);
    }
    for t in cifar["templates"].as_array().unwrap() {
        args.extend(["--template", t.as_str().unwrap()]);
    }
    let explicit = ok_json(&args);
    assert_eq!(preset["labels"], explicit["labels"]);
    assert_eq!(preset["results"][0]["probs"], explicit["results"][0]["probs"]);
    assert_eq!(preset["results"][0]["per_template"].as_array().unwrap().len(), 18);

    // --label replaces the preset's labels and keeps its templates; several names per class work.
    let food = ok_json(&["classify", "--model", s(&dir), "--image", s(&photo), "--preset", "food101", "--label", "espresso", "--label", "ramen"]);
    assert_eq!(food["labels"], serde_json::json!(["espresso", "ramen"]));
    assert_eq!(food["templates"], serde_json::json!(["a photo of {}, a type of food."]));
    let fer = ok_json(&["classify", "--model", s(&dir), "--image", s(&photo), "--preset", "fer2013"]);
    assert_eq!(fer["labels"].as_array().unwrap().len(), 7);
    assert!((floats(&fer["results"][0]["probs"]).iter().sum::<f32>() - 1.0).abs() < 1e-4);

    fails_cleanly(&["classify", "--model", s(&dir), "--image", s(&photo), "--preset", "nope"], "there is no preset \"nope\"");
}

#[test]
fn bad_arguments_fail_with_one_line() {
    let dir = fixture("tiny-quickgelu");
    let photo = image("chelsea.png");
    fails_cleanly(&["classify", "--model", s(&dir), "--image", s(&photo)], "--label");
    fails_cleanly(
        &["classify", "--model", s(&dir), "--image", s(&photo), "--label", "cat", "--template", "no placeholder"],
        "has no {} placeholder",
    );
    fails_cleanly(&["embed", "--model", s(&dir)], "at least one --image or --text");
    fails_cleanly(&["frobnicate"], "unrecognized subcommand");
    fails_cleanly(&["classify", "--model", s(&dir), "--image", s(&photo), "--label", "cat", "--device", "tpu"], "tpu");
}

/// Copy a safetensors file, either shrinking one tensor's first dimension by one or dropping it.
fn rewrite_tensor(from: &Path, to: &Path, name: &str, shrink: bool) {
    let bytes = std::fs::read(from).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors = Vec::new();
    for (key, view) in file.tensors() {
        if key == name {
            if !shrink {
                continue;
            }
            let mut shape = view.shape().to_vec();
            let row = view.data().len() / shape[0];
            shape[0] -= 1;
            let data = view.data()[..row * shape[0]].to_vec();
            tensors.push((key, view.dtype(), shape, data));
        } else {
            tensors.push((key, view.dtype(), view.shape().to_vec(), view.data().to_vec()));
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(k, d, s, data)| (k.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), data).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, to).unwrap();
}

/// `clip search`: a text ranks images, an image ranks images; each cosine is the one `clip embed`
/// gives, highest first.
#[test]
fn search_ranks_images_by_cosine_to_a_text_or_an_image() {
    let dir = fixture("tiny-quickgelu");
    let files: Vec<PathBuf> = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"].iter().map(|f| image(f)).collect();
    let mut args = vec!["search", "--model", s(&dir)];
    for f in &files {
        args.extend(["--image", s(f)]);
    }
    let mut embed = vec!["embed", "--model", s(&dir), "--text", "a rocket on its launch pad"];
    for f in &files {
        embed.extend(["--image", s(f)]);
    }
    let embedded = ok_json(&embed);
    let images: Vec<Vec<f32>> = embedded["images"].as_array().unwrap().iter().map(floats).collect();
    let text = floats(&embedded["texts"][0]);

    let mut by_text = args.clone();
    by_text.extend(["--query", "a rocket on its launch pad"]);
    let out = ok_json(&by_text);
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), files.len());
    let shown: Vec<f32> = results.iter().map(|r| r["cosine"].as_f64().unwrap() as f32).collect();
    assert!(shown.windows(2).all(|w| w[0] >= w[1]), "highest first: {shown:?}");
    for r in results {
        let i = files.iter().position(|f| s(f) == r["image"].as_str().unwrap()).unwrap();
        assert!((r["cosine"].as_f64().unwrap() as f32 - cosine(&text, &images[i])).abs() < 1e-5);
    }

    let mut by_image = args.clone();
    by_image.extend(["--query-image", s(&files[1])]);
    let out = ok_json(&by_image);
    assert_eq!(out["results"][0]["image"], s(&files[1]), "an image is most similar to itself");
    assert!((out["results"][0]["cosine"].as_f64().unwrap() - 1.0).abs() < 1e-5);

    fails_cleanly(&args, "--query");
    let mut empty = args.clone();
    empty.extend(["--query", "  "]);
    fails_cleanly(&empty, "the search query is empty");
}

#[test]
fn probe_matches_scikit_learn_and_sits_beside_zero_shot() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/probe/reference.json")).unwrap(),
    )
    .unwrap();
    let tiny = &reference["tiny"];
    let dir = fixture(tiny["model"].as_str().unwrap());
    let train: Vec<String> = tiny["train"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}={}", t["label"].as_str().unwrap(), s(&image(t["image"].as_str().unwrap()))))
        .collect();
    let test: Vec<PathBuf> = tiny["test"].as_array().unwrap().iter().map(|t| image(t.as_str().unwrap())).collect();
    let mut args = vec!["probe", "--model", s(&dir)];
    for t in &train {
        args.extend(["--train", t.as_str()]);
    }
    for t in &test {
        args.extend(["--test", s(t)]);
    }
    let out = ok_json(&args);
    assert_eq!(out["labels"], tiny["labels"], "labels in order of first appearance");
    let labels: Vec<&str> = tiny["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let mut classify = vec!["classify", "--model", s(&dir)];
    for l in &labels {
        classify.extend(["--label", l]);
    }
    for t in &test {
        classify.extend(["--image", s(t)]);
    }
    let zero_shot = ok_json(&classify);
    let mut worst = 0f32;
    for (i, result) in out["results"].as_array().unwrap().iter().enumerate() {
        assert_eq!(result["image"], s(&test[i]));
        worst = worst.max(max_abs_diff(&floats(&result["probs"]), &floats(&tiny["probs"][i])));
        assert!(max_abs_diff(&floats(&result["zero_shot"]), &floats(&zero_shot["results"][i]["probs"])) < 1e-6);
    }
    eprintln!("clip probe vs scikit-learn: max |Δp| = {worst:.2e}");
    assert!(worst < 5e-3, "probe probabilities differ from scikit-learn's by {worst}");

    // Bad input: one line each.
    let base = ["probe", "--model", s(&dir), "--test", s(&test[0])];
    let one_label = format!("cat={}", s(&image("chelsea.png")));
    fails_cleanly(&[&base[..], &["--train", &one_label]].concat(), "at least two different labels");
    fails_cleanly(&[&base[..], &["--train", "chelsea.png"]].concat(), "LABEL=IMAGE");
    let two = format!("dog={}", s(&image("coffee.png")));
    fails_cleanly(&[&base[..], &["--train", &one_label, "--train", &two, "--c", "0"]].concat(), "positive number");
    let missing = "cat=/no/such/image.png";
    fails_cleanly(&[&base[..], &["--train", missing, "--train", &two]].concat(), "no such file");
}

#[test]
fn contrast_prints_transformers_loss_and_refuses_a_one_pair_batch() {
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(fixture("curves/reference.json")).unwrap()).unwrap();
    let case = &reference["contrast"];
    let dir = repo_root().join(case["model"].as_str().unwrap());
    let pairs: Vec<String> = case["images"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["captions"].as_array().unwrap())
        .map(|(i, c)| format!("{}={}", s(&image(i.as_str().unwrap())), c.as_str().unwrap()))
        .collect();
    let mut args = vec!["contrast", "--model", s(&dir)];
    for p in &pairs {
        args.extend(["--pair", p.as_str()]);
    }
    let out = ok_json(&args);
    let loss = out["loss"].as_f64().unwrap();
    let want = case["loss"].as_f64().unwrap();
    assert!((loss - want).abs() / want < 1e-4, "loss {loss} vs transformers {want}");
    for (row, want) in out["logits"].as_array().unwrap().iter().zip(case["logits_per_image"].as_array().unwrap()) {
        for (g, w) in floats(row).iter().zip(floats(want)) {
            assert!((g - w).abs() <= 1e-4 * w.abs().max(1e-3), "logit {g} vs {w}");
        }
    }
    assert_eq!(out["captions"].as_array().unwrap().len(), 4);

    // A hard negative widens every row: the image→text loss rises, the text→image loss stays.
    let mut hard = args.clone();
    hard.extend(["--negative", "a photo of a dog."]);
    let with_negative = ok_json(&hard);
    assert!(with_negative["loss_images"].as_f64().unwrap() > out["loss_images"].as_f64().unwrap());
    assert!((with_negative["loss_texts"].as_f64().unwrap() - out["loss_texts"].as_f64().unwrap()).abs() < 1e-6);
    assert_eq!(with_negative["cosine"][0].as_array().unwrap().len(), 5);

    fails_cleanly(&["contrast", "--model", s(&dir), "--pair", &pairs[0]], "at least two");
    fails_cleanly(&["contrast", "--model", s(&dir), "--pair", &pairs[0], "--pair", "nocaption"], "IMAGE=CAPTION");
    let empty = format!("{}=  ", s(&image("coffee.png")));
    fails_cleanly(&["contrast", "--model", s(&dir), "--pair", &pairs[0], "--pair", &empty], "caption 2 is empty");
}

#[test]
fn the_curves_and_the_shift_run_on_labelled_images_and_refuse_too_few() {
    let dir = fixture("tiny-quickgelu");
    let files = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "chelsea_gray.png", "chelsea.webp"];
    let labels = ["person", "cat", "cup", "rocket", "cat", "cat"];
    let labelled: Vec<String> = files.iter().zip(labels).map(|(f, l)| format!("{l}={}", s(&image(f)))).collect();
    let mut args = vec!["probe", "--curve", "--model", s(&dir), "--draws", "4", "--seed", "3"];
    for l in &labelled {
        args.extend(["--labelled", l.as_str()]);
    }
    // Only "cat" has more than one image: no k leaves every label one to test on.
    fails_cleanly(&args, "two or more of each");

    // Two labels with 3 and 2 images: k = 1 only.
    let two: Vec<String> = ["chelsea.png", "chelsea_gray.png", "chelsea.webp", "coffee.png", "rocket.jpg"]
        .iter()
        .zip(["cat", "cat", "cat", "thing", "thing"])
        .map(|(f, l)| format!("{l}={}", s(&image(f))))
        .collect();
    let mut curve = vec!["probe", "--curve", "--model", s(&dir), "--draws", "4", "--seed", "3", "--label", "thing"];
    for l in &two {
        curve.extend(["--labelled", l.as_str()]);
    }
    let out = ok_json(&curve);
    assert_eq!(out["labels"], serde_json::json!(["thing", "cat"]), "--label fixes the order");
    let points = out["curve"].as_array().unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0]["k"], 1);
    assert_eq!(out["skipped"], serde_json::json!([2, 4, 8, 16]));
    for draw in points[0]["draws"].as_array().unwrap() {
        assert_eq!(draw["train"].as_array().unwrap().len(), 2, "one image per label");
    }
    assert_eq!(ok_json(&curve)["curve"], out["curve"], "the same seed, the same draws");

    let mut templates = vec!["templates", "--curve", "--model", s(&dir), "--greedy"];
    for l in &two {
        templates.extend(["--labelled", l.as_str()]);
    }
    for t in ["a photo of a {}.", "{}", "a drawing of a {}."] {
        templates.extend(["--template", t]);
    }
    let steps = ok_json(&templates)["steps"].as_array().unwrap().clone();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[2]["templates"].as_array().unwrap().len(), 3);
    let mut bad = templates.clone();
    bad.extend(["--template", "no placeholder"]);
    fails_cleanly(&bad, "placeholder");

    let mut shift = vec!["probe", "--shift", "photo", "--model", s(&dir)];
    for l in &two {
        shift.extend(["--labelled", l.as_str()]);
    }
    for d in ["photo", "drawing", "photo", "photo", "drawing"] {
        shift.extend(["--domain", d]);
    }
    let out = ok_json(&shift);
    assert_eq!(out["domains"][0]["domain"], "photo");
    assert_eq!(out["domains"][1]["images"], 2);
    fails_cleanly(&shift[..shift.len() - 2], "one --domain per --labelled image");
}

//! The `clip` binary end to end: its JSON agrees with transformers, and every bad input ends in
//! one clear line on stderr with a non-zero exit.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn clip(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clip")).args(args).output().expect("run clip");
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
    classify(&copy("no-weights", "model.safetensors"), "has no model.safetensors");
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
    fails_cleanly(&["tokenize", "--model", s(&dir), "hello"], "tokenizer.json is not a valid tokenizer");
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

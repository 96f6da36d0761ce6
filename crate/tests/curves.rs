//! The training-side lessons against independent references (tests/make_curve_reference.py):
//! the contrastive batch against transformers' CLIPModel(return_loss=True), every draw of the
//! k-shot curve against scikit-learn, and the template curve against numpy. The same numbers
//! through the `clip` binary are checked in cli.rs.

mod common;

use clip::curves::{Sampling, shot_curve, template_curve};
use clip::{Backend, Clip};
use common::*;
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("curves/reference.json")).unwrap()).unwrap()
}

fn rows(v: &Value) -> Vec<Vec<f32>> {
    v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()).collect()
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
fn the_contrastive_batch_equals_transformers_loss() {
    let reference = reference();
    let case = &reference["contrast"];
    let mut clip = Clip::open(&repo_root().join(case["model"].as_str().unwrap()), Backend::cpu()).unwrap();
    let files: Vec<Vec<u8>> =
        case["images"].as_array().unwrap().iter().map(|f| std::fs::read(image(f.as_str().unwrap())).unwrap()).collect();
    let bytes: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let images = pollster::block_on(clip.embed_images(&bytes)).unwrap();
    let captions: Vec<&str> = case["captions"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let batch = pollster::block_on(clip.contrast(&images, &captions, None)).unwrap();
    assert!(relative(batch.scale as f64, case["scale"].as_f64().unwrap()) < 1e-6);
    let want = rows(&case["logits_per_image"]);
    let mut worst = 0f64;
    for (got, want) in batch.logits.iter().zip(&want) {
        for (g, w) in got.iter().zip(want) {
            worst = worst.max(relative(*g as f64, *w as f64));
        }
    }
    let losses = [
        (batch.loss_images, case["loss_images"].as_f64().unwrap()),
        (batch.loss_texts, case["loss_texts"].as_f64().unwrap()),
        (batch.loss, case["loss"].as_f64().unwrap()),
    ];
    let worst_loss = losses.iter().map(|(g, w)| relative(*g, *w)).fold(0.0, f64::max);
    eprintln!("contrast vs transformers: logits rel {worst:.1e}, losses rel {worst_loss:.1e} (loss {:.6})", batch.loss);
    assert!(worst < 1e-4, "logits_per_image off by {worst} relative");
    assert!(worst_loss < 1e-4, "losses off by {worst_loss} relative: {losses:?}");

    // An empty caption is one sentence, before any text-tower work.
    let mut empty = captions.clone();
    empty[2] = "  ";
    let error = pollster::block_on(clip.contrast(&images, &empty, None)).unwrap_err().to_string();
    assert!(error.contains("caption 3 is empty"), "{error}");
}

#[test]
fn every_draw_of_the_shot_curve_equals_scikit_learn() {
    let reference = reference();
    let case = &reference["shots"];
    let xs = rows(&case["x"]);
    let ys = indices(&case["y"]);
    let sampling = Sampling {
        draws: case["draws"].as_u64().unwrap() as usize,
        seed: case["seed"].as_u64().unwrap(),
        c: case["c"].as_f64().unwrap(),
    };
    let right = vec![false; ys.len()];
    let curve = shot_curve(&xs, &ys, case["classes"].as_u64().unwrap() as usize, &right, &indices(&case["shots"]), sampling).unwrap();
    let want = case["curve"].as_array().unwrap();
    assert_eq!(curve.curve.len(), want.len(), "the k the set can supply");
    let mut draws = 0;
    for (point, want) in curve.curve.iter().zip(want) {
        assert_eq!(point.k as u64, want["k"].as_u64().unwrap());
        for (draw, want) in point.draws.iter().zip(want["draws"].as_array().unwrap()) {
            assert_eq!(draw.train, indices(&want["train"]), "k = {}: the same seeded draw", point.k);
            let expected = want["accuracy"].as_f64().unwrap() as f32;
            assert!((draw.accuracy - expected).abs() < 1e-6, "k = {}: accuracy {} vs sklearn {expected}", point.k, draw.accuracy);
            draws += 1;
        }
    }
    eprintln!("{draws} draws of the k-shot curve equal scikit-learn's");
    assert!(draws >= 12);
}

#[test]
fn the_template_curve_equals_numpy_in_order_and_greedy() {
    let reference = reference();
    let case = &reference["templates"];
    let class_rows: Vec<Vec<Vec<f32>>> = case["rows"].as_array().unwrap().iter().map(rows).collect();
    let images = rows(&case["images"]);
    let ys = indices(&case["y"]);
    let scale = case["scale"].as_f64().unwrap() as f32;
    for (greedy, key) in [(false, "listed"), (true, "greedy")] {
        let steps = template_curve(&images, &ys, &class_rows, greedy, scale).unwrap();
        let want = case[key].as_array().unwrap();
        assert_eq!(steps.len(), want.len());
        for (step, want) in steps.iter().zip(want) {
            assert_eq!(step.templates, indices(&want["templates"]), "{key}");
            assert!((step.accuracy - want["accuracy"].as_f64().unwrap() as f32).abs() < 1e-6, "{key}");
        }
    }
}

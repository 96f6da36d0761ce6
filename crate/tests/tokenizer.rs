//! The crate's own BPE (src/tokenizer.rs) against OpenAI's `clip.tokenize` on 2 000 generated
//! texts (tests/make_generated_prompts.py): contractions, punctuation runs, digits, accents and
//! combining marks, CJK, emoji, special tokens and their fragments, control and zero-width
//! characters, and words of up to 2 000 characters. tests/text_clean.rs checks the cleaning on
//! hand-picked messy prompts the same way.

mod common;

use clip::tokenizer::{CONTEXT_LENGTH, ClipTokenizer};
use common::repo_root;
use serde_json::Value;

fn ours() -> ClipTokenizer {
    ClipTokenizer::from_bytes(&std::fs::read(repo_root().join("models/tokenizer/tokenizer.json")).unwrap(), CONTEXT_LENGTH)
        .unwrap()
}

#[test]
fn generated_texts_give_openais_ids() {
    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/fixtures/generated_prompts.json")).unwrap())
            .unwrap();
    assert!(entries.len() >= 2000);
    let tokenizer = ours();
    let mut mismatches = vec![];
    for entry in &entries {
        let text = entry["text"].as_str().unwrap();
        let want: Vec<u32> = entry["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let got = tokenizer.encode(&[text]).unwrap().remove(0);
        assert!(got.len() <= CONTEXT_LENGTH);
        if got != want {
            mismatches.push(format!("{text:?}: {got:?} vs {want:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches[..mismatches.len().min(10)].join("\n"));
    let long = entries.iter().filter(|e| e["text"].as_str().unwrap().chars().count() >= 700).count();
    assert!(long >= 7, "the list has long words and texts");
}

#[test]
fn a_tokenizer_json_that_is_not_clips_is_refused_in_one_sentence() {
    let json = std::fs::read_to_string(repo_root().join("models/tokenizer/tokenizer.json")).unwrap();
    let cases = [
        ("not json".to_string(), "not a CLIP tokenizer"),
        ("{}".to_string(), "not a CLIP tokenizer"),
        (json.replace("\"</w>\"", "\"@@\""), "does not end words with </w>"),
        (json.replace("\"<|endoftext|>\":", "\"<|end|>\":"), "\"<|endoftext|>\" is not in its vocabulary"),
        (json.replacen("\"type\": \"BPE\"", "\"type\": \"WordPiece\"", 1), "not BPE"),
    ];
    for (bytes, want) in cases {
        let err = match ClipTokenizer::from_bytes(bytes.as_bytes(), CONTEXT_LENGTH) {
            Ok(_) => panic!("accepted a broken tokenizer.json (want {want:?})"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(want), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

//! OpenAI's own tokenizer (`clip.tokenize` from the openai-clip package, with ftfy) is the
//! reference: on every committed messy prompt (tests/make_messy_prompts.py: quotes, entities,
//! mojibake, emoji, RTL, zero-width, CJK, control characters, 10 000 characters, the presets'
//! templates) the cleaned text equals Python's and the ids are identical.

mod common;

use clip::tokenizer::{CONTEXT_LENGTH, ClipTokenizer};
use common::repo_root;
use serde_json::Value;

#[test]
fn messy_prompts_give_openais_ids() {
    let entries: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/fixtures/messy_prompts.json")).unwrap()).unwrap();
    assert!(entries.len() >= 200);
    let json = std::fs::read(repo_root().join("models/tokenizer/tokenizer.json")).unwrap();
    let tokenizer = ClipTokenizer::from_bytes(&json, CONTEXT_LENGTH).unwrap();
    let mut mismatches = vec![];
    for entry in &entries {
        let text = entry["text"].as_str().unwrap();
        let want_clean = entry["clean"].as_str().unwrap();
        let want_ids: Vec<u32> = entry["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let cleaned = clip::text_clean::clean(text);
        let ids = tokenizer.encode(&[text]).unwrap().remove(0);
        if cleaned != want_clean || ids != want_ids {
            mismatches.push(format!("{:?}: clean {cleaned:?} vs {want_clean:?}; ids {ids:?} vs {want_ids:?}", entry["kind"]));
        }
    }
    let long = entries.iter().filter(|e| e["text"].as_str().unwrap().chars().count() >= 10_000).count();
    assert!(long >= 1, "the list has a 10 000-character prompt");
    eprintln!("{} messy prompts, {} mismatches", entries.len(), mismatches.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

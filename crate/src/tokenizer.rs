//! Text → token ids, exactly as OpenAI's `clip.tokenize` makes them (`clip/simple_tokenizer.py`),
//! which CLIP was trained on:
//!
//! 1. clean ([`crate::text_clean`]: ftfy, HTML entities, whitespace) and lowercase;
//! 2. split with CLIP's pattern
//!    `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`;
//! 3. write each piece's UTF-8 bytes as GPT-2's printable byte symbols, the last one with `</w>`;
//! 4. apply the BPE merges, lowest rank first, and look the symbols up in the vocabulary;
//! 5. start token, at most 75 ids, end-of-text token.
//!
//! The vocabulary and merges come from the model's `tokenizer.json`. Its normalizer and
//! pre-tokenizer are not read: they are CLIPTokenizerFast's approximation of step 1 (NFC, `\s+`,
//! lowercase), which differs from OpenAI's on curly quotes, entities, full-width forms and
//! mojibake. Written here rather than taken from the `tokenizers` crate, whose regex engines and
//! unused components weighed on the page's wasm; tests/tokenizer.rs checks it against OpenAI's
//! `clip.tokenize` on 2 000 generated texts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde::Deserialize;

use crate::error::{ClipError, Result};
use crate::text_clean::{is_regex_letter, is_regex_number, is_regex_space};

/// CLIP's text context: 77 positions, start token first, end-of-text token last.
pub const CONTEXT_LENGTH: usize = 77;

const START_OF_TEXT: &str = "<|startoftext|>";
const END_OF_TEXT: &str = "<|endoftext|>";
const END_OF_WORD: &str = "</w>";
/// The pattern's contractions, in its order (none is a prefix of another).
const CONTRACTIONS: [&str; 7] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

/// The part of a Hugging Face `tokenizer.json` this needs.
#[derive(Deserialize)]
struct TokenizerJson {
    model: BpeJson,
}

#[derive(Deserialize)]
struct BpeJson {
    #[serde(rename = "type")]
    kind: Option<String>,
    vocab: HashMap<String, u32>,
    merges: Vec<MergeJson>,
    end_of_word_suffix: Option<String>,
}

/// Older files write a merge as `"a b"`, newer ones as `["a", "b"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum MergeJson {
    Joined(String),
    Pair(String, String),
}

pub struct ClipTokenizer {
    /// The symbol id of each byte, inside a word and as its last byte (with `</w>`).
    byte_ids: [u32; 256],
    final_byte_ids: [u32; 256],
    /// (left, right) → (rank, merged symbol).
    merges: HashMap<(u32, u32), (u32, u32)>,
    start_of_text: u32,
    end_of_text: u32,
    context_length: usize,
}

impl ClipTokenizer {
    /// Load from the bytes of a `tokenizer.json`. `context_length` is the text tower's
    /// `max_position_embeddings` (77 for every released CLIP).
    pub fn from_bytes(json: &[u8], context_length: usize) -> Result<Self> {
        let bad = |e: String| ClipError::Tokenizer(format!("tokenizer.json is not a CLIP tokenizer: {e}"));
        let file: TokenizerJson = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        let model = file.model;
        if model.kind.as_deref().is_some_and(|kind| kind != "BPE") {
            return Err(bad(format!("its model is {:?}, not BPE", model.kind.unwrap_or_default())));
        }
        if model.end_of_word_suffix.as_deref() != Some(END_OF_WORD) {
            return Err(bad(format!("its BPE does not end words with {END_OF_WORD}")));
        }
        if context_length < 2 {
            return Err(bad(format!("a context of {context_length} positions has no room for a text")));
        }
        let vocab = &model.vocab;
        let id = |symbol: &str| vocab.get(symbol).copied().ok_or_else(|| bad(format!("{symbol:?} is not in its vocabulary")));

        let mut byte_ids = [0; 256];
        let mut final_byte_ids = [0; 256];
        for (byte, symbol) in byte_symbols().into_iter().enumerate() {
            byte_ids[byte] = id(&symbol.to_string())?;
            final_byte_ids[byte] = id(&format!("{symbol}{END_OF_WORD}"))?;
        }
        let mut merges = HashMap::with_capacity(model.merges.len());
        for (rank, merge) in model.merges.iter().enumerate() {
            let (left, right) = match merge {
                MergeJson::Pair(left, right) => (left.as_str(), right.as_str()),
                MergeJson::Joined(joined) => {
                    joined.split_once(' ').ok_or_else(|| bad(format!("merge {joined:?} is not two symbols")))?
                }
            };
            let pair = (id(left)?, id(right)?);
            let merged = id(&format!("{left}{right}"))?;
            let rank = u32::try_from(rank).map_err(|_| bad("too many merges".into()))?;
            merges.entry(pair).or_insert((rank, merged));
        }
        Ok(ClipTokenizer {
            byte_ids,
            final_byte_ids,
            merges,
            start_of_text: id(START_OF_TEXT)?,
            end_of_text: id(END_OF_TEXT)?,
            context_length,
        })
    }

    /// The id the text tower pools at.
    pub fn end_of_text(&self) -> u32 {
        self.end_of_text
    }

    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Token ids for each text: start token, the text, end-of-text; at most `context_length`
    /// (a longer text keeps its beginning, as `clip.tokenize(..., truncate=True)` does).
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        Ok(texts.iter().map(|text| self.encode_one(text)).collect())
    }

    fn encode_one(&self, text: &str) -> Vec<u32> {
        // Python's str.lower(), as OpenAI's tokenizer does it: a word-final Σ becomes ς.
        let text = crate::text_clean::clean(text).to_lowercase();
        let room = self.context_length - 1;
        let mut ids = vec![self.start_of_text];
        let mut rest = text.as_str();
        while ids.len() < room {
            let Some((piece, after)) = next_piece(rest) else { break };
            rest = after;
            match piece {
                START_OF_TEXT => ids.push(self.start_of_text),
                END_OF_TEXT => ids.push(self.end_of_text),
                word => ids.extend(self.merge(word.as_bytes())),
            }
        }
        ids.truncate(room);
        ids.push(self.end_of_text);
        ids
    }

    /// One piece's symbols after BPE: the lowest-ranked adjacent pair is merged first, the
    /// leftmost first among equals, until no adjacent pair has a merge (a heap of candidate
    /// merges over a linked list, so a long piece costs n log n, not n²).
    fn merge(&self, bytes: &[u8]) -> Vec<u32> {
        let n = bytes.len();
        let mut symbols: Vec<u32> = bytes.iter().map(|&b| self.byte_ids[b as usize]).collect();
        if let Some(last) = bytes.last() {
            symbols[n - 1] = self.final_byte_ids[*last as usize];
        }
        const NONE: usize = usize::MAX;
        let mut next: Vec<usize> = (1..=n).map(|i| if i < n { i } else { NONE }).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| if i > 0 { i - 1 } else { NONE }).collect();
        let mut alive = vec![true; n];
        let mut queue = BinaryHeap::new();
        let candidate = |symbols: &[u32], left: usize, right: usize| {
            self.merges.get(&(symbols[left], symbols[right])).map(|&(rank, merged)| Reverse((rank, left, merged)))
        };
        queue.extend((1..n).filter_map(|i| candidate(&symbols, i - 1, i)));
        while let Some(Reverse((rank, left, merged))) = queue.pop() {
            let right = next[left];
            // Stale: the left symbol was merged away, or its pair changed since this was queued.
            if !alive[left] || right == NONE || self.merges.get(&(symbols[left], symbols[right])) != Some(&(rank, merged)) {
                continue;
            }
            symbols[left] = merged;
            alive[right] = false;
            next[left] = next[right];
            if next[left] != NONE {
                prev[next[left]] = left;
                queue.extend(candidate(&symbols, left, next[left]));
            }
            if prev[left] != NONE {
                queue.extend(candidate(&symbols, prev[left], left));
            }
        }
        // Merges only ever absorb a right neighbour, so the survivors are in order.
        (0..n).filter(|&i| alive[i]).map(|i| symbols[i]).collect()
    }
}

/// The next match of CLIP's pattern in `text` and what follows it; `None` when only
/// whitespace is left. Alternatives are tried in the pattern's order at each position.
fn next_piece(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start_matches(is_regex_space);
    let first = text.chars().next()?;
    let len = if let Some(special) = [START_OF_TEXT, END_OF_TEXT].into_iter().find(|s| text.starts_with(s)) {
        special.len()
    } else if let Some(contraction) = CONTRACTIONS.into_iter().find(|s| text.starts_with(s)) {
        contraction.len()
    } else if is_regex_letter(first) {
        text.find(|c| !is_regex_letter(c)).unwrap_or(text.len())
    } else if is_regex_number(first) {
        first.len_utf8()
    } else {
        text.find(|c| is_regex_space(c) || is_regex_letter(c) || is_regex_number(c)).unwrap_or(text.len())
    };
    Some(text.split_at(len))
}

/// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 for
/// U+0100 onwards, in byte order, so every byte sequence is a string of visible symbols.
fn byte_symbols() -> [char; 256] {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut symbols = ['\0'; 256];
    let mut shifted = 0u32;
    for byte in 0..=255u8 {
        symbols[byte as usize] = if printable(byte) {
            char::from(byte)
        } else {
            shifted += 1;
            char::from_u32(255 + shifted).unwrap_or(char::REPLACEMENT_CHARACTER)
        };
    }
    symbols
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some((piece, after)) = next_piece(rest) {
            out.push(piece);
            rest = after;
        }
        out
    }

    #[test]
    fn the_pattern_splits_as_python_does() {
        assert_eq!(pieces("it's a dog's toy"), ["it", "'s", "a", "dog", "'s", "toy"]);
        assert_eq!(pieces("!'s 12ab"), ["!'", "s", "1", "2", "ab"]);
        assert_eq!(pieces("'dx 'll"), ["'d", "x", "'ll"]);
        assert_eq!(pieces("a<|endoftext|>b <|startoftext|>"), ["a", "<|endoftext|>", "b", "<|startoftext|>"]);
        assert_eq!(pieces("<|endoftext|"), ["<|", "endoftext", "|"]);
        assert_eq!(pieces("<|endoftext|>x"), ["<|endoftext|>", "x"]);
        assert_eq!(pieces("café ½ 東京!?"), ["café", "½", "東京", "!?"]);
        assert_eq!(pieces("   "), Vec::<&str>::new());
    }

    #[test]
    fn byte_symbols_are_gpt2s() {
        let symbols = byte_symbols();
        assert_eq!(symbols[b'a' as usize], 'a');
        assert_eq!(symbols[0], '\u{100}');
        assert_eq!(symbols[b' ' as usize], '\u{120}');
        assert_eq!(symbols[0xAD], '\u{143}');
        assert_eq!(symbols[0xFF], '\u{ff}');
        let mut sorted = symbols.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
    }
}

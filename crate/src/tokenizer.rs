//! Text → token ids: OpenAI's cleaning ([`crate::text_clean`]: ftfy, HTML entities, whitespace)
//! and lowercasing, then the model's own `tokenizer.json` (the `tokenizers` crate). The ids are
//! those of OpenAI's `clip.tokenize`, which CLIP was trained on; transformers' `CLIPTokenizerFast`
//! skips the cleaning and differs on curly quotes, entities, full-width forms and mojibake.

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{ClipError, Result};

/// CLIP's text context: 77 positions, start token first, end-of-text token last.
pub const CONTEXT_LENGTH: usize = 77;

const END_OF_TEXT: &str = "<|endoftext|>";

pub struct ClipTokenizer {
    tokenizer: Tokenizer,
    end_of_text: u32,
    context_length: usize,
}

impl ClipTokenizer {
    /// Load from the bytes of a `tokenizer.json`. `context_length` is the text tower's
    /// `max_position_embeddings` (77 for every released CLIP).
    pub fn from_bytes(json: &[u8], context_length: usize) -> Result<Self> {
        let bad = |e: String| ClipError::Tokenizer(format!("tokenizer.json is not a valid tokenizer: {e}"));
        let mut tokenizer = Tokenizer::from_bytes(json).map_err(|e| bad(e.to_string()))?;
        // Truncation counts the special tokens the post-processor adds, so an over-long text
        // keeps its start token and ends with the end-of-text token, as transformers does.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: context_length,
                strategy: TruncationStrategy::LongestFirst,
                direction: TruncationDirection::Right,
                stride: 0,
            }))
            .map_err(|e| bad(e.to_string()))?;
        tokenizer.with_padding(None);
        let end_of_text = tokenizer
            .token_to_id(END_OF_TEXT)
            .ok_or_else(|| bad(format!("it has no {END_OF_TEXT} token")))?;
        Ok(ClipTokenizer { tokenizer, end_of_text, context_length })
    }

    /// The id the text tower pools at.
    pub fn end_of_text(&self) -> u32 {
        self.end_of_text
    }

    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Token ids for each text: start token, the text, end-of-text; at most `context_length`.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .map(|text| {
                // Python's str.lower(), as OpenAI's tokenizer does it: a word-final Σ becomes ς,
                // which tokenizer.json's own lowercasing (always σ) would miss.
                let cleaned = crate::text_clean::clean(text).to_lowercase();
                let encoding = self
                    .tokenizer
                    .encode(cleaned.as_str(), true)
                    .map_err(|e| ClipError::Tokenizer(format!("cannot tokenize {text:?}: {e}")))?;
                let mut ids = encoding.get_ids().to_vec();
                // A tokenizer.json without a post-processor would leave the EOT off: the tower
                // would then pool at a wrong position, so refuse rather than guess.
                if ids.last() != Some(&self.end_of_text) {
                    return Err(ClipError::Tokenizer(
                        "tokenizer.json does not end texts with <|endoftext|>; is it a CLIP tokenizer?".into(),
                    ));
                }
                ids.truncate(self.context_length);
                Ok(ids)
            })
            .collect()
    }
}

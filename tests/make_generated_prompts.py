#!/usr/bin/env python3
"""Generate tests/fixtures/generated_prompts.json: OpenAI's token ids for 2 000 random texts.

crate/src/tokenizer.rs re-implements CLIP's BPE; crate/tests/tokenizer.rs checks it against
OpenAI's own `clip.tokenize` (the openai-clip package, with ftfy) on these texts. They are built
from pieces chosen to exercise the pre-tokenizer pattern and the merges: contractions,
punctuation runs, digits, accents and combining marks, CJK, emoji, special tokens and their
fragments, control and zero-width characters, entities and mojibake.

    python3 tests/make_generated_prompts.py
"""

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_messy_prompts import import_clip  # noqa: E402

OUT = Path(__file__).resolve().parent / "fixtures" / "generated_prompts.json"
PARTS = [
    "a", "e", "s", "t", "x", "in", "ing", "photo", "dog", "of", "the", "un", "believ", "able", " ", " ", " ", "  ",
    "'", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "\u2019", "!", "?", ".", ",", "-", "_", "/", "(", ")", '"', "#",
    "$", "%", "&amp;", "&", "0", "1", "7", "42", "\u00bd", "\u00b2", "\u216b", "\u00e9", "e\u0301", "\u00df",
    "\u03a3", "\u0130", "\u01c5", "\ufb01", "\uff21", "\uff42", "\u6771", "\u4eac", "\u306e", "\ud55c", "\u0627",
    "\u05e9", "\U0001f436", "\U0001f44d\U0001f3fd", "\u200b", "\ufeff", "\t", "\n", "<|endoftext|>",
    "<|startoftext|>", "<|", "|>", "endoftext", "\u00c3\u00a9", "\x00", "\x7f", "\x85", "\u2028",
    "\u0936\u094d\u0930", "\u00f1", "\u00d8", "\U0010ffff",
]


def main():
    clip, _, _ = import_clip()
    rng = random.Random(20261128)
    entries = []
    for _ in range(2000):
        text = "".join(rng.choice(PARTS) for _ in range(rng.randint(1, 40)))
        row = clip.tokenize(text, truncate=True)[0].tolist()
        while row and row[-1] == 0:
            row.pop()
        entries.append({"text": text, "ids": row})
    for text in ["a" * 2000, "ab" * 1000, "photo" * 400, "\u6771\u4eac" * 600, "!?" * 800,
                 "a photo of a dog. " * 100, "supercalifragilisticexpialidocious " * 20]:
        row = clip.tokenize(text, truncate=True)[0].tolist()
        while row and row[-1] == 0:
            row.pop()
        entries.append({"text": text, "ids": row})
    body = json.dumps(entries, ensure_ascii=True, separators=(",", ":"))
    OUT.write_text(body + "\n", encoding="ascii")
    print(f"wrote {OUT}: {len(entries)} texts, {len(body)} bytes")


if __name__ == "__main__":
    main()

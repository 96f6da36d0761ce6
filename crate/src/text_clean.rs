//! The text cleaning OpenAI's CLIP tokenizer runs before BPE, ported to Rust.
//!
//! CLIP was trained on ids from `clip/simple_tokenizer.py`, which tokenizes
//! `whitespace_clean(basic_clean(text)).lower()`, where
//!
//! ```text
//! basic_clean(text)      = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
//! whitespace_clean(text) = regex.sub(r'\s+', ' ', text).strip()
//! ```
//!
//! `tokenizer.json` (transformers' CLIPTokenizerFast) only does NFC, `\s+` → " " and lowercase,
//! so without this module a curly apostrophe, `&amp;`, full-width letters or mojibake such as
//! "cafÃ©" tokenize to ids the model never saw. [`clean`] returns exactly what
//! `whitespace_clean(basic_clean(text))` returns in Python with ftfy 6.3.1 (it does not
//! lowercase: tokenizer.json's normalizer does that).
//!
//! What is ported, in ftfy's order: `fix_text`'s split into lines (and 1M-char pieces) and its
//! `unescape_html="auto"` rule, then per piece, until nothing changes: unescape_html,
//! fix_encoding (ftfy's badness heuristic; re-encoding as latin-1, sloppy-windows-1250..1257,
//! iso-8859-2, macroman, cp437 and decoding as UTF-8 or ftfy's utf-8-variants, with
//! restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8, the latin-1 →
//! windows-1252 step and fix_c1_controls), fix_c1_controls, fix_latin_ligatures,
//! fix_character_width, uncurl_quotes, fix_line_breaks, remove_terminal_escapes,
//! remove_control_chars and NFC; then Python's `html.unescape` twice, `str.strip` and the
//! `regex` module's `\s+`. fix_surrogates has nothing to do: a Rust `str` holds no surrogates.
//!
//! The tables (HTML5 entities, ftfy's character classes and badness regex, the codecs, the
//! ligature and width maps, Python's whitespace and digit classes) are in
//! `text_clean_tables.rs`, generated from the installed Python modules by
//! `tests/make_text_clean_tables.py`, which also stops if the regexes ported by hand here
//! differ from the installed ftfy's. `tests/fixtures/messy_prompts.json`
//! (`tests/make_messy_prompts.py`) holds Python's output for a few hundred messy prompts.
//!
//! Known differences: NFC comes from the `unicode-normalization` crate, whose Unicode version
//! is newer than Python 3.11's (14.0), so characters assigned since then may compose or reorder
//! differently; a decimal reference of more than 4300 digits makes Python raise, here it is
//! U+FFFD; ftfy's fix-until-stable loops, unbounded in Python, stop after a bound no real text
//! reaches.

use std::borrow::Cow;
use std::cmp::Ordering;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

#[allow(clippy::unreadable_literal, clippy::large_const_arrays)]
mod tables {
    include!("text_clean_tables.rs");
}
use tables::*;

/// `whitespace_clean(basic_clean(text))` of OpenAI's `clip/simple_tokenizer.py`, without the
/// final `.lower()`.
pub fn clean(text: &str) -> String {
    let fixed = fix_text(text);
    let unescaped = html_unescape(&html_unescape(&fixed));
    whitespace_clean(&unescaped)
}

/// ftfy's `max_decode_length`: longer lines are fixed in pieces of this many chars.
const MAX_DECODE_LENGTH: usize = 1_000_000;

fn fix_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // "auto": once any piece contains '<' the text is taken to be HTML, and entities are kept
    // from then on (ftfy replaces its config for the remaining pieces).
    let mut unescape = true;
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        if let Some((i, _)) = rest[..end].char_indices().nth(MAX_DECODE_LENGTH) {
            end = i;
        }
        let (piece, tail) = rest.split_at(end);
        if piece.contains('<') {
            unescape = false;
        }
        out.push_str(&fix_piece(piece, unescape));
        rest = tail;
    }
    out
}

/// How many rounds a fix-until-stable loop may run on a text of `len` chars. Python loops until
/// nothing changes. Past the first few, a round only changes the text by undoing one more
/// layer (one more level of `&amp;amp;…`, one more encoding), which shortens it, so a loop that
/// ends in Python ends well within this; the bound only keeps one that would not (none is known)
/// from hanging.
fn round_limit(len: usize) -> usize {
    len + 16
}

/// ftfy's `fix_and_explain` with the default config.
fn fix_piece(piece: &str, unescape: bool) -> String {
    let mut text = piece.to_owned();
    for _ in 0..round_limit(piece.chars().count()) {
        let mut fixed = Cow::Borrowed(text.as_str());
        if unescape {
            apply(&mut fixed, unescape_html);
        }
        // Each fixer below leaves ASCII alone except for a few control characters.
        if !fixed.is_ascii() {
            apply(&mut fixed, fix_encoding);
            apply(&mut fixed, fix_c1_controls);
            apply(&mut fixed, |t| map_chars(t, LIGATURES));
            apply(&mut fixed, |t| map_chars(t, WIDTH_MAP));
            apply(&mut fixed, uncurl_quotes);
        }
        apply(&mut fixed, fix_line_breaks);
        apply(&mut fixed, remove_terminal_escapes);
        apply(&mut fixed, remove_control_chars);
        if is_nfc_quick(fixed.chars()) != IsNormalized::Yes {
            fixed = Cow::Owned(fixed.nfc().collect());
        }
        if fixed == text.as_str() {
            break;
        }
        text = fixed.into_owned();
    }
    text
}

/// Runs a fixer that returns None when it has nothing to change.
fn apply(text: &mut Cow<'_, str>, fixer: impl Fn(&str) -> Option<String>) {
    if let Some(fixed) = fixer(text) {
        *text = Cow::Owned(fixed);
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                Ordering::Less
            } else if lo > c {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// `\p{L}`, `\p{N}` and `\s` of the `regex` module, for the BPE pre-tokenizer pattern of
/// `clip/simple_tokenizer.py` ([`crate::tokenizer`]).
pub(crate) fn is_regex_letter(c: char) -> bool {
    in_ranges(REGEX_LETTER, c)
}

pub(crate) fn is_regex_number(c: char) -> bool {
    in_ranges(REGEX_NUMBER, c)
}

pub(crate) fn is_regex_space(c: char) -> bool {
    in_ranges(REGEX_SPACE, c)
}

/// Rebuilds `text` with `map`'s replacements, or None if it has none to make.
fn replace_chars<R: AsRef<str>>(text: &str, map: impl Fn(char) -> Option<R>) -> Option<String> {
    let first = text.char_indices().find(|&(_, c)| map(c).is_some())?.0;
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match map(c) {
            Some(r) => out.push_str(r.as_ref()),
            None => out.push(c),
        }
    }
    Some(out)
}

/// Python's `str.translate` with a sorted table of replacements.
fn map_chars(text: &str, table: &'static [(char, &'static str)]) -> Option<String> {
    let lowest = table.first().map_or('\0', |&(c, _)| c);
    replace_chars(text, |c| {
        if c < lowest {
            return None;
        }
        table.binary_search_by_key(&c, |&(k, _)| k).ok().and_then(|i| table.get(i)).map(|&(_, v)| v)
    })
}

// ---------------------------------------------------------------------------------------------
// Python's html.unescape, and ftfy's stricter unescape_html.

/// Python's `html.unescape`: `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`.
fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match charref(after) {
            Some((len, replacement)) => {
                out.push_str(&replacement);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The reference that starts right after a '&': its length in bytes and what replaces it.
fn charref(after: &str) -> Option<(usize, String)> {
    let b = after.as_bytes();
    if b.first() == Some(&b'#') {
        let digits = b.iter().skip(1).take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            let len = 1 + digits + usize::from(b.get(1 + digits) == Some(&b';'));
            return Some((len, numeric_charref(&b[1..1 + digits], 10)));
        }
        if matches!(b.get(1), Some(b'x' | b'X')) {
            let hex = b.iter().skip(2).take_while(|c| c.is_ascii_hexdigit()).count();
            if hex > 0 {
                let len = 2 + hex + usize::from(b.get(2 + hex) == Some(&b';'));
                return Some((len, numeric_charref(&b[2..2 + hex], 16)));
            }
        }
        return None;
    }
    let mut end = 0;
    for (n, (i, c)) in after.char_indices().enumerate() {
        if n == 32 || matches!(c, '\t' | '\n' | '\x0c' | ' ' | '<' | '&' | '#' | ';') {
            break;
        }
        end = i + c.len_utf8();
    }
    if end == 0 {
        return None;
    }
    if after[end..].starts_with(';') {
        end += 1;
    }
    Some((end, named_charref(&after[..end])))
}

/// html's `_replace_charref` for `&#…`: HTML5's remapping of invalid code points.
fn numeric_charref(digits: &[u8], radix: u32) -> String {
    // Anything above 0x10FFFF decodes alike, so saturate there (Python has big ints).
    let num = digits.iter().fold(0u32, |n, &d| {
        let d = char::from(d).to_digit(radix).unwrap_or(0);
        n.saturating_mul(radix).saturating_add(d).min(0x11_0000)
    });
    if let Ok(i) = INVALID_CHARREFS.binary_search_by_key(&num, |&(k, _)| k) {
        return INVALID_CHARREFS.get(i).map_or_else(String::new, |&(_, c)| c.to_string());
    }
    if (0xD800..=0xDFFF).contains(&num) || num > 0x10FFFF {
        return "\u{FFFD}".to_owned();
    }
    if INVALID_CODEPOINTS.iter().any(|&(lo, hi)| (lo..=hi).contains(&num)) {
        return String::new();
    }
    char::from_u32(num).map_or_else(|| "\u{FFFD}".to_owned(), |c| c.to_string())
}

fn html5(name: &str) -> Option<&'static str> {
    HTML5.binary_search_by(|&(k, _)| k.cmp(name)).ok().and_then(|i| HTML5.get(i)).map(|&(_, v)| v)
}

/// html's `_replace_charref` for names: the whole name, else its longest known prefix
/// (HTML5 allows `&ampfoo` for `&foo`), else left alone.
fn named_charref(name: &str) -> String {
    if let Some(v) = html5(name) {
        return v.to_owned();
    }
    let bounds: Vec<usize> = name.char_indices().map(|(i, _)| i).collect();
    // Prefixes of len(name)-1 down to 2 chars, as Python's range(len(s)-1, 1, -1).
    for &cut in bounds.iter().skip(2).rev() {
        if let Some(v) = html5(&name[..cut]) {
            return format!("{v}{}", &name[cut..]);
        }
    }
    format!("&{name}")
}

/// ftfy's `unescape_html`: only `&#?[0-9A-Za-z]{1,24};`, so informal text like "this&not that"
/// keeps its '&', plus all-caps names (`&EACUTE;`).
fn unescape_html(text: &str) -> Option<String> {
    if !text.contains('&') {
        return None;
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut last, mut i) = (0, 0);
    while i < b.len() {
        if b[i] == b'&' {
            let start = i + 1 + usize::from(b.get(i + 1) == Some(&b'#'));
            let run = b.iter().skip(start).take_while(|c| c.is_ascii_alphanumeric()).count();
            let semi = start + run;
            if (1..=24).contains(&run) && b.get(semi) == Some(&b';') {
                let entity = &text[i..=semi];
                out.push_str(&text[last..i]);
                out.push_str(&unescape_fixup(entity));
                last = semi + 1;
                i = semi + 1;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    Some(out)
}

fn unescape_fixup(entity: &str) -> String {
    let name = &entity[1..];
    let caps = || {
        FTFY_CAPS_ENTITIES
            .binary_search_by(|&(k, _)| k.cmp(name))
            .ok()
            .and_then(|i| FTFY_CAPS_ENTITIES.get(i))
            .map(|&(_, v)| v)
    };
    if let Some(v) = html5(name).or_else(caps) {
        v.to_owned()
    } else if entity.starts_with("&#") {
        // Only when html.unescape consumed the whole reference, ';' included.
        let unescaped = html_unescape(entity);
        if unescaped.contains(';') { entity.to_owned() } else { unescaped }
    } else {
        entity.to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// The simple fixers.

fn fix_c1_controls(text: &str) -> Option<String> {
    replace_chars(text, |c| match c {
        '\u{80}'..='\u{9f}' => SLOPPY_1252_C1.get(c as usize - 0x80).map(|&r| char::to_string(&r)),
        _ => None,
    })
}

fn uncurl_quotes(text: &str) -> Option<String> {
    replace_chars(text, |c| match c {
        '\u{201c}'..='\u{201f}' => Some("\""),
        '\u{2bc}' | '\u{2018}'..='\u{201b}' => Some("'"),
        _ => None,
    })
}

fn remove_control_chars(text: &str) -> Option<String> {
    replace_chars(text, |c| in_ranges(CONTROL_CHARS, c).then_some(""))
}

fn fix_line_breaks(text: &str) -> Option<String> {
    if !text.contains(['\r', '\u{2028}', '\u{2029}', '\u{85}']) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\u{2028}' | '\u{2029}' | '\u{85}' => out.push('\n'),
            _ => out.push(c),
        }
    }
    Some(out)
}

/// ftfy's ANSI_RE, `\x1b\[((?:\d|;)*)([a-zA-Z])`, with `re`'s Unicode `\d`.
fn remove_terminal_escapes(text: &str) -> Option<String> {
    if !text.contains('\x1b') {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '\x1b' && chars.get(i + 1) == Some(&'[') {
            let mut j = i + 2;
            while chars.get(j).is_some_and(|&d| d == ';' || in_ranges(RE_DIGIT, d)) {
                j += 1;
            }
            if chars.get(j).is_some_and(char::is_ascii_alphabetic) {
                i = j + 1;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// fix_encoding: mojibake detection and re-decoding.

/// ftfy's `fix_encoding`; None when it leaves the text alone.
fn fix_encoding(text: &str) -> Option<String> {
    let mut fixed = fix_encoding_step(text).filter(|f| f != text)?;
    for _ in 0..round_limit(text.chars().count()) {
        match fix_encoding_step(&fixed) {
            Some(next) if next != fixed => fixed = next,
            _ => break,
        }
    }
    Some(fixed)
}

/// ftfy's `_fix_encoding_one_step_and_explain`; None when it leaves the text alone.
fn fix_encoding_step(text: &str) -> Option<String> {
    if text.is_ascii() {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    if !is_bad(&chars) {
        return None;
    }
    // The usual case: UTF-8 that was decoded with a single-byte codec.
    let mut latin1_possible = false;
    for map in CHARMAPS {
        let Some(mut bytes) = encode(map, &chars) else { continue };
        latin1_possible |= map.name == "latin-1";
        // In macroman this would match an en dash and a space.
        if map.name != "macroman" && find_altered_utf8(&bytes, 0).is_some() {
            bytes = restore_byte_a0(&bytes);
        }
        if map.name.starts_with("sloppy") {
            bytes = replace_lossy_sequences(&bytes);
        }
        let decoded = if bytes.contains(&0xED) || bytes.contains(&0xC0) {
            decode_utf8_variants(&bytes)
        } else {
            String::from_utf8(bytes).ok()
        };
        if decoded.is_some() {
            return decoded;
        }
    }
    if !utf8_detector_matches(&chars).is_empty() {
        let fixed = decode_inconsistent_utf8(&chars);
        if fixed != text {
            return Some(fixed);
        }
    }
    // ftfy then returns the text unchanged if "windows-1252" is among the encodings it could
    // take; its list only has "sloppy-windows-1252", so that never happens. Latin-1 text with
    // C1 controls is taken to be windows-1252 (strict: the five unassigned bytes fail).
    if latin1_possible {
        let fixed: Option<String> = chars
            .iter()
            .map(|&c| match c {
                '\u{80}'..='\u{9f}' => STRICT_1252_C1.get(c as usize - 0x80).copied().flatten(),
                _ => Some(c),
            })
            .collect();
        if let Some(fixed) = fixed.filter(|f| f != text) {
            return Some(fixed);
        }
    }
    if chars.iter().any(|c| ('\u{80}'..='\u{9f}').contains(c)) {
        return Some(fix_c1_controls(text).unwrap_or_else(|| text.to_owned()));
    }
    None
}

/// `text.encode(codec)`, or None where ftfy's possible_encoding says it cannot be.
fn encode(map: &Charmap, chars: &[char]) -> Option<Vec<u8>> {
    chars
        .iter()
        .map(|&c| {
            if c.is_ascii() && c != '\x1a' {
                Some(c as u8)
            } else {
                let i = map.encode.binary_search_by_key(&c, |&(k, _)| k).ok()?;
                map.encode.get(i).map(|&(_, b)| b)
            }
        })
        .collect()
}

/// ftfy's ALTERED_UTF8_RE (UTF-8 sequences with byte A0 turned into a space): the first match
/// at or after `from`, as (start, end).
fn find_altered_utf8(b: &[u8], from: usize) -> Option<(usize, usize)> {
    let cont = |x: Option<u8>| matches!(x, Some(0x80..=0x84 | 0x86..=0x9f | 0xa1..=0xbf));
    let any = |x: Option<u8>| matches!(x, Some(0x80..=0xbf));
    let sp = |x: Option<u8>| x == Some(b' ');
    (from..b.len()).find_map(|i| {
        let at = |k: usize| b.get(i + k).copied();
        let len = match at(0)? {
            0xc2 | 0xc3 | 0xc5 | 0xce | 0xd0 | 0xd9 if sp(at(1)) => 2,
            0xe2 | 0xe3 if sp(at(1)) && cont(at(2)) => 3,
            0xe0..=0xe3 if cont(at(1)) && sp(at(2)) => 3,
            0xf0 if sp(at(1)) && any(at(2)) && any(at(3)) => 4,
            0xf0 if any(at(1)) && sp(at(2)) && any(at(3)) => 4,
            0xf0 if any(at(1)) && any(at(2)) && sp(at(3)) => 4,
            _ => return None,
        };
        Some((i, i + len))
    })
}

fn restore_byte_a0(bytes: &[u8]) -> Vec<u8> {
    // A_GRAVE_WORD_RE: "Ã " alone is "à " (French "à la"), except before Portuguese
    // "às", "àquele"… where the space belongs to the next word.
    let mut grave = Vec::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while let Some(&x) = bytes.get(i) {
        if x == 0xc3 && bytes.get(i + 1) == Some(&b' ') {
            let next = bytes.get(i + 2..).unwrap_or(&[]);
            let words: [&[u8]; 5] = [b" ", b"quele", b"quela", b"quilo", b"s "];
            let kept = words.iter().any(|w| next.starts_with(w));
            if !kept {
                grave.extend_from_slice(b"\xc3\xa0 ");
                i += 2;
                continue;
            }
        }
        grave.push(x);
        i += 1;
    }
    let mut out = Vec::with_capacity(grave.len());
    let mut pos = 0;
    while let Some((start, end)) = find_altered_utf8(&grave, pos) {
        out.extend_from_slice(&grave[pos..start]);
        out.extend(grave[start..end].iter().map(|&x| if x == b' ' { 0xa0 } else { x }));
        pos = end;
    }
    out.extend_from_slice(&grave[pos..]);
    out
}

/// ftfy's LOSSY_UTF8_RE: UTF-8 sequences with a byte lost to 1A (what the sloppy codecs make of
/// '\u{FFFD}') or '?'; each becomes the UTF-8 of '\u{FFFD}'.
fn replace_lossy_sequences(b: &[u8]) -> Vec<u8> {
    let lost = |x: Option<u8>| matches!(x, Some(0x1a | b'?'));
    let cont = |x: Option<u8>| matches!(x, Some(0x1a | 0x80..=0xbf));
    let either = |x: Option<u8>| matches!(x, Some(0x1a | b'?' | 0x80..=0xbf));
    let lossy_at = |i: usize| -> Option<usize> {
        let at = |k: usize| b.get(i + k).copied();
        let x0 = at(0)?;
        let hi = |x: Option<u8>| matches!(x, Some(0xa0..=0xaf));
        let lo = |x: Option<u8>| matches!(x, Some(0xb0..=0xbf));
        let ed = |x: Option<u8>| x == Some(0xed);
        Some(match x0 {
            0xc2..=0xdf if at(1) == Some(0x1a) => 2,
            0xc2..=0xc3 if at(1) == Some(b'?') => 2,
            0xed if hi(at(1)) && lost(at(2)) && ed(at(3)) && lo(at(4)) && either(at(5)) => 6,
            0xed if hi(at(1)) && either(at(2)) && ed(at(3)) && lo(at(4)) && lost(at(5)) => 6,
            0xe0..=0xef if lost(at(1)) && cont(at(2)) => 3,
            0xe0..=0xef if cont(at(1)) && lost(at(2)) => 3,
            0xf0..=0xf4 if lost(at(1)) && cont(at(2)) && cont(at(3)) => 4,
            0xf0..=0xf4 if cont(at(1)) && lost(at(2)) && cont(at(3)) => 4,
            0xf0..=0xf4 if cont(at(1)) && cont(at(2)) && lost(at(3)) => 4,
            0x1a => 1,
            _ => return None,
        })
    };
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&x) = b.get(i) {
        match lossy_at(i) {
            Some(len) => {
                out.extend_from_slice("\u{FFFD}".as_bytes());
                i += len;
            }
            None => {
                out.push(x);
                i += 1;
            }
        }
    }
    out
}

/// ftfy's "utf-8-variants" codec: UTF-8 that also takes CESU-8 surrogate pairs and Java's
/// C0 80 for NUL. None where Python raises UnicodeDecodeError.
fn decode_utf8_variants(b: &[u8]) -> Option<String> {
    let n = b.len();
    // Python's `$`: at the end, or before a final "\n".
    let dollar = |k: usize| k == n || (k + 1 == n && b.get(k) == Some(&b'\n'));
    // Where SPECIAL_BYTES_RE could match (its CESU-8 branch only matches where the
    // surrogate branch does too).
    let special = |p: usize| match b.get(p) {
        Some(0xc0) => b.get(p + 1) == Some(&0x80) || dollar(p + 1),
        Some(0xed) => {
            dollar(p + 1)
                || (matches!(b.get(p + 1), Some(0xa0..=0xbf))
                    && (matches!(b.get(p + 2), Some(0x80..=0xbf)) || dollar(p + 2)))
        }
        _ => false,
    };
    let mut out = String::with_capacity(n);
    let mut pos = 0;
    while pos < n {
        let cut = (pos..n).find(|&p| special(p)).unwrap_or(n);
        if cut > pos {
            out.push_str(std::str::from_utf8(&b[pos..cut]).ok()?);
            pos = cut;
            continue;
        }
        let rest = &b[pos..];
        if rest.first() == Some(&0xc0) {
            if rest.len() < 2 {
                return None;
            }
            out.push('\0');
            pos += 2;
            continue;
        }
        if rest.len() < 6 {
            out.push_str(std::str::from_utf8(rest).ok()?);
            break;
        }
        let is = |k: usize, lo: u8, hi: u8| rest.get(k).is_some_and(|x| (lo..=hi).contains(x));
        let cesu = is(1, 0xa0, 0xaf)
            && is(2, 0x80, 0xbf)
            && rest.get(3) == Some(&0xed)
            && is(4, 0xb0, 0xbf)
            && (is(5, 0x80, 0xbf) || (rest.len() == 6 && rest.get(5) == Some(&b'\n')));
        if !cesu {
            return None;
        }
        let bits = |k: usize, mask: u8| u32::from(rest.get(k).copied().unwrap_or(0) & mask);
        let cp = (bits(1, 0x0f) << 16) + (bits(2, 0x3f) << 10) + (bits(4, 0x0f) << 6) + bits(5, 0x3f) + 0x10000;
        out.push(char::from_u32(cp)?);
        pos += 6;
    }
    Some(out)
}

/// ftfy's UTF8_DETECTOR_RE: runs of what look like UTF-8 sequences decoded with a single-byte
/// codec, not preceded by a continuation-like char. Its matches, as (start, end) char indices.
fn utf8_detector_matches(chars: &[char]) -> Vec<(usize, usize)> {
    let is = |k: usize, set: &[(u32, u32)]| chars.get(k).is_some_and(|&c| in_ranges(set, c));
    let conts = |k: usize, count: usize| (k..k + count).all(|j| is(j, UTF8_CONTINUATION));
    let mut found = Vec::new();
    let mut s = 0;
    while s < chars.len() {
        if s > 0 && is(s - 1, UTF8_CONTINUATION_STRICT) {
            s += 1;
            continue;
        }
        let mut p = s;
        loop {
            let len = if is(p, UTF8_FIRST_OF_2) && conts(p + 1, 1) {
                2
            } else if is(p, UTF8_FIRST_OF_3) && conts(p + 1, 2) {
                3
            } else if is(p, UTF8_FIRST_OF_4) && conts(p + 1, 3) {
                4
            } else {
                break;
            };
            p += len;
        }
        if p > s {
            found.push((s, p));
            s = p;
        } else {
            s += 1;
        }
    }
    found
}

/// ftfy's `decode_inconsistent_utf8`: fix each mojibake-looking run on its own, for text glued
/// together from different encodings.
fn decode_inconsistent_utf8(chars: &[char]) -> String {
    let mut out = String::new();
    let mut last = 0;
    for (s, e) in utf8_detector_matches(chars) {
        out.extend(&chars[last..s]);
        let run = &chars[s..e];
        // Only runs shorter than the text, so this cannot recurse forever.
        if run.len() < chars.len() && is_bad(run) {
            let run: String = run.iter().collect();
            out.push_str(&fix_encoding(&run).unwrap_or(run));
        } else {
            out.extend(run);
        }
        last = e;
    }
    out.extend(&chars[last..]);
    out
}

/// ftfy's `is_bad`: whether BADNESS_RE matches anywhere. The generator compiled the regex
/// into alternatives of character classes; each char gets the mask of classes it is in.
fn is_bad(chars: &[char]) -> bool {
    let masks: Vec<u128> = chars.iter().map(|&c| badness_mask(c)).collect();
    (0..masks.len())
        .any(|i| BADNESS_ALTS.iter().any(|alt| (!alt.anchored || i == 0) && alternative_matches(alt.items, &masks, i)))
}

fn alternative_matches(items: &[(u8, bool)], masks: &[u128], i: usize) -> bool {
    let Some((&(bit, optional), rest)) = items.split_first() else { return true };
    let here = masks.get(i).is_some_and(|m| (m >> bit) & 1 == 1);
    (here && alternative_matches(rest, masks, i + 1)) || (optional && alternative_matches(rest, masks, i))
}

fn badness_mask(c: char) -> u128 {
    let after = BADNESS_MASKS.partition_point(|&(start, _)| start <= c as u32);
    after.checked_sub(1).and_then(|i| BADNESS_MASKS.get(i)).map_or(0, |&(_, m)| m)
}

// ---------------------------------------------------------------------------------------------
// str.strip and whitespace_clean.

fn py_strip(s: &str) -> &str {
    s.trim_matches(|c| in_ranges(PY_ISSPACE, c))
}

/// `regex.sub(r'\s+', ' ', s.strip()).strip()`: the `regex` module's `\s` (Unicode White_Space)
/// differs from `str.strip`'s (which also strips U+001C..U+001F).
fn whitespace_clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_space = false;
    for c in py_strip(s).chars() {
        if in_ranges(REGEX_SPACE, c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    py_strip(&out).to_owned()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn curly_apostrophe_and_quotes_are_straightened() {
        assert_eq!(clean("a photo of my dog\u{2019}s \u{201c}toy\u{201d}"), "a photo of my dog's \"toy\"");
    }

    #[test]
    fn html_entities_are_decoded() {
        assert_eq!(clean("salt &amp; pepper"), "salt & pepper");
        assert_eq!(clean("fish &amp;amp; chips"), "fish & chips");
        assert_eq!(clean("&lt;b&gt;bold&lt;/b&gt; &copy; 2021"), "<b>bold</b> \u{a9} 2021");
        assert_eq!(clean("caf&eacute; &#233; &#xE9;"), "caf\u{e9} \u{e9} \u{e9}");
    }

    #[test]
    fn full_width_letters_become_ascii() {
        assert_eq!(clean("\u{ff21} \u{ff50}\u{ff48}\u{ff4f}\u{ff54}\u{ff4f}\u{3000}\u{ff11}\u{ff12}"), "A photo 12");
    }

    #[test]
    fn mojibake_is_decoded() {
        assert_eq!(clean("caf\u{c3}\u{a9}"), "caf\u{e9}");
        assert_eq!(clean("don\u{e2}\u{20ac}\u{2122}t"), "don't");
        assert_eq!(clean("\u{c3}\u{bc}ber"), "\u{fc}ber");
    }

    #[test]
    fn ligatures_controls_and_whitespace() {
        assert_eq!(clean("\u{fb01}sh"), "fish");
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m\u{0} dog"), "red dog");
        assert_eq!(clean("  a\t\tdog\r\n\u{a0}on\u{3000}grass \n"), "a dog on grass");
    }

    #[test]
    fn empty_and_blank() {
        assert_eq!(clean(""), "");
        assert_eq!(clean(" \t\n\u{3000}\u{feff} "), "");
    }
}

#!/usr/bin/env python3
"""Generate crate/src/text_clean_tables.rs, the data behind crate/src/text_clean.rs.

text_clean.rs ports the text cleaning that OpenAI's CLIP tokenizer runs before BPE
(`clip/simple_tokenizer.py`: ftfy.fix_text, html.unescape twice, strip, collapse whitespace).
Everything table-shaped in that port comes from the installed Python modules, so it is exactly
what they use: ftfy's character classes and its mojibake ("badness") regex, the single-byte
codecs it re-encodes with, its ligature and width maps, the HTML5 entity table and the
numeric-reference rules of Python's `html` module, and the whitespace/digit/word classes of
Python's `re` and of the `regex` module CLIP's whitespace_clean uses.

Run by hand from the repository root (needs ftfy 6.3.1 and regex):

    pip install ftfy==6.3.1 regex
    python3 tests/make_text_clean_tables.py

The few small regexes text_clean.rs ports by hand are checked here against ftfy's and html's
current patterns, so a different ftfy makes this script stop rather than silently drift.
"""

import bisect
import html
import html.entities
import random
import re
import sys
import unicodedata
from pathlib import Path

import regex

import ftfy
from ftfy import badness, chardata, fixes
from ftfy.bad_codecs import utf8_variants

OUT = Path(__file__).resolve().parent.parent / "crate" / "src" / "text_clean_tables.rs"
MAX = 0x110000

if ftfy.__version__ != "6.3.1":
    sys.exit(f"ftfy {ftfy.__version__} is installed; text_clean.rs ports ftfy 6.3.1")

# --- patterns text_clean.rs ports by hand: stop if ftfy/html changed them -------------------
HAND_PORTED = {
    "fixes.ANSI_RE": (fixes.ANSI_RE.pattern, "\033\\[((?:\\d|;)*)([a-zA-Z])"),
    "fixes.A_GRAVE_WORD_RE": (fixes.A_GRAVE_WORD_RE.pattern, b"\xc3 (?! |quele|quela|quilo|s )"),
    "chardata.HTML_ENTITY_RE": (chardata.HTML_ENTITY_RE.pattern, r"&#?[0-9A-Za-z]{1,24};"),
    "chardata.ALTERED_UTF8_RE": (
        chardata.ALTERED_UTF8_RE.pattern,
        b"[\xc2\xc3\xc5\xce\xd0\xd9][ ]"
        b"|[\xe2\xe3][ ][\x80-\x84\x86-\x9f\xa1-\xbf]"
        b"|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf][ ]"
        b"|[\xf0][ ][\x80-\xbf][\x80-\xbf]"
        b"|[\xf0][\x80-\xbf][ ][\x80-\xbf]"
        b"|[\xf0][\x80-\xbf][\x80-\xbf][ ]",
    ),
    "chardata.LOSSY_UTF8_RE": (
        chardata.LOSSY_UTF8_RE.pattern,
        b"[\xc2-\xdf][\x1a]"
        b"|[\xc2-\xc3][?]"
        b"|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]"
        b"|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]"
        b"|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]"
        b"|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]"
        b"|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]"
        b"|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]"
        b"|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]"
        b"|\x1a",
    ),
    "chardata.C1_CONTROL_RE": (chardata.C1_CONTROL_RE.pattern, r"[\x80-\x9f]"),
    "chardata.SINGLE_QUOTE_RE": (chardata.SINGLE_QUOTE_RE.pattern, "[\u02bc\u2018-\u201b]"),
    "chardata.DOUBLE_QUOTE_RE": (chardata.DOUBLE_QUOTE_RE.pattern, "[\u201c-\u201f]"),
    "chardata.CHARMAP_ENCODINGS": (
        chardata.CHARMAP_ENCODINGS,
        ["latin-1", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250",
         "sloppy-windows-1253", "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2",
         "macroman", "cp437"],
    ),
    "utf8_variants.SPECIAL_BYTES_RE": (
        utf8_variants.SPECIAL_BYTES_RE.pattern,
        b"(\xc0(\x80|$))|(\xed([\xa0-\xaf]|$)([\x80-\xbf]|$)(\xed|$)([\xb0-\xbf]|$)([\x80-\xbf]|$))"
        b"|(\xed([\xa0-\xbf]|$)([\x80-\xbf]|$))",
    ),
    "html._charref": (
        html._charref.pattern,
        r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)",
    ),
    "TextFixerConfig defaults": (
        tuple(ftfy.TextFixerConfig()),
        ("auto", True, True, True, True, True, True, True, True, True, True, True, True, "NFC",
         1000000, True),
    ),
}
for what, (actual, expected) in HAND_PORTED.items():
    if actual != expected:
        sys.exit(f"{what} changed: {actual!r}; update text_clean.rs, then this check")

# The order of the fixers inside fix_and_explain is a local list: check its source text.
_src = Path(ftfy.__file__).read_text()
_ORDER = '''            "fix_c1_controls",
            "fix_latin_ligatures",
            "fix_character_width",
            "uncurl_quotes",
            "fix_line_breaks",
            "fix_surrogates",
            "remove_terminal_escapes",
            "remove_control_chars",'''
if _ORDER not in _src:
    sys.exit("the order of ftfy's fixers changed; update text_clean.rs")


# --- helpers ---------------------------------------------------------------------------------
def chars_matching(pattern):
    """All code points (surrogates excluded: a Rust str has none) a 1-char regex matches."""
    return {c for c in range(MAX) if not 0xD800 <= c <= 0xDFFF and pattern.match(chr(c))}


def to_ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return [tuple(r) for r in out]


def rs_str(s):
    """A Rust string literal: printable ASCII as is, everything else escaped."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    return '"' + "".join(out) + '"'


def rs_char(c):
    return "'\\u{%x}'" % c


def rs_ranges(name, ranges, doc):
    body = ", ".join("(0x%x, 0x%x)" % r for r in ranges)
    return f"/// {doc}\npub(super) static {name}: &[(u32, u32)] = &[{body}];\n"


def wrap(items, indent="    ", width=100):
    lines, cur = [], indent
    for it in items:
        piece = it + ", "
        if len(cur) + len(piece) > width and cur.strip():
            lines.append(cur.rstrip())
            cur = indent
        cur += piece
    if cur.strip():
        lines.append(cur.rstrip())
    return "\n".join(lines)


out = []

# --- Python / regex character classes --------------------------------------------------------
PY_SPACE = {c for c in range(MAX) if chr(c).isspace()}
RE_SPACE = chars_matching(re.compile(r"\s"))
assert RE_SPACE == PY_SPACE - set(range(0xD800, 0xE000))
REGEX_SPACE = chars_matching(regex.compile(r"\s"))
RE_DIGIT = chars_matching(re.compile(r"\d"))
RE_WORD = chars_matching(re.compile(r"\w"))

out.append(rs_ranges("PY_ISSPACE", to_ranges(PY_SPACE),
                     "Python's `str.isspace` (what `str.strip()` strips); also `re`'s `\\s`."))
out.append(rs_ranges("REGEX_SPACE", to_ranges(REGEX_SPACE),
                     "`\\s` of the `regex` module, which CLIP's whitespace_clean uses."))
# The pre-tokenizer pattern of clip/simple_tokenizer.py (crate/src/tokenizer.rs):
# '<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+'
REGEX_LETTER = chars_matching(regex.compile(r"\p{L}"))
REGEX_NUMBER = chars_matching(regex.compile(r"\p{N}"))
out.append(rs_ranges("REGEX_LETTER", to_ranges(REGEX_LETTER),
                     "`\\p{L}` of the `regex` module, for CLIP's BPE pre-tokenizer pattern."))
out.append(rs_ranges("REGEX_NUMBER", to_ranges(REGEX_NUMBER),
                     "`\\p{N}` of the `regex` module, for CLIP's BPE pre-tokenizer pattern."))
out.append(rs_ranges("RE_DIGIT", to_ranges(RE_DIGIT),
                     "`\\d` of Python's `re` on str (Unicode decimal digits), for ANSI_RE."))

# --- ftfy's simple translation tables ------------------------------------------------------
lig = sorted(chardata.LIGATURES.items())
out.append("/// ftfy's LIGATURES (fix_latin_ligatures).\npub(super) static LIGATURES: &[(char, &str)] = &[\n"
           + wrap([f"({rs_char(k)}, {rs_str(v)})" for k, v in lig]) + "\n];\n")
width = sorted(chardata.WIDTH_MAP.items())
out.append("/// ftfy's WIDTH_MAP (fix_character_width).\npub(super) static WIDTH_MAP: &[(char, &str)] = &[\n"
           + wrap([f"({rs_char(k)}, {rs_str(v)})" for k, v in width]) + "\n];\n")
assert all(v is None for v in chardata.CONTROL_CHARS.values())
out.append(rs_ranges("CONTROL_CHARS", to_ranges(chardata.CONTROL_CHARS),
                     "ftfy's CONTROL_CHARS (remove_control_chars deletes them)."))

# --- single-byte codecs --------------------------------------------------------------------
ASCII_BASE = [c for c in range(0x80) if c != 0x1A]
encodings = []
for enc in chardata.CHARMAP_ENCODINGS:
    charlist = bytes(list(range(0x80, 0x100)) + [0x1A]).decode(enc)
    possible = set(ASCII_BASE) | {ord(ch) for ch in charlist}
    # The same set ftfy's possible_encoding() regex accepts.
    rx = chardata.ENCODING_REGEXES[enc]
    probe = list(possible) + [c for c in range(0x2000) if c not in possible]
    for c in probe:
        assert bool(rx.match(chr(c))) == (c in possible), (enc, c)
    for c in ASCII_BASE:
        assert chr(c).encode(enc) == bytes([c]), (enc, c)
    table = []
    for ch in sorted(set(charlist)):
        b = ch.encode(enc)
        assert len(b) == 1
        table.append((ord(ch), b[0]))
    encodings.append((enc, table))
out.append("""/// A single-byte codec ftfy tries, in ftfy's order (chardata.CHARMAP_ENCODINGS). A str is
/// encodable iff each char is ASCII other than U+001A, or is in `encode`.
pub(super) struct Charmap {
    pub name: &'static str,
    /// Non-ASCII (and U+001A) chars and their bytes, sorted by char.
    pub encode: &'static [(char, u8)],
}
""")
out.append("pub(super) static CHARMAPS: &[Charmap] = &[\n")
for enc, table in encodings:
    out.append(f"    Charmap {{\n        name: {rs_str(enc)},\n        encode: &[\n")
    out.append(wrap([f"({rs_char(c)}, 0x{b:02x})" for c, b in table], indent="            ") + "\n")
    out.append("        ],\n    },\n")
out.append("];\n")

# windows-1252 for bytes 0x80..0x9F: sloppy (fix_c1_controls) and strict (latin-1 -> 1252).
sloppy, strict = [], []
for b in range(0x80, 0xA0):
    sloppy.append(ord(bytes([b]).decode("sloppy-windows-1252")))
    try:
        strict.append(ord(bytes([b]).decode("windows-1252")))
    except UnicodeDecodeError:
        strict.append(None)
out.append("/// sloppy-windows-1252 decoding of bytes 0x80..=0x9F (fix_c1_controls).\n"
           "pub(super) static SLOPPY_1252_C1: [char; 32] = [\n"
           + wrap([rs_char(c) for c in sloppy]) + "\n];\n")
out.append("/// Strict windows-1252 decoding of bytes 0x80..=0x9F; None where Python raises.\n"
           "pub(super) static STRICT_1252_C1: [Option<char>; 32] = [\n"
           + wrap(["None" if c is None else f"Some({rs_char(c)})" for c in strict]) + "\n];\n")

# --- HTML ----------------------------------------------------------------------------------
h5 = sorted(html.entities.html5.items(), key=lambda kv: kv[0].encode())
out.append("/// Python's html.entities.html5 (names without '&', some without ';'), sorted by name.\n"
           "pub(super) static HTML5: &[(&str, &str)] = &[\n"
           + wrap([f"({rs_str(k)}, {rs_str(v)})" for k, v in h5]) + "\n];\n")
# ftfy's HTML_ENTITIES = "&name;" for the html5 names with ';' plus all-caps variants.
extra = {}
for k, v in chardata.HTML_ENTITIES.items():
    assert k.startswith("&") and k.endswith(";")
    name = k[1:]
    if name in html.entities.html5:
        assert html.entities.html5[name] == v
    else:
        extra[name] = v
assert len(chardata.HTML_ENTITIES) == len(extra) + sum(1 for k in html.entities.html5 if k.endswith(";"))
ex = sorted(extra.items(), key=lambda kv: kv[0].encode())
out.append("/// The all-caps entities ftfy adds to HTML5's (like `EACUTE;`), sorted by name.\n"
           "pub(super) static FTFY_CAPS_ENTITIES: &[(&str, &str)] = &[\n"
           + wrap([f"({rs_str(k)}, {rs_str(v)})" for k, v in ex]) + "\n];\n")
inv = sorted(html._invalid_charrefs.items())
out.append("/// html._invalid_charrefs: numeric references HTML5 remaps.\n"
           "pub(super) static INVALID_CHARREFS: &[(u32, char)] = &[\n"
           + wrap([f"(0x{k:x}, {rs_char(ord(v))})" for k, v in inv]) + "\n];\n")
out.append(rs_ranges("INVALID_CODEPOINTS", to_ranges(html._invalid_codepoints),
                     "html._invalid_codepoints: numeric references that decode to nothing."))


# --- ftfy's badness regex, compiled to alternatives of character classes ---------------------
def parse_verbose_alternatives(pattern):
    """Parse ftfy's BADNESS_RE (verbose; alternatives of single-char items, `?`, `^`) into
    [(anchored, [(class, optional)])], each class a set of code points."""
    alts, items, anchored = [], [], False
    i, n = 0, len(pattern)

    def escape(j):
        c = pattern[j]
        if c == "x":
            return ("cp", int(pattern[j + 1:j + 3], 16)), j + 3
        if c == "s":
            return ("set", RE_SPACE), j + 1
        if c == "w":
            return ("set", RE_WORD), j + 1
        if c == "d":
            return ("set", RE_DIGIT), j + 1
        assert not c.isalnum(), c
        return ("cp", ord(c)), j + 1

    while i < n:
        c = pattern[i]
        if c in " \t\n\r\v\f":
            i += 1
        elif c == "#":
            while i < n and pattern[i] != "\n":
                i += 1
        elif c == "|":
            alts.append((anchored, items))
            items, anchored = [], False
            i += 1
        elif c == "^":
            assert not items
            anchored = True
            i += 1
        elif c == "?":
            cls, opt = items[-1]
            assert not opt
            items[-1] = (cls, True)
            i += 1
        elif c == ".":
            items.append((set(range(MAX)) - {0x0A}, False))
            i += 1
        elif c == "[":
            i += 1
            negate = pattern[i] == "^"
            if negate:
                i += 1
            cls, first = set(), True
            while first or pattern[i] != "]":
                first = False
                if pattern[i] == "\\":
                    kind, i = escape(i + 1)
                else:
                    kind, i = ("cp", ord(pattern[i])), i + 1
                if kind[0] == "cp" and pattern[i] == "-" and pattern[i + 1] != "]":
                    if pattern[i + 1] == "\\":
                        hi, i = escape(i + 2)
                    else:
                        hi, i = ("cp", ord(pattern[i + 1])), i + 2
                    assert hi[0] == "cp"
                    cls |= set(range(kind[1], hi[1] + 1))
                elif kind[0] == "cp":
                    cls.add(kind[1])
                else:
                    cls |= kind[1]
            i += 1
            if negate:
                cls = set(range(MAX)) - cls
            items.append((cls, False))
        elif c == "\\":
            kind, i = escape(i + 1)
            items.append(({kind[1]} if kind[0] == "cp" else kind[1], False))
        elif c in "()*+{}$":
            raise SystemExit(f"BADNESS_RE uses {c!r}, which this parser does not handle")
        else:
            items.append(({ord(c)}, False))
            i += 1
    alts.append((anchored, items))
    return alts


BAD_ALTS = parse_verbose_alternatives(badness.BADNESS_RE.pattern)
surrogates = set(range(0xD800, 0xE000))
classes = []  # distinct classes, as frozensets
for _, items in BAD_ALTS:
    for cls, _ in items:
        f = frozenset(cls - surrogates)
        if f not in classes:
            classes.append(f)
assert len(classes) <= 128, len(classes)
class_ranges = [to_ranges(c) for c in classes]
ALT_BITS = [(anchored, [(classes.index(frozenset(cls - surrogates)), opt) for cls, opt in items])
            for anchored, items in BAD_ALTS]


def mask_of(cp):
    m = 0
    for bit, rs in enumerate(class_ranges):
        k = bisect.bisect_right(rs, (cp, MAX)) - 1
        if k >= 0 and rs[k][0] <= cp <= rs[k][1]:
            m |= 1 << bit
    return m


bounds = {0}
for rs in class_ranges:
    for lo, hi in rs:
        bounds.add(lo)
        bounds.add(hi + 1)
intervals, last = [], None
for b in sorted(bounds):
    if b >= MAX:
        continue
    m = mask_of(b)
    if m != last:
        intervals.append((b, m))
        last = m

# Check the compiled form against ftfy's regex: a Python model of the Rust matcher.
def model_is_bad(text):
    masks = [mask_of(ord(ch)) for ch in text]

    def at(items, i):
        if not items:
            return True
        (bit, opt), rest = items[0], items[1:]
        if i < len(masks) and masks[i] >> bit & 1 and at(rest, i + 1):
            return True
        return opt and at(rest, i)

    return any(at(items, i) for i in range(len(text)) for anch, items in ALT_BITS
               if not anch or i == 0)


alphabet = sorted({chr(c) for f in classes if len(f) < 5000 for c in f} | set("aZ \n\tx.!"))
rnd = random.Random(1)
for trial in range(40000):
    s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 5)))
    assert model_is_bad(s) == badness.is_bad(s), repr(s)

out.append(f"""/// ftfy's BADNESS_RE as {len(BAD_ALTS)} alternatives, each a sequence of character classes (bits
/// of the masks below); `is_bad` is true iff some alternative matches somewhere.
pub(super) struct BadAlt {{
    /// `^`: only at the start of the text.
    pub anchored: bool,
    /// (class bit, optional `?`).
    pub items: &'static [(u8, bool)],
}}
pub(super) static BADNESS_ALTS: &[BadAlt] = &[
""")
for anchored, items in ALT_BITS:
    its = ", ".join(f"({bit}, {str(opt).lower()})" for bit, opt in items)
    out.append(f"    BadAlt {{ anchored: {str(anchored).lower()}, items: &[{its}] }},\n")
out.append("];\n")
out.append("/// (first code point, class mask) intervals covering all code points, sorted.\n"
           "pub(super) static BADNESS_MASKS: &[(u32, u128)] = &[\n"
           + wrap([f"(0x{b:x}, 0x{m:x})" for b, m in intervals]) + "\n];\n")

# --- ftfy's UTF8_DETECTOR_RE -----------------------------------------------------------------
EXPECTED_DETECTOR = """
    (?<! [{utf8_continuation_strict}])
    (
        [{utf8_first_of_2}] [{utf8_continuation}]
        |
        [{utf8_first_of_3}] [{utf8_continuation}]{{2}}
        |
        [{utf8_first_of_4}] [{utf8_continuation}]{{3}}
    )+
    """.format(**chardata.UTF8_CLUES)
if chardata.UTF8_DETECTOR_RE.pattern != EXPECTED_DETECTOR:
    sys.exit("UTF8_DETECTOR_RE changed; update text_clean.rs")
UTF8_BITS = ["utf8_first_of_2", "utf8_first_of_3", "utf8_first_of_4", "utf8_continuation",
             "utf8_continuation_strict"]
assert set(UTF8_BITS) == set(chardata.UTF8_CLUES)
utf8_sets = []
for name in UTF8_BITS:
    (anch, items), = parse_verbose_alternatives("[" + chardata.UTF8_CLUES[name] + "]")
    utf8_sets.append(to_ranges(items[0][0]))
for k, name in enumerate(UTF8_BITS):
    out.append(rs_ranges("UTF8_" + name.upper().replace("UTF8_", ""), utf8_sets[k],
                         f"ftfy's `UTF8_CLUES[{name!r}]`."))

header = """// @generated by tests/make_text_clean_tables.py from ftfy {ftfy}, Python {py} (Unicode {uni})
// and regex {rx}. Do not edit; rerun the script. Included by text_clean.rs.
""".format(ftfy=ftfy.__version__, py=sys.version.split()[0], uni=unicodedata.unidata_version,
           rx=regex.__version__)
OUT.write_text(header + "\n" + "\n".join(out))
print(f"wrote {OUT} ({OUT.stat().st_size} bytes), {len(classes)} badness classes, "
      f"{len(intervals)} mask intervals")

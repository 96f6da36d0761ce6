#!/usr/bin/env python3
"""Write tests/fixtures/messy_prompts.json: messy prompts and what OpenAI's CLIP makes of them.

For each prompt `text`:
  clean  whitespace_clean(basic_clean(text)) of openai-clip's clip/simple_tokenizer.py (ftfy,
         html.unescape twice, strip, whitespace collapsed; not lowercased), which
         crate/src/text_clean.rs must reproduce exactly;
  ids    clip.tokenize(text, truncate=True)[0] with the zero padding removed: the ids CLIP was
         trained with (start token, BPE of the cleaned lowercased text, end token; at most 77).

Run by hand from the repository root:

    pip install openai-clip ftfy==6.3.1 regex torch
    python3 tests/make_messy_prompts.py

clip/clip.py imports pkg_resources and torchvision at the top, for loading checkpoints and
preprocessing images; tokenize needs neither, so where they are not installed this script puts
inert stand-ins in their place before importing clip.
"""

import importlib.util
import json
import random
import sys
import types
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "messy_prompts.json"


def import_clip():
    if importlib.util.find_spec("pkg_resources") is None:
        import packaging.version

        stub = types.ModuleType("pkg_resources")
        stub.packaging = packaging
        sys.modules["pkg_resources"] = stub
    if importlib.util.find_spec("torchvision") is None:
        tv = types.ModuleType("torchvision")
        tr = types.ModuleType("torchvision.transforms")
        for name in ["Compose", "Resize", "CenterCrop", "ToTensor", "Normalize"]:
            setattr(tr, name, None)
        tv.transforms = tr
        sys.modules["torchvision"] = tv
        sys.modules["torchvision.transforms"] = tr
    import clip
    from clip.simple_tokenizer import basic_clean, whitespace_clean

    return clip, basic_clean, whitespace_clean


def mojibake(s, encoding, errors="strict"):
    return s.encode("utf-8").decode(encoding, errors=errors)


def prompts():
    out = []

    def add(kind, *texts):
        out.extend((kind, t) for t in texts)

    add("ordinary",
        "a photo of a dog.", "A photo of a cat", "an image of a red car parked on the street",
        "a close-up photo of a sunflower", "a photo of the number 7", "3 apples and 12 oranges",
        "it's a dog, they're cats, we'll see, I'd say, don't, you've, I'm", "IT'S A DOG!!!",
        "www.example.com/photo_01.jpg", "someone@example.com", "#sunset @photographer",
        "???", "a photo of a <|endoftext|> token", "<|startoftext|>hello", "a dog</w>",
        "a photo of a cat; a photo of a dog: which?", "100% cotton t-shirt (size M)",
        "C++ and C# code", "A_B-C.D/E\\F", "\"quoted\" and 'single'")

    # OpenAI's pattern finds the special tokens only where a match can start: after punctuation
    # the punctuation run swallows "<|" (transformers' tokenizer.json extracts them anywhere).
    add("special tokens",
        "(<|endoftext|>x", "a<|endoftext|>b", "\"<|startoftext|>\"", "dog.<|endoftext|>",
        "<|endoftext|", "1\u216b'<|startoftext|>!\u00f1<|\u05e9x", "&lt;|endoftext|&gt;")

    add("curly quotes",
        "a photo of my dog\u2019s toy", "\u201cdon\u2019t panic\u201d", "\u2018single\u2019 quotes",
        "\u201alow\u2019 and \u201elow double\u201c", "\u201breversed\u201f", "can\u02bct stop",
        "\u00abguillemets\u00bb and \u2039single\u203a", "6\u2032 2\u2033 tall",
        "\u300cJapanese quotes\u300d \u300edouble\u300f", "\u201c\u201c\u201d\u201d")

    add("dashes and punctuation",
        "a photo \u2013 taken in 2021 \u2014 of a dog", "pages 10\u201220 \u2015 figure",
        "non\u2010breaking\u2011hyphen", "\u22125 degrees", "wait\u2026 what", "a \u2022 bullet \u00b7 dot",
        "Brand\u2122 and \u00ae and \u00a9 2021", "25\u00b0C \u00d7 3 \u00f7 2", "\u00bd cup and \u00bc tsp",
        "x\u00b2 + y\u00b3", "\u00bfQu\u00e9? \u00a1S\u00ed!", "\u00a7 12 \u00b6 3", "\u2030 per mille")

    add("full width",
        "\uff21 \uff50\uff48\uff4f\uff54\uff4f \uff4f\uff46 \uff41 \uff44\uff4f\uff47\uff0e",
        "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33\uff01",
        "\uff11\uff12\uff13\uff14\uff15", "\uff35\uff80\uff70\uff9d", "\uff76\uff80\uff76\uff85 katakana",
        "\uffe5100 \uffe1 \uffe0 \uffe3", "\uff08\uff3e\uff3f\uff3e\uff09", "\uff3bbracket\uff3d\uff5b\uff5d",
        "\uffa1\uffa4 halfwidth hangul", "\uff5e\uff5c\uff3c")

    add("html",
        "salt &amp; pepper", "fish &amp;amp; chips", "&amp;amp;amp;amp;lt;deep&amp;amp;amp;amp;gt;",
        "&lt;b&gt;bold&lt;/b&gt;", "&quot;quoted&quot; &apos;single&apos;", "caf&eacute; au lait",
        "it&rsquo;s &ldquo;fine&rdquo; &hellip; &mdash; &ndash;", "it&#8217;s &#x2019; &#X2019; &#39;",
        "&nbsp;&nbsp;padded&nbsp;", "&copy; 2021 &reg; &trade;", "AT&T and Q&A and R&D",
        "this&not that", "&notit; &notin;", "&ampfoo &amp &lt &gt &copy &eacute", "&amp &amp; &AMP;",
        "&EACUTE;COLE P&EACUTE;REZ", "BUNDESSTRA&SZLIG;E", "&ntilde; &Ntilde; &NTILDE; &nTILDE;",
        "&#65;&#66;&#67", "&#0; &#1; &#x0; &#13; &#128; &#x80; &#150; &#x9d; &#157;",
        "&#xD800; &#xDFFF; &#x110000; &#1114111; &#99999999999999999999;", "&#xFFFF; &#xFDD0; &#x1FFFE;",
        "&#x1F600; &#128512; smile", "&#59; &#x3B; &#38; &#x26;", "&#x; &#xyz; &# &#; &;",
        "&frac12; cup &hearts; &spades; &clubs;", "&CounterClockwiseContourIntegral;",
        "&ThickSpace;x&NotNestedLessLess;&bne;", "&thisisnotanentitybutaverylongname;",
        "&Jscr;ohn &HilbertSpace;ancock &checkmark;", "&lt;3 you", "a &lt; b &gt; c",
        "<b>bold</b> &amp; &eacute;", "line one &amp;\n<i>line two</i> &amp;\nline three &amp;",
        "first &amp; line\nsecond &eacute; line", "&amp;#39;double&amp;#39;",
        "&lt;&gt;&amp;&quot;&#39;&nbsp;&copy;&reg;&euro;&pound;&yen;&cent;",
        "&AElig;&aelig;&szlig;&THORN;&thorn;&ETH;", "&euro;5 &pound;3", "&Amp; &amP; &AMP",
        "&#x26;amp; &#38;lt;", "&&amp;&&", "& amp; &\tlt;", "caf\u00e9&eacute\u00e9",
        "&amp;\u00e9\u00e9\u00e9", "&fjlig; &NewLine; &Tab;x", "&lsquo;&rsquo;&sbquo;&ldquo;&rdquo;&bdquo;")

    moji_words = ["caf\u00e9", "na\u00efve", "don\u2019t", "\u00fcber", "\u00c4\u00d6\u00dc \u00e4\u00f6\u00fc \u00df",
                  "cr\u00e8me br\u00fbl\u00e9e", "jalape\u00f1o", "\u201cquoted\u201d", "a \u2014 dash",
                  "wait\u2026", "S\u00e3o Paulo", "Z\u00fcrich", "\u0141\u00f3d\u017a", "\u010cesk\u00fd Krumlov",
                  "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac", "\u0420\u0443\u0441\u0441\u043a\u0438\u0439",
                  "\u65e5\u672c\u8a9e", "\U0001f600 smile", "\u20ac5", "\u00e0 la mode", "\u2713 done"]
    for w in moji_words:
        add("mojibake utf-8 as windows-1252", mojibake(w, "sloppy-windows-1252"))
    for w in moji_words[:12]:
        add("mojibake utf-8 as latin-1", mojibake(w, "latin-1"))
    for w in ["caf\u00e9", "don\u2019t", "\u00fcber", "na\u00efve"]:
        add("mojibake doubly encoded", mojibake(mojibake(w, "sloppy-windows-1252"), "sloppy-windows-1252"))
        add("mojibake doubly encoded", mojibake(mojibake(w, "latin-1"), "sloppy-windows-1252"))
    add("mojibake other codecs",
        mojibake("caf\u00e9 na\u00efve", "cp437"), mojibake("caf\u00e9 na\u00efve", "macroman"),
        mojibake("\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442", "sloppy-windows-1251"),
        mojibake("Pr\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148", "sloppy-windows-1250"),
        mojibake("\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac", "sloppy-windows-1253"),
        mojibake("\u0130stanbul \u015fehir", "sloppy-windows-1254"), mojibake("\u0161\u0113\u012b", "sloppy-windows-1257"),
        mojibake("\u017elu\u0165ou\u010dk\u00fd", "iso-8859-2"))
    add("mojibake by hand",
        "caf\u00c3\u00a9", "don\u00e2\u20ac\u2122t", "\u00c3\u00bcber", "\u00c3 la mode", "voil\u00c3 le travail",
        "f\u00c3 cil", "\u00c3 s vezes", "\u00c3 quele", "\u00c3\u00a0 la mode",
        "\u00e2\u20ac\u0153quoted\u00e2\u20ac\ufffd", "\u00e2\u20ac\u0153 like this \u00e2\u20ac\ufffd",
        "\u00e2\u0153\u201d No problems", "&macr;\\_(\u00e3\x83\x84)_/&macr;", "sÃ³",
        "I said caf\u00e9 and then caf\u00c3\u00a9", "na\u00efve and donâ€™t and cafÃ©",
        "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.", "Ã¢â‚¬Å“triple",
        "ÃƒÆ’Ã‚Â©", "Ã\x83Â©", "caf\u00c3\x83\u00c2\u00a9", "\u00c2\u00a0nbsp mojibake",
        "50\u00c2\u00b0 angle", "\u00c2\u00a325 price", "caf\u00c3?", "caf\u00c3\u00a9\u00c3",
        "\u00ed\u00a0\u00bd\u00ed\u00b8\u008d cesu", "\u00c0\u0080 java null", "\u00f0\u0178\u02dc\u20ac",
        "\u00f0\u0178\u02dc emoji lost", "\u00e2\u20ac", "\u00c3\u00a9\u00c3\u00a9\u00c3\u00a9\u00c3\u00a9",
        "\u00d0\u00a0\u00d1\u0192\u00d1\u0081\u00d1\u0081\u00d0\u00ba\u00d0\u00b8\u00d0\u00b9",
        "\u00d8\u00b5\u00d9\u02c6\u00d8\u00b1\u00d8\u00a9", "\u00e0\u00a4\u2022\u00e0\u00a5\u0081",
        "caf\u00e9 \u00e2\u20ac\u201d dash", "\u00c3\u0192\u00c2\u00a9", "Â¿QuÃ©?", "\u00c3\u00a9\x1a",
        "\u00e2\u20ac\u2122\u00e2\u20ac\u2122", "\u00c3\u00a9\u00e2\u20ac\u2122s caf\u00c3\u00a9s")

    add("c1 controls",
        "\x93quoted\x94", "\x80 5", "a \x96 dash", "it\x92s", "\x85", "\x81\x8d\x8f\x90\x9d holes",
        "caf\u00e9\x85 and \x97", "\x9b\x9f\x80")

    add("ligatures",
        "\ufb01sh and \ufb02ower", "\ufb00 \ufb03 \ufb04 \ufb05 \ufb06", "\u0132sselmeer \u0133s",
        "\u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01c9 \u01ca \u01cb \u01cc \u01f1 \u01f2 \u01f3", "\u0149 afrikaans",
        "e\ufb03cient o\ufb04ine")

    add("emoji",
        "a photo of a \U0001f436", "\U0001f415\u200d\U0001f9ba service dog",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family photo", "\U0001f44d\U0001f3fd thumbs up",
        "\U0001f3f3\ufe0f\u200d\U0001f308 flag", "\U0001f1fa\U0001f1f8 \U0001f1ef\U0001f1f5 \U0001f1e9\U0001f1ea flags",
        "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f wales", "1\ufe0f\u20e3 keycap",
        "\u2764\ufe0f love", "\u2615 coffee", "\U0001f937\u200d\u2640\ufe0f shrug", "\U0001f600\U0001f603\U0001f604\U0001f601",
        "\U0001f9d1\U0001f3ff\u200d\U0001f4bb", "\u263a\ufe0e text style")

    add("rtl",
        "\u0635\u0648\u0631\u0629 \u0642\u0637\u0629", "\u05ea\u05de\u05d5\u05e0\u05d4 \u05e9\u05dc \u05db\u05dc\u05d1",
        "\u200fa photo of \u05db\u05dc\u05d1\u200e here", "\u202bembedded RTL\u202c done",
        "\u2067isolate\u2069 text", "\u0645\u064e\u0631\u0652\u062d\u064e\u0628\u064b\u0627 harakat",
        "\u0661\u0662\u0663 arabic digits", "\u0639\u06a9\u0633 \u06af\u0631\u0628\u0647 persian",
        "\u202eevil override\u202c", "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd niqqud")

    add("zero width",
        "zero\u200bwidth\u200bspace", "zero\u200cwidth\u200cnon\u200cjoiner", "joiner\u200dhere",
        "\ufeffbom at start", "bom\ufeffin middle", "soft\u00adhyphen", "word\u2060joiner",
        "\u206a\u206b\u206c\u206d\u206e\u206f deprecated", "\ufff9annotated\ufffatext\ufffb", "\ufffc object",
        "\u200b\u200c\u200d\ufeff", "\u180evowel separator", "\u034fgrapheme joiner")

    add("scripts",
        "\u4e00\u5f20\u732b\u7684\u7167\u7247", "\u72ac\u306e\u5199\u771f", "\uace0\uc591\uc774 \uc0ac\uc9c4",
        unicodedata.normalize("NFD", "\uace0\uc591\uc774 \uc0ac\uc9c4"), "\u1100\u1161\u11a8 jamo",
        "\u0915\u0941\u0924\u094d\u0924\u0947 \u0915\u0940 \u0924\u0938\u094d\u0935\u0940\u0930",
        "\u0e23\u0e39\u0e1b\u0e41\u0e21\u0e27", "\u0baa\u0bc2\u0ba9\u0bc8", "\u09ac\u09bf\u09dc\u09be\u09b2",
        unicodedata.normalize("NFD", "Vi\u1ec7t Nam \u1ea3nh"), "\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a",
        "\u10e1\u10e3\u10e0\u10d0\u10d7\u10d8", "\u0531\u0580\u0561\u0574", "\u1780\u17d2\u1798\u17c2\u179a",
        "\u0f56\u0f7c\u0f51", "\U00020000\U0002a6d6 ext-b", "\u0399\u03a3\u03a4\u039f\u03a3 \u039f\u0394\u039f\u03a3")

    add("combining",
        "cafe\u0301", unicodedata.normalize("NFD", "\u00c5str\u00f6m \u00e9t\u00e9"), "n\u0303o",
        "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036bg\u030c\u0317\u035a\u031ao\u0319\u0314\u036e\u0307\u0350\u0307",
        "\u0301\u0302\u0303 marks alone", "a\u0323\u0307 order", "a\u0307\u0323 order", "\u0344 \u0340 \u0341 \u0343",
        "\u2126 ohm \u212a kelvin \u212b angstrom", "\u1e9b\u0323", "e\u0301\u0301\u0301",
        "\u0958 \u0929 nukta", "\u3099\u304b\u3099")

    add("control characters",
        "null\x00byte", "bell\x07 and backspace\x08", "vertical\x0btab", "form\x0cfeed", "del\x7fete",
        "\x1c\x1d\x1e\x1f separators", "sub\x1astitute", "\x01\x02\x03 start", "esc\x1b alone",
        "\x0e\x0f shift")

    add("whitespace",
        "tab\tseparated\tvalues", "new\nline", "crlf\r\nline\r\n", "cr\ronly", "\u00a0nbsp\u00a0",
        "ideographic\u3000space", "en\u2002em\u2003thin\u2009hair\u200a", "narrow\u202fnbsp",
        "math\u205fspace", "ogham\u1680space", "line\u2028sep", "para\u2029sep", "nel\x85here",
        "   many     spaces   ", "\n\n\na dog\n\n\n", "a\r\n\r\n\r\nb", " \t \n \r \x0b \x0c ",
        "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008 figure", "trailing\u180e")

    add("terminal escapes",
        "\x1b[1;31mred text\x1b[0m", "\x1b[38;5;196mcolour\x1b[m", "\x1b]0;title\x07rest",
        "\x1b[Kcleared \x1b[2J", "\x1b[\u0661\u0662mdigits", "\x1b[;;;Hhome", "\x1b[31", "\x1b[1;2;3")

    add("odd characters",
        "\ufffd replacement", "\uffff\ufffe nonchars", "\U0010ffff last", "\ue000 private \uf8ff apple",
        "I \u2665 NY", "\u2211\u222b\u221a\u221e\u2260\u2264\u2265", "\u20ac \u00a3 \u00a5 \u20b9 \u20bf",
        "\u2554\u2550\u2557\u2551 \u255a\u2550\u255d", "(\u256f\u00b0\u25a1\u00b0\uff09\u256f\ufe35 \u253b\u2501\u253b",
        "\u00af\\_(\u30c4)_/\u00af", "\u0295\u2022\u1d25\u2022\u0294", "( \u0361\u00b0 \u035c\u0296 \u0361\u00b0)",
        "\u216b \u2460 \u338f \u00b5 \u2122", "\u00d0\u00f0\u00de\u00fe", "\u00d8resund \u00f8", "\u0152uvre \u0153uf",
        "\u00c3 alone", "\u00c2", "\u00c3\u00a9", "\u00c2\u00a0", "\u00d7\u00b2", "\u221a\u00b1",
        "\u0432\u0402", "\u0393\u045e\u0412\u0402\u0412\u2122x", "\u03b2\u20ac\u2122", "\u0101\u20ac",
        "\u2248\u00b0", "\u201a\u00c4\u00ec", "ÃƒÂ©", "ΟΔΟΣ ΣΟΦΟΣ", "\u0130stanbul \u1e9e")

    out.append(("empty", ""))
    add("whitespace only", " ", "\t\n", "\u3000", "\u00a0", "\ufeff", "\u200b", "\r\n\r\n", "\x85",
        " \u2028 ")

    sentence = ("A photo of a dog\u2019s \u201cfavourite\u201d toy &amp; a caf\u00c3\u00a9 \u2014 "
                "\uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48 \ufb01sh \U0001f436\u200d\U0001f9ba "
                "\u0635\u0648\u0631\u0629 \u200f\u05db\u05dc\u05d1 \u200b\ufeff\u00ad cafe\u0301 \u732b "
                "\uace0\uc591\uc774 \x1b[1mbold\x1b[0m \x93q\x94 tab\there\r\n")
    add("long", sentence, sentence * 3, (sentence * 8)[:1000])
    snippets = [p for _, p in out if p.strip()]
    rnd = random.Random(77)
    parts, length = [], 0
    while length < 10000:
        s = rnd.choice(snippets)
        parts.append(s)
        length += len(s) + 1
    add("long 10000 chars", " ".join(parts)[:10000])
    assert len(out[-1][1]) == 10000
    return out


def templates():
    with open(ROOT / "crate" / "presets" / "presets.json", encoding="utf-8") as f:
        presets = json.load(f)["presets"]
    seen, out = set(), []
    for preset in presets:
        labels = [l if isinstance(l, str) else l[0] for l in preset["labels"]]
        for k, template in enumerate(preset["templates"]):
            if template in seen:
                continue
            seen.add(template)
            out.append(("preset template", template.format(labels[k % len(labels)])))
        for label in labels:
            if not label.isascii():
                out.append(("preset label", label))
    return out


def main():
    clip, basic_clean, whitespace_clean = import_clip()
    entries = []
    for kind, text in prompts() + templates():
        row = clip.tokenize(text, truncate=True)[0].tolist()
        while row and row[-1] == 0:
            row.pop()
        entries.append({"kind": kind, "text": text, "clean": whitespace_clean(basic_clean(text)),
                        "ids": row})
    body = json.dumps(entries, ensure_ascii=True, indent=0)
    OUT.write_text(body + "\n", encoding="ascii")
    print(f"wrote {OUT}: {len(entries)} prompts, {len(body)} bytes")


if __name__ == "__main__":
    main()

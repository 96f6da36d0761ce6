#!/usr/bin/env python3
"""Build the photos-and-drawings example set of the distribution-shift lesson.

Run by hand (never in CI), from the repository root:

    sudo apt-get install openclipart-png   # the drawings (tested with 1:0.18+dfsg-19)
    pip install pillow scikit-image        # the photos ship inside scikit-image's wheel (0.26.0)
    python3 tests/make_domain_set.py

Four labels that both sources have: 5 public-domain drawings each from openclipart, processed as
tests/make_labelled_set.py does (on white, trimmed, centred on a white square, at most 192 px),
and every licence-clean photo of those labels that scikit-image ships (CC0 or public domain, as
its docstrings state), shrunk so the shorter side is 224 px (CLIP's input) and saved as JPEG.
Output: www/public/examples/domains/<label>-<kind>-<n>.<ext> and domains.json (file, label,
domain, source, licence), which the page loads as a labelled set whose cards know their domain.
"""
import json
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from make_labelled_set import MAX_SIDE, SRC_ROOT, on_white, trim  # noqa: E402

OUT_DIR = os.path.join("www", "public", "examples", "domains")
LABELS = ["cat", "cup", "clock", "person"]
PHOTO_SIDE = 224

DRAWINGS = [
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_01.png"),
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_02.png"),
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_03.png"),
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_04.png"),
    ("cat", "animals/mammals/housecats/kitten_gerald_g._01.png"),
    ("cup", "food/beverages/coffee.png"),
    ("cup", "food/beverages/mug.png"),
    ("cup", "food/beverages/coffee_bw_ganson.png"),
    ("cup", "food/beverages/coffee_ganson.png"),
    ("cup", "office/cup_rollandin_francesco_.png"),
    ("clock", "signs_and_symbols/clocks/clock01.png"),
    ("clock", "signs_and_symbols/clocks/clock_michael_breuer_01.png"),
    ("clock", "signs_and_symbols/clocks/analog_clock_jonathan_di_01.png"),
    ("clock", "signs_and_symbols/clocks/modern_clock_chris_kemps_01.png"),
    ("clock", "signs_and_symbols/clocks/alarm_clock_mike_powers_.png"),
    ("person", "people/adult_astrid_graeber_01.png"),
    ("person", "people/bussiness_woman_donna_i_01.png"),
    ("person", "people/happy_woman_dirk_struve_01.png"),
    ("person", "people/bach_ganson.png"),
    ("person", "people/groom1_jarno_vasamaa_01.png"),
]

# scikit-image's function, label, and the licence its docstring gives.
PHOTOS = [
    ("chelsea", "cat", "CC0 (photographer Stefan van der Walt)"),
    ("coffee", "cup", "CC0 (photographer Rachel Michetti)"),
    ("clock", "clock", "public domain (photographer Stefan van der Walt); motion-blurred, grey"),
    ("astronaut", "person", "public domain (NASA: Eileen Collins)"),
    ("camera", "person", "CC0 (photographer Lav Varshney); grey"),
]


def main():
    import skimage
    from skimage import data

    if not os.path.isdir(SRC_ROOT):
        sys.exit(f"{SRC_ROOT} is missing: install Debian's openclipart-png package first")
    Image.MAX_IMAGE_PIXELS = None
    os.makedirs(OUT_DIR, exist_ok=True)
    images = []
    counts = {}
    for label, src in DRAWINGS:
        counts[(label, "drawing")] = n = counts.get((label, "drawing"), 0) + 1
        name = f"{label}-drawing-{n}.png"
        with Image.open(os.path.join(SRC_ROOT, src)) as img:
            img.load()
            rgb = trim(on_white(img))
        if max(rgb.size) > MAX_SIDE:
            rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
        rgb.save(os.path.join(OUT_DIR, name), optimize=True)
        images.append({"file": name, "label": label, "domain": "drawing", "source": f"openclipart-png: {src}", "licence": "public domain (CC0)"})
    for function, label, licence in PHOTOS:
        counts[(label, "photo")] = n = counts.get((label, "photo"), 0) + 1
        name = f"{label}-photo-{n}.jpg"
        img = Image.fromarray(getattr(data, function)()).convert("RGB")
        scale = PHOTO_SIDE / min(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        img.save(os.path.join(OUT_DIR, name), quality=88, optimize=True)
        images.append({"file": name, "label": label, "domain": "photo", "source": f"scikit-image {skimage.__version__}: skimage.data.{function}()", "licence": licence})
    for entry in images:
        print(f"{entry['file']:22s} {entry['domain']:8s} {entry['source']}")
    meta = {
        "about": "Drawings (openclipart, via Debian's openclipart-png) and photos (scikit-image's sample data) of the same four labels, made by tests/make_domain_set.py.",
        "licence": "every file public domain or CC0; see each entry",
        "labels": LABELS,
        "images": images,
    }
    with open(os.path.join(OUT_DIR, "domains.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()

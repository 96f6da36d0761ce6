#!/usr/bin/env python3
"""Build the small labelled example set the web page uses to teach zero-shot classification.

Run by hand (never in CI), from the repository root:

    sudo apt-get install openclipart-png    # Debian/Ubuntu; the clip art lands in
                                            # /usr/share/openclipart/png/
    pip install pillow
    python3 tests/make_labelled_set.py

It takes 30 public-domain drawings from openclipart, as packaged by Debian's
`openclipart-png` (tested with 1:0.18+dfsg-19), 5 for each of 6 labels, chosen by eye so that
each shows one clear object of its class.  Each one is composited onto white, converted to RGB,
trimmed to its drawing (plus a small white margin: many sources are a small drawing on a large
page), centred on a white square (CLIP crops the centre square), shrunk so its longer side is at most MAX_SIDE pixels (LANCZOS) and saved as an optimised
PNG named `<label>-<n>.png` in www/public/examples/labelled/, next to labelled.json, which lists
every file with its label and source path.  The output is the same on every run for a given
package version and Pillow; delete the folder first to drop files from an older table.
"""
import json
import os
import sys

from PIL import Image, ImageChops

SRC_ROOT = "/usr/share/openclipart/png"
OUT_DIR = os.path.join("www", "public", "examples", "labelled")
MAX_SIDE = 192
MARGIN = 0.04  # of the trimmed drawing's longer side, kept as white border
WHITE_TOLERANCE = 8  # a pixel this close to white on every channel counts as background

LABELS = ["cat", "car", "guitar", "house", "airplane", "apple"]

# label, source path relative to SRC_ROOT; files are numbered 1..5 per label in this order.
TABLE = [
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_01.png"),
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_02.png"),
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_03.png"),
    ("cat", "animals/mammals/housecats/gatto_cat_architetto_fra_04.png"),
    ("cat", "animals/mammals/housecats/kitten_gerald_g._01.png"),
    ("car", "transportation/car_jamin_ellis_.png"),
    ("car", "transportation/vehicles/car.png"),
    ("car", "transportation/sportcar_sergio_luiz_ara_01.png"),
    ("car", "transportation/skoda_car_alejandro_teja_.png"),
    ("car", "transportation/dodge_neon_green_ganson.png"),
    ("guitar", "recreation/music/electric_guitar_andrea__01r.png"),
    ("guitar", "recreation/music/guitar_ganson.png"),
    ("guitar", "recreation/music/guitar_profile_philippe__01.png"),
    ("guitar", "recreation/music/guitar_jarno_vasamaa1.png"),
    ("guitar", "recreation/music/guitar_jarno_vasamaa2.png"),
    ("house", "buildings/homes/house.png"),
    ("house", "buildings/homes/house_christoph_brill_01.png"),
    ("house", "buildings/homes/my_house_01.png"),
    ("house", "buildings/homes/home0.png"),
    ("house", "buildings/homes/small_house_01.png"),
    ("airplane", "transportation/vehicles/aircraft_jarno_vasamaa1.png"),
    ("airplane", "transportation/vehicles/aircraft_jarno_vasamaa2.png"),
    ("airplane", "transportation/vehicles/aircraft_jarno_vasamaa3.png"),
    ("airplane", "transportation/vehicles/aircraft_jarno_vasamaa4.png"),
    ("airplane", "transportation/vehicles/plane_silhouet_mo_01.png"),
    ("apple", "food/fruit/an_apple_01.png"),
    ("apple", "food/fruit/another_apple_01.png"),
    ("apple", "food/fruit/apple.png"),
    ("apple", "food/fruit/apple_bitten_dan_gerhard_01.png"),
    ("apple", "food/fruit/apple_martin_schmidt-li_01r.png"),
]


def on_white(img):
    """Composite any transparency (alpha, LA, palette tRNS) onto white; return RGB."""
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    return white.convert("RGB")


def trim(rgb):
    """Crop to the non-white drawing, keeping a white margin of MARGIN of its longer side."""
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255)))
    mask = diff.convert("L").point(lambda v: 255 if v > WHITE_TOLERANCE else 0)
    box = mask.getbbox()
    if box is None:
        raise SystemExit("blank image")
    left, top, right, bottom = box
    pad = max(2, round(MARGIN * max(right - left, bottom - top)))
    cropped = rgb.crop((left, top, right, bottom))
    # Square, centred on white: CLIP's preprocessing crops the centre square, which would cut
    # the ends off a long guitar or car.
    side = max(cropped.width, cropped.height) + 2 * pad
    out = Image.new("RGB", (side, side), (255, 255, 255))
    out.paste(cropped, ((side - cropped.width) // 2, (side - cropped.height) // 2))
    return out


def main():
    if not os.path.isdir(SRC_ROOT):
        sys.exit(f"{SRC_ROOT} is missing: install Debian's openclipart-png package first")
    assert len(TABLE) == 30 and len(set(src for _, src in TABLE)) == 30
    assert [lab for lab, _ in TABLE] == [lab for lab in LABELS for _ in range(5)]
    Image.MAX_IMAGE_PIXELS = None  # trusted local files; some pages are large
    os.makedirs(OUT_DIR, exist_ok=True)
    counts = {lab: 0 for lab in LABELS}
    images = []
    for label, src in TABLE:
        counts[label] += 1
        name = f"{label}-{counts[label]}.png"
        with Image.open(os.path.join(SRC_ROOT, src)) as img:
            img.load()
            rgb = trim(on_white(img))
        scale = MAX_SIDE / max(rgb.size)
        if scale < 1:
            size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
            rgb = rgb.resize(size, Image.LANCZOS)
        rgb.save(os.path.join(OUT_DIR, name), optimize=True)
        images.append({"file": name, "label": label, "source": src})
        print(f"{name:14s} {rgb.width:3d}x{rgb.height:<3d} {src}")
    meta = {
        "about": "Public-domain clip art from openclipart via Debian's openclipart-png package "
        "(5 drawings for each of 6 labels, centred on white squares of at most "
        f"{MAX_SIDE} px), made by tests/make_labelled_set.py.",
        "licence": "public domain (Creative Commons Public Domain Dedication, as Debian's openclipart-png copyright file states; openclipart.org now publishes its works as CC0 1.0)",
        "labels": LABELS,
        "images": images,
    }
    with open(os.path.join(OUT_DIR, "labelled.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()

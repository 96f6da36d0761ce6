#!/usr/bin/env python3
"""Transcribe OpenAI's zero-shot prompt data into presets.json, which the `clip` CLI and the page
share (the crate embeds it). Run by hand; the output is committed.

    python3 crate/presets/transcribe.py /path/to/openai-CLIP-checkout [COMMIT]

Reads, from the public openai/CLIP repository (MIT License, Copyright (c) 2021 OpenAI):
  data/prompts.md                                  26 datasets: classes and templates, as listed
                                                   (FER2013 keeps several names per class)
  notebooks/Prompt_Engineering_for_ImageNet.ipynb  ImageNet's 1000 classes and 80 templates, and
                                                   the 7 templates its text names as the subset
                                                   found by sequential forward selection
Nothing is edited: every string is taken as the source has it.
"""

import ast
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Heading in prompts.md → (preset name, title shown to people).
DATASETS = {
    "Birdsnap": ("birdsnap", "Birdsnap (birds)"),
    "CIFAR10": ("cifar10", "CIFAR-10"),
    "CIFAR100": ("cifar100", "CIFAR-100"),
    "CLEVRCounts": ("clevr-counts", "CLEVR counts"),
    "Caltech101": ("caltech101", "Caltech-101"),
    "Country211": ("country211", "Country211 (geolocation)"),
    "DescribableTextures": ("dtd", "Describable Textures"),
    "EuroSAT": ("eurosat", "EuroSAT (satellite)"),
    "FGVCAircraft": ("fgvc-aircraft", "FGVC Aircraft"),
    "FacialEmotionRecognition2013": ("fer2013", "Facial emotions (FER2013)"),
    "Flowers102": ("flowers102", "Oxford Flowers-102"),
    "Food101": ("food101", "Food-101"),
    "GTSRB": ("gtsrb", "German traffic signs (GTSRB)"),
    "HatefulMemes": ("hateful-memes", "Hateful Memes"),
    "KITTI": ("kitti", "KITTI distance"),
    "Kinetics700": ("kinetics700", "Kinetics-700 (actions)"),
    "MNIST": ("mnist", "MNIST (digits)"),
    "OxfordPets": ("oxford-pets", "Oxford-IIIT Pets"),
    "PascalVOC2007": ("pascal-voc2007", "PASCAL VOC 2007"),
    "PatchCamelyon": ("patch-camelyon", "PatchCamelyon (pathology)"),
    "RESISC45": ("resisc45", "RESISC45 (remote sensing)"),
    "SST2": ("sst2", "Rendered SST-2 (sentiment)"),
    "STL10": ("stl10", "STL-10"),
    "SUN397": ("sun397", "SUN397 (scenes)"),
    "StanfordCars": ("stanford-cars", "Stanford Cars"),
    "UCF101": ("ucf101", "UCF101 (actions)"),
}


def literal(block: str, name: str):
    match = re.search(rf"^{name} = (\[.*?^\])", block, re.S | re.M)
    if not match:
        raise SystemExit(f"no {name} list in a block")
    return ast.literal_eval(match.group(1))


def prompts_md(text: str, source: str):
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    presets = []
    for section in sections:
        heading, body = section.split("\n", 1)
        heading = heading.strip()
        if heading not in DATASETS:
            raise SystemExit(f"unknown dataset {heading!r} in prompts.md")
        block = re.search(r"```bash\n(.*?)```", body, re.S).group(1)
        name, title = DATASETS[heading]
        presets.append({"name": name, "title": title, "source": source, "labels": literal(block, "classes"),
                        "templates": literal(block, "templates")})
    if len(presets) != 26:
        raise SystemExit(f"expected 26 datasets in prompts.md, found {len(presets)}")
    return presets


def imagenet(notebook: dict, source: str):
    cells = ["".join(c["source"]) for c in notebook["cells"]]
    classes = next(ast.literal_eval(re.search(r"imagenet_classes = (\[.*?\])", c, re.S).group(1))
                   for c in cells if c.startswith("imagenet_classes = "))
    templates = next(literal(c, "imagenet_templates") for c in cells if c.startswith("imagenet_templates = "))
    # The markdown cell that lists the forward-selected subset as "1. itap of a {}." ... "7. ...".
    subset_cell = next(c for c in cells if "sequential forward selection" in c)
    subset = re.findall(r"^\d+\. (.*\{\}.*)$", subset_cell, re.M)
    assert len(classes) == 1000 and len(templates) == 80 and len(subset) == 7, (len(classes), len(templates), subset)
    assert all(t in templates for t in subset), subset
    return [
        {"name": "imagenet", "title": "ImageNet (1000 classes × 80 templates)", "source": source,
         "labels": classes, "templates": templates},
        {"name": "imagenet-7", "title": "ImageNet, the 7 forward-selected templates", "source": source,
         "labels": classes, "templates": subset},
    ]


def main():
    checkout = Path(sys.argv[1])
    commit = sys.argv[2] if len(sys.argv) > 2 else "unknown commit"
    licence = "openai/CLIP (MIT License, Copyright (c) 2021 OpenAI)"
    md = (checkout / "data" / "prompts.md").read_text(encoding="utf-8")
    nb = json.loads((checkout / "notebooks" / "Prompt_Engineering_for_ImageNet.ipynb").read_text(encoding="utf-8"))
    presets = imagenet(nb, f"{licence} @ {commit}: notebooks/Prompt_Engineering_for_ImageNet.ipynb")
    presets += prompts_md(md, f"{licence} @ {commit}: data/prompts.md")
    out = {
        "about": "The CLIP paper's zero-shot prompt data, transcribed unedited by crate/presets/transcribe.py "
                 "from the public openai/CLIP repository (MIT License, Copyright (c) 2021 OpenAI). "
                 "Each preset's source names its file. FER2013's labels are lists of names for one class.",
        "presets": presets,
    }
    (HERE / "presets.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(presets)} presets to {HERE / 'presets.json'}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate the reference fixtures the Rust tests compare against.

Run by hand (never in CI), from the repository root:

    pip install torch transformers safetensors pillow scikit-image openai-clip
    python3 tests/make_fixtures.py                       # committed fixtures
    python3 tests/make_fixtures.py --model-only OUT_DIR --seed 7 --activation gelu \
        --text-hidden 24 --vision-hidden 40 --image-size 40 --patch 8
                                                         # any other random CLIP + references

What it writes:
  models/tokenizer/tokenizer.json   the real CLIP BPE tokenizer, built from the vocabulary that
                                    OpenAI's `clip` package ships, via CLIPTokenizerFast.
  tests/fixtures/images/            real photos (scikit-image) plus re-encodings of them in every
                                    format and colour type the preprocessor must handle.
  tests/fixtures/<name>/            a tiny random-weight CLIP in Hugging Face layout (config.json,
                                    model.safetensors, tokenizer.json, preprocessor_config.json)
                                    and reference.json: token ids, pixels, embeddings and zero-shot
                                    probabilities computed by transformers from the same files.
  tests/fixtures/tiny-quickgelu-bin/
                                    the same weights as tiny-quickgelu saved as pytorch_model.bin,
                                    laid out as the 2021 openai checkpoints are (see pytorch_twin).
  tests/fixtures/pytorch/           broken and hostile pytorch_model.bin files the loader must
                                    refuse in one sentence without running anything.

    python3 tests/make_fixtures.py --pytorch-twin SRC OUT
                                    write OUT/pytorch_model.bin from SRC/model.safetensors (plus
                                    SRC's configs and tokenizer), e.g. for a full-size ViT-B/32.
"""

import argparse
import gzip
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
IMAGES = FIXTURES / "images"
TOKENIZER_DIR = ROOT / "models" / "tokenizer"

# Prompts chosen to exercise the tokenizer: punctuation, capitals, unicode, emoji, runs of
# whitespace, an empty string, and one far longer than the 77-token context.
PROMPTS = [
    "a photo of a cat.",
    "A Photo Of A DOG!!!",
    "an astronaut,   floating\tin  space...",
    "café crème — naïve résumé",
    "a 🐱 and a 🚀 emoji",
    "日本語のテキスト",
    "",
    "  leading and trailing whitespace  ",
    "it's the photo's \"quoted\" (parenthesised) word-with-dashes & symbols #1 @home",
    " ".join(["a very long prompt about many different colourful things"] * 12),
]

LABELS = ["cat", "astronaut", "cup of coffee", "rocket", "galaxy"]
TEMPLATES = ["a photo of a {}.", "{}", "a blurry photo of the {}.", "a photo of {}, a type of food."]

SOURCE_PHOTOS = {"astronaut": "astronaut.png", "chelsea": "chelsea.png", "coffee": "coffee.png",
                 "rocket": "rocket.jpg"}


def build_tokenizer():
    """tokenizer.json from OpenAI's BPE vocabulary, the same derivation transformers documents."""
    import importlib.util
    # openai-clip ships bpe_simple_vocab_16e6.txt.gz; importing the package itself needs pkg_resources.
    clip_dir = Path(importlib.util.find_spec("clip").submodule_search_locations[0])
    from transformers import CLIPTokenizer

    spec = importlib.util.spec_from_file_location("simple_tokenizer", clip_dir / "simple_tokenizer.py")
    simple_tokenizer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(simple_tokenizer)
    bpe_path = clip_dir / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = merges[1:49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(simple_tokenizer.bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
        (tmp / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
        fast = CLIPTokenizer.from_pretrained(str(tmp), model_max_length=77)
        # Cross-check against OpenAI's own tokenizer before trusting it.
        openai = simple_tokenizer.SimpleTokenizer(str(bpe_path))
        sot, eot = openai.encoder["<|startoftext|>"], openai.encoder["<|endoftext|>"]
        for p in PROMPTS[:-1]:
            ids = fast(p)["input_ids"]
            assert ids == [sot] + openai.encode(p) + [eot], (p, ids, openai.encode(p))
        TOKENIZER_DIR.mkdir(parents=True, exist_ok=True)
        fast.save_pretrained(str(tmp / "out"))
        shutil.copy(tmp / "out" / "tokenizer.json", TOKENIZER_DIR / "tokenizer.json")
    return load_tokenizer()


def load_tokenizer():
    from transformers import CLIPTokenizer
    return CLIPTokenizer(tokenizer_file=str(TOKENIZER_DIR / "tokenizer.json"), model_max_length=77)


def build_images():
    """Real photos, plus one re-encoding per format / colour type / orientation we must decode."""
    import skimage
    data = Path(skimage.__file__).parent / "data"
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, file in SOURCE_PHOTOS.items():
        shutil.copy(data / file, IMAGES / file)
    chelsea = Image.open(data / "chelsea.png").convert("RGB")
    small = chelsea.resize((150, 100), Image.BICUBIC)
    small.save(IMAGES / "chelsea.webp", lossless=True)
    small.save(IMAGES / "chelsea.bmp")
    frames = [small.convert("P", palette=Image.ADAPTIVE), small.rotate(180).convert("P", palette=Image.ADAPTIVE)]
    frames[0].save(IMAGES / "chelsea.gif", save_all=True, append_images=frames[1:], duration=100)
    small.convert("L").save(IMAGES / "chelsea_gray.png")
    rgba = small.convert("RGBA")
    alpha = Image.linear_gradient("L").resize(small.size)
    rgba.putalpha(alpha)
    rgba.save(IMAGES / "chelsea_rgba.png")
    small.convert("P", palette=Image.ADAPTIVE, colors=64).save(IMAGES / "chelsea_palette.png")
    # 16-bit PNGs (PIL cannot write RGB48): PIL keeps the high byte of RGB48 and clips 16-bit
    # grey at 255 when converting to RGB; we must do the same.
    rgb16 = np.asarray(small).astype(np.uint16) * 257 + np.random.default_rng(0).integers(0, 200, (100, 150, 3))
    write_png16(IMAGES / "chelsea_rgb16.png", rgb16.astype(">u2"), color_type=2)
    gray16 = (np.asarray(small.convert("L")).astype(np.uint16)).astype(">u2")  # 0..255: survives the clip
    write_png16(IMAGES / "chelsea_gray16.png", gray16[..., None], color_type=0)
    # EXIF orientation 6: stored rotated; viewers (and we) must rotate it back upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    chelsea.transpose(Image.ROTATE_90).save(IMAGES / "chelsea_exif6.jpg", quality=90, exif=exif.tobytes())
    # Bad inputs.
    (IMAGES / "empty.png").write_bytes(b"")
    jpg = (IMAGES / "rocket.jpg").read_bytes()
    (IMAGES / "truncated.jpg").write_bytes(jpg[: len(jpg) // 3])
    (IMAGES / "not_an_image.png").write_text("this is a text file, not a PNG\n")
    # A valid PNG header declaring 100000 x 100000 pixels: must be refused before decoding.
    import struct, zlib
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    (IMAGES / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                                      chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def write_png16(path, arr, color_type):
    import struct, zlib
    h, w = arr.shape[:2]
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                           + chunk(b"IEND", b""))


def reference_pil(path):
    """The reference decode: what transformers' load_image does (EXIF transpose, RGB)."""
    img = Image.open(path)
    img = ImageOps.exif_transpose(img)
    return img.convert("RGB")


def make_model(out: Path, tokenizer, seed, activation, text_hidden, vision_hidden, image_size, patch,
               proj_dim, layers, heads, size_format, legacy_eos, vision_heads=None):
    from transformers import CLIPConfig, CLIPModel, CLIPImageProcessorPil
    torch.manual_seed(seed)
    text = dict(vocab_size=49408, hidden_size=text_hidden, intermediate_size=text_hidden * 4,
                num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=77,
                hidden_act=activation, projection_dim=proj_dim, bos_token_id=0, pad_token_id=1,
                eos_token_id=2 if legacy_eos else 49407)
    vision = dict(hidden_size=vision_hidden, intermediate_size=vision_hidden * 4, num_hidden_layers=layers,
                  num_attention_heads=vision_heads or heads, image_size=image_size, patch_size=patch, hidden_act=activation,
                  projection_dim=proj_dim)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=proj_dim, logit_scale_init_value=2.6592)
    model = CLIPModel(config).eval()
    # Random init leaves LayerNorms at identity and biases at zero; perturb everything so
    # every tensor matters and a mis-mapped weight cannot hide.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                p.fill_(np.log(1 / 0.07) - 0.3)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias") or "class_embedding" in name:
                p.copy_(0.05 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (0.02 if "embedding" in name else p.shape[-1] ** -0.5))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    # Mimic the real hub file: drop keys transformers adds that the real config lacks is not
    # needed; but the real one names the architecture and keeps the legacy eos id.
    cfg = json.loads((out / "config.json").read_text())
    cfg["architectures"] = ["CLIPModel"]
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    # Every CLIP checkpoint uses the same tokenizer: link the one committed copy (3.6 MB).
    link = out / "tokenizer.json"
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(os.path.relpath(TOKENIZER_DIR / "tokenizer.json", out))
    mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    if size_format == "int":  # what openai/clip-vit-base-patch32 ships
        pre = {"crop_size": image_size, "do_center_crop": True, "do_normalize": True, "do_resize": True,
               "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": mean, "image_std": std,
               "resample": 3, "size": image_size}
    else:  # what newer transformers writes
        pre = {"crop_size": {"height": image_size, "width": image_size}, "do_center_crop": True,
               "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
               "image_mean": mean, "image_processor_type": "CLIPImageProcessor", "image_std": std,
               "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": image_size}}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2))
    # The PIL path is the reference the issue names (transformers 5 also has a torchvision one).
    processor = CLIPImageProcessorPil.from_pretrained(str(out))
    model = CLIPModel.from_pretrained(str(out)).eval()
    return model, processor


def text_features(model, tokens):
    """Projected, unnormalised text features (transformers 5 returns them as pooler_output)."""
    return model.get_text_features(**tokens, return_dict=True).pooler_output


def references(model, processor, tokenizer, image_files):
    ref = {"prompts": PROMPTS, "labels": LABELS, "templates": TEMPLATES, "images": [], }
    with torch.no_grad():
        tok = tokenizer(PROMPTS, padding=True, truncation=True, max_length=77, return_tensors="pt")
        ref["token_ids"] = [[int(i) for i, m in zip(row, mask) if m] for row, mask in
                            zip(tok["input_ids"].tolist(), tok["attention_mask"].tolist())]
        ref["text_embeds"] = text_features(model, tok).tolist()
        for f in image_files:
            img = reference_pil(f)
            pixels = processor(images=img, return_tensors="pt")["pixel_values"]
            emb = model.get_image_features(pixel_values=pixels, return_dict=True).pooler_output
            ref["images"].append({"file": f.name, "pixels": [round(float(x), 5) for x in pixels.flatten()],
                                  "embed": emb[0].tolist()})
        # The paper's ensemble: normalise each prompt embedding, mean per label, renormalise.
        class_embeds = []
        for label in LABELS:
            t = tokenizer([tpl.replace("{}", label) for tpl in TEMPLATES], padding=True, return_tensors="pt")
            e = text_features(model, t)
            e = e / e.norm(dim=-1, keepdim=True)
            e = e.mean(dim=0)
            class_embeds.append(e / e.norm())
        class_embeds = torch.stack(class_embeds)
        scale = model.logit_scale.exp()
        ref["logit_scale"] = float(model.logit_scale)
        for entry in ref["images"]:
            img = torch.tensor(entry["embed"])
            img = img / img.norm()
            cos = class_embeds @ img
            entry["zero_shot_cosine"] = cos.tolist()
            entry["zero_shot_probs"] = torch.softmax(scale * cos, dim=0).tolist()
        # Single default template, as `clip classify` without --template.
        t = tokenizer([f"a photo of a {label}." for label in LABELS], padding=True, return_tensors="pt")
        e = text_features(model, t)
        e = e / e.norm(dim=-1, keepdim=True)
        for entry in ref["images"]:
            img = torch.tensor(entry["embed"])
            cos = e @ (img / img.norm())
            entry["default_template_probs"] = torch.softmax(scale * cos, dim=0).tolist()
    return ref


FIXTURE_MODELS = {
    # OpenAI-style: quick_gelu, legacy eos_token_id 2, integer sizes in preprocessor_config.
    "tiny-quickgelu": dict(seed=0, activation="quick_gelu", text_hidden=16, vision_hidden=32, image_size=32,
                           patch=8, proj_dim=24, layers=2, heads=2, size_format="int", legacy_eos=True),
    # OpenCLIP/LAION-style: exact gelu, real eos id, dict sizes.
    "tiny-gelu": dict(seed=1, activation="gelu", text_hidden=16, vision_hidden=24, image_size=48, patch=16,
                      proj_dim=16, layers=2, heads=4, size_format="dict", legacy_eos=False),
}


def reference_images():
    names = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "chelsea.webp", "chelsea.bmp",
             "chelsea.gif", "chelsea_gray.png", "chelsea_rgba.png", "chelsea_palette.png", "chelsea_rgb16.png",
             "chelsea_gray16.png", "chelsea_exif6.jpg"]
    return [IMAGES / n for n in names]


def pytorch_twin(src: Path, out: Path, with_reference=False):
    """`pytorch_model.bin` as the 2021 openai checkpoints have it: `torch.save` (zip format) of
    the whole float32 state dict, including the int64 `position_ids` buffers transformers kept
    persistent then (today's transformers drops them when saving)."""
    from collections import OrderedDict
    from safetensors.torch import load_file

    state = load_file(str(src / "model.safetensors"))
    cfg = json.loads((src / "config.json").read_text())
    text, vision = cfg.get("text_config", {}), cfg.get("vision_config", {})
    n_text = text.get("max_position_embeddings", 77)
    n_vision = (vision.get("image_size", 224) // vision.get("patch_size", 32)) ** 2 + 1
    ordered = OrderedDict()
    for key, value in state.items():
        ordered[key] = value.float().contiguous()
        if key == "text_model.embeddings.position_embedding.weight":
            ordered["text_model.embeddings.position_ids"] = torch.arange(n_text, dtype=torch.int64).unsqueeze(0)
        if key == "vision_model.embeddings.position_embedding.weight":
            ordered["vision_model.embeddings.position_ids"] = torch.arange(n_vision, dtype=torch.int64).unsqueeze(0)
    assert "text_model.embeddings.position_ids" in ordered and "vision_model.embeddings.position_ids" in ordered
    out.mkdir(parents=True, exist_ok=True)
    torch.save(ordered, str(out / "pytorch_model.bin"))
    for name in ["config.json", "preprocessor_config.json"] + (["reference.json"] if with_reference else []):
        if (src / name).exists():
            shutil.copyfile(src / name, out / name)
    link = out / "tokenizer.json"
    if link.exists() or link.is_symlink():
        link.unlink()
    target = (src / "tokenizer.json").resolve()
    if target.is_relative_to(ROOT):
        link.symlink_to(os.path.relpath(target, out.resolve()))
    else:
        shutil.copyfile(target, link)


def broken_pytorch_files(out: Path):
    """Small pytorch_model.bin files for tiny-quickgelu's config.json that must each fail with one
    sentence: a tensor of the wrong shape, most tensors missing, and a pickle that would run a
    shell command if it were unpickled by Python (the reader must never execute it)."""
    import pickle
    import zipfile

    out.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((FIXTURES / "tiny-quickgelu" / "config.json").read_text())
    proj, hidden = cfg["projection_dim"], cfg["text_config"]["hidden_size"]
    base = {"logit_scale": torch.tensor(2.0), "text_model.embeddings.position_ids": torch.arange(77).unsqueeze(0)}
    # text_projection is [projection_dim, hidden] in the file; one extra row.
    torch.save(dict(base, **{"text_projection.weight": torch.zeros(proj + 1, hidden)}), str(out / "misshaped.bin"))
    torch.save(dict(base), str(out / "incomplete.bin"))

    class RunsAShellCommand:
        def __reduce__(self):
            return (os.system, ("touch /tmp/clip-zero-shot-pickle-was-executed",))

    with zipfile.ZipFile(out / "hostile.bin", "w") as z:
        z.writestr("hostile/data.pkl", pickle.dumps({"logit_scale": RunsAShellCommand()}, protocol=2))
        z.writestr("hostile/version", "3\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-only", type=Path, help="write one random CLIP + reference.json here")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--activation", default="gelu")
    ap.add_argument("--text-hidden", type=int, default=24)
    ap.add_argument("--vision-hidden", type=int, default=40)
    ap.add_argument("--image-size", type=int, default=40)
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--proj-dim", type=int, default=20)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--size-format", default="int")
    ap.add_argument("--legacy-eos", action="store_true")
    ap.add_argument("--vit-b32", action="store_true", help="exact openai/clip-vit-base-patch32 shapes")
    ap.add_argument("--pytorch-twin", nargs=2, type=Path, metavar=("SRC", "OUT"),
                    help="write OUT/pytorch_model.bin (2021 openai layout) from SRC/model.safetensors")
    ap.add_argument("--pytorch-fixtures", action="store_true",
                    help="write only tiny-quickgelu-bin and tests/fixtures/pytorch (no other fixture changes)")
    args = ap.parse_args()
    if args.pytorch_twin:
        pytorch_twin(*args.pytorch_twin, with_reference=True)
        return
    if args.pytorch_fixtures:
        pytorch_twin(FIXTURES / "tiny-quickgelu", FIXTURES / "tiny-quickgelu-bin")
        broken_pytorch_files(FIXTURES / "pytorch")
        return
    tokenizer = load_tokenizer() if args.model_only else build_tokenizer()
    if args.model_only:
        if args.vit_b32:
            # openai/clip-vit-base-patch32: text 512 wide / 8 heads, vision 768 wide / 12 heads.
            spec = dict(seed=args.seed, activation="quick_gelu", text_hidden=512, vision_hidden=768, image_size=224,
                        patch=32, proj_dim=512, layers=12, heads=8, vision_heads=12, size_format="int",
                        legacy_eos=True)
        else:
            spec = dict(seed=args.seed, activation=args.activation, text_hidden=args.text_hidden,
                        vision_hidden=args.vision_hidden, image_size=args.image_size, patch=args.patch,
                        proj_dim=args.proj_dim, layers=args.layers, heads=args.heads,
                        size_format=args.size_format, legacy_eos=args.legacy_eos)
        model, processor = make_model(args.model_only, tokenizer, **spec)
        ref = references(model, processor, tokenizer, reference_images())
        (args.model_only / "reference.json").write_text(json.dumps(ref))
        return
    build_images()
    for name, spec in FIXTURE_MODELS.items():
        out = FIXTURES / name
        model, processor = make_model(out, tokenizer, **spec)
        ref = references(model, processor, tokenizer, reference_images())
        (out / "reference.json").write_text(json.dumps(ref))
        print(name, "written")
    pytorch_twin(FIXTURES / "tiny-quickgelu", FIXTURES / "tiny-quickgelu-bin")
    broken_pytorch_files(FIXTURES / "pytorch")


if __name__ == "__main__":
    main()

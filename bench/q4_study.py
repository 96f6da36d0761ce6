"""Which 4-bit layout keeps CLIP's answers: simulates burn's block quantization (Q4S/Q8S:
symmetric, scale = absmax / 7 or / 127, one scale per block along burn's last dimension, stored
in f32 at 8 bits and f16 at 4 bits as bundle.rs writes them) on a Hugging Face checkpoint with
transformers, and measures what #11 asks of a 4-bit bundle:
image-embedding cosine against f32 and top-1 agreement on the ImageNet 7-template zero-shot
classifier (1000 classes), over >= 50 real images. Prints a table and a per-tensor sensitivity
ranking. The chosen layout is then built by `clip convert` and measured for real by
`clip bench fidelity`; this script only picks it.

    python3 bench/q4_study.py HF_DIR [--images N]
"""
import argparse, glob, json, os, re, sys

import numpy as np
import torch
from PIL import Image
from transformers import CLIPModel, CLIPProcessor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bundle.rs EIGHT_BIT_IN_Q4 (the same names: our module paths follow transformers').
KEEP_8_BIT = re.compile(r"(patch_embedding|visual_projection|text_projection)\.weight$|"
                        r"vision_model\.encoder\.layers\.(\d+\.self_attn\.(v_proj|out_proj)|0\.mlp\.(fc1|fc2))\.weight$")
QUANTIZED = re.compile(r"((q_proj|k_proj|v_proj|out_proj|fc1|fc2|visual_projection|text_projection)|token_embedding|patch_embedding)\.weight$")


def images(n, list_to=None):
    import skimage
    photos = sorted(glob.glob(os.path.join(os.path.dirname(skimage.__file__), "data", "*.png")) +
                    glob.glob(os.path.join(os.path.dirname(skimage.__file__), "data", "*.jpg")))
    photos = [p for p in photos if Image.open(p).mode in ("RGB", "RGBA")]
    art = sorted(glob.glob("/usr/share/openclipart/png/**/*.png", recursive=True))
    art = art[:: max(1, len(art) // n)]
    # Under our 50-megapixel limit (clip bench fidelity reads the same files).
    paths = [p for p in photos + art if Image.open(p).size[0] * Image.open(p).size[1] <= 50e6][:n]
    if list_to:
        open(list_to, "w").write("\n".join(paths) + "\n")
    return [Image.open(p).convert("RGB") for p in paths]


def to_burn(name, w):
    """burn stores a Linear's weight as [in, out] (torch: [out, in]); embeddings and the patch
    convolution keep torch's layout. Transposing is its own inverse."""
    return w.t() if w.dim() == 2 and not name.endswith("token_embedding.weight") else w


def fake_quant(name, w, bits, block_cap):
    """Quantize and dequantize as burn does: blocks along burn's last dimension, the largest
    power of two <= block_cap dividing it; returns the weight and its stored bytes."""
    t = to_burn(name, w)
    block = next(b for b in (128, 64, 32, 16, 8, 4, 2, 1) if b <= block_cap and t.shape[-1] % b == 0)
    levels = 7 if bits == 4 else 127
    b = t.reshape(-1, block)
    scale = b.abs().amax(dim=1, keepdim=True) / levels
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    values = torch.clamp(torch.round(b / scale), -levels, levels)
    # bundle.rs stored_scheme: 4-bit scales are stored in f16 (rounded after the values are).
    scale_bytes = 2 if bits == 4 else 4
    if bits == 4:
        scale = scale.half().float()
    q = (values * scale).reshape(t.shape)
    return to_burn(name, q).contiguous(), w.numel() * bits / 8 + (w.numel() // block) * scale_bytes


def features(out):
    """transformers 5 returns an output object whose pooler_output is the projected embedding."""
    return out if torch.is_tensor(out) else out.pooler_output


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--images", type=int, default=56)
    ap.add_argument("--out", default=None)
    ap.add_argument("--list", default=None, help="write the image paths here")
    ap.add_argument("--sensitivity", action="store_true", help="also rank the vision tensors (slow)")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    model = CLIPModel.from_pretrained(args.model).eval()
    processor = CLIPProcessor.from_pretrained(args.model)
    presets = json.load(open(os.path.join(ROOT, "crate/presets/presets.json")))["presets"]
    preset = next(p for p in presets if p["name"] == "imagenet-7")
    labels, templates = preset["labels"], preset["templates"]
    prompts = [t.replace("{}", l) for l in labels for t in templates]
    # Batches of equal length: no padding to compute (the text tower is most of the work).
    ids = processor.tokenizer(prompts)["input_ids"]
    by_len = {}
    for i, x in enumerate(ids):
        by_len.setdefault(len(x), []).append(i)
    pixels = processor(images=images(args.images, args.list), return_tensors="pt")["pixel_values"]
    print(f"{len(pixels)} images, {len(labels)} classes x {len(templates)} templates", file=sys.stderr)
    reference = {k: v.clone() for k, v in model.state_dict().items() if "position_ids" not in k}
    quantizable = [k for k in reference if QUANTIZED.search(k)]
    vision_keys = [k for k in quantizable if k.startswith(("vision_model", "visual_projection"))]
    text_keys = [k for k in quantizable if k not in vision_keys]

    def load(layout, keys):
        """Weights of `keys` as a bundle stores them: layout's quantization, others f16
        (layout None: the f32 checkpoint itself)."""
        state, size = {}, 0
        for k in keys:
            v = reference[k]
            if layout is None:
                state[k], s = v, v.numel() * 4
            elif k in layout:
                state[k], s = fake_quant(k, v, *layout[k])
            else:
                state[k], s = v.half().float(), v.numel() * (4 if "class_embedding" in k else 2)
            size += s
        model.load_state_dict(state, strict=False)
        return size

    vision_all = [k for k in reference if k.startswith(("vision_model", "visual_projection"))]
    text_all = [k for k in reference if k not in vision_all and k != "logit_scale"]

    @torch.no_grad()
    def image_side(layout):
        size = load(layout, vision_all)
        img = features(model.get_image_features(pixel_values=pixels))
        return img / img.norm(dim=-1, keepdim=True), size

    @torch.no_grad()
    def text_side(layout):
        size = load(layout, text_all)
        out = torch.empty(len(prompts), model.config.projection_dim)
        for n, rows in by_len.items():
            for i in range(0, len(rows), 512):
                chunk = rows[i:i + 512]
                t = features(model.get_text_features(input_ids=torch.tensor([ids[r] for r in chunk])))
                out[chunk] = t / t.norm(dim=-1, keepdim=True)
        classes = out.reshape(len(labels), len(templates), -1).mean(1)
        return classes / classes.norm(dim=-1, keepdim=True), size

    base_img, _ = image_side(None)
    base_cls, _ = text_side(None)
    base_top1 = (base_img @ base_cls.t()).argmax(1)
    rows = []

    def report(name, vision_layout, text_layout, text_cache={}):
        img, vsize = image_side(vision_layout)
        key = json.dumps(sorted(text_layout.items()))
        if key not in text_cache:
            text_cache[key] = text_side(text_layout)
        cls, tsize = text_cache[key]
        cos = (img * base_img).sum(1)
        ccos = (cls * base_cls).sum(1)
        agree = ((img @ cls.t()).argmax(1) == base_top1).float().mean().item()
        size = vsize + tsize
        rows.append(dict(layout=name, mb=size / 1e6, vision_mb=vsize / 1e6, text_mb=tsize / 1e6,
                         image_cos_min=cos.min().item(), image_cos_mean=cos.mean().item(),
                         class_cos_min=ccos.min().item(), class_cos_mean=ccos.mean().item(), top1=agree))
        print(f"| {name} | {size/1e6:.1f} | {cos.min():.5f} / {cos.mean():.5f} | {ccos.min():.5f} / {ccos.mean():.5f} | "
              f"{100*agree:.1f}% |", flush=True)

    print("| layout | MB (weights) | image cos min / mean | class cos min / mean | top-1 agree |")
    print("|---|---|---|---|---|")
    def split(layout):
        return [{k: v for k, v in layout.items() if k in keys} for keys in (vision_keys, text_keys)]

    for bits, cap in ((8, 128), (4, 128), (4, 32)):
        report(f"q{bits}, blocks of {cap}", *split({k: (bits, cap) for k in quantizable}))
    # What `clip convert --precision q4` writes (bundle.rs: EIGHT_BIT_IN_Q4).
    shipped = {k: (8, 128) if KEEP_8_BIT.search(k) else (4, 32) for k in quantizable}
    report("q4 as shipped: blocks of 32 (f16 scales); q8: patch embedding, both projections, vision v/out, vision layer 0 MLP", *split(shipped))

    sens = []
    if args.sensitivity:
        # Each vision tensor alone at 4 bits (blocks of 32), the others at 8 bits.
        q8v = {k: (8, 128) for k in vision_keys}
        for k in vision_keys:
            img, _ = image_side({**q8v, k: (4, 32)})
            sens.append((1 - (img * base_img).sum(1).mean().item(), k))
        sens.sort(reverse=True)
        print("\nmost sensitive vision tensors (image cosine loss, alone at 4 bits, blocks of 32):", file=sys.stderr)
        for loss, k in sens[:16]:
            print(f"  {loss:.2e}  {k}", file=sys.stderr)
        for keep in (2, 4, 8, 16, 24):
            layout = {**shipped, **{k: (4, 32) for k in vision_keys}}
            layout.update({k: (8, 128) for _, k in sens[:keep]})
            report(f"q4 blocks of 32; q8: the {keep} most sensitive vision tensors and the text projection", *split(layout))
    if args.out:
        json.dump(dict(rows=rows, sensitivity=sens), open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()

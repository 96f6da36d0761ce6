#!/usr/bin/env python3
"""References for the training-side lessons (crate/src/contrast.rs, crate/src/curves.rs).

Writes tests/fixtures/curves/reference.json:
  contrast: transformers' CLIPModel(..., return_loss=True) on the tiny-quickgelu test model, four
            real photos with a caption each: logits_per_image, the two cross-entropies and the loss.
  shots:    the k-shot curve on synthetic clustered features: the draws (SplitMix64 and a partial
            Fisher-Yates per label, re-implemented here from the description in curves.rs) and, for
            every draw, scikit-learn's LogisticRegression fitted on it and its accuracy on the rest.
  templates: the template curve (listed order and greedy forward selection) recomputed in numpy
            from random per-template class vectors.

Run by hand from the repository root (pip install torch transformers scikit-learn==1.9.1 pillow);
the output is committed.
"""
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "fixtures" / "curves" / "reference.json"
MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def choose(self, indices, k):
        for i in range(k):
            j = i + self.next() % (len(indices) - i)
            indices[i], indices[j] = indices[j], indices[i]


def normalise(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def contrast_case():
    import torch
    from PIL import Image
    from transformers import CLIPImageProcessorPil, CLIPModel, CLIPTokenizerFast

    model_dir = ROOT / "fixtures" / "tiny-quickgelu"
    model = CLIPModel.from_pretrained(str(model_dir)).eval()
    processor = CLIPImageProcessorPil.from_pretrained(str(model_dir))
    tokenizer = CLIPTokenizerFast.from_pretrained(str(model_dir))
    pairs = [
        ("astronaut.png", "a photo of an astronaut."),
        ("chelsea.png", "a photo of a cat."),
        ("coffee.png", "a cup of coffee on a saucer."),
        ("rocket.jpg", "a rocket on its launch pad."),
    ]
    images = [Image.open(ROOT / "fixtures" / "images" / f).convert("RGB") for f, _ in pairs]
    pixels = processor(images=images, return_tensors="pt")["pixel_values"]
    tokens = tokenizer([c for _, c in pairs], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"], pixel_values=pixels, return_loss=True)
    logits = out.logits_per_image
    target = torch.arange(len(pairs))
    loss_images = torch.nn.functional.cross_entropy(logits, target)
    loss_texts = torch.nn.functional.cross_entropy(out.logits_per_text, target)
    return {
        "model": "tests/fixtures/tiny-quickgelu",
        "images": [f for f, _ in pairs],
        "captions": [c for _, c in pairs],
        "scale": float(model.logit_scale.exp()),
        "logits_per_image": logits.tolist(),
        "loss_images": float(loss_images),
        "loss_texts": float(loss_texts),
        "loss": float(out.loss),
    }


def shot_case():
    rng = np.random.default_rng(20261202)
    classes, dim, per_class = 4, 32, [6, 5, 9, 6]
    centres = normalise(rng.normal(size=(classes, dim)))
    xs, ys = [], []
    for c in range(classes):
        for _ in range(per_class[c]):
            xs.append(normalise(centres[c] + rng.normal(scale=0.22, size=dim)))
            ys.append(c)
    order = rng.permutation(len(ys))  # labels interleaved, as a gallery would have them
    xs = [xs[i] for i in order]
    ys = [ys[i] for i in order]
    shots, draws, seed, c = [1, 2, 4, 8, 16], 6, 7, 1.0
    fewest = min(per_class)
    groups = [[i for i, y in enumerate(ys) if y == cl] for cl in range(classes)]
    rng_draw = SplitMix64(seed)
    curve = []
    for k in shots:
        if k >= fewest:
            continue
        point = []
        for _ in range(draws):
            train = []
            for group in groups:
                group = list(group)
                rng_draw.choose(group, k)
                train += group[:k]
            train.sort()
            test = [i for i in range(len(ys)) if i not in train]
            model = LogisticRegression(C=c, tol=1e-10, max_iter=10000)
            model.fit(normalise([xs[i] for i in train]), [ys[i] for i in train])
            predicted = model.predict(normalise([xs[i] for i in test]))
            accuracy = float(np.mean(predicted == np.array([ys[i] for i in test])))
            point.append({"train": train, "accuracy": accuracy})
        curve.append({"k": k, "draws": point})
    return {
        "x": [[round(float(v), 7) for v in x] for x in xs],
        "y": ys,
        "classes": classes,
        "shots": shots,
        "draws": draws,
        "seed": seed,
        "c": c,
        "curve": curve,
    }


def template_case():
    rng = np.random.default_rng(42)
    classes, templates, dim, n = 5, 9, 24, 40
    centres = normalise(rng.normal(size=(classes, dim)))
    # Each template is a class direction plus its own bias; some templates are poor.
    quality = rng.uniform(0.3, 1.5, size=templates)
    rows = [[(centres[c] * quality[t] + rng.normal(scale=0.6, size=dim)).tolist() for t in range(templates)] for c in range(classes)]
    ys = [int(v) for v in rng.integers(0, classes, size=n)]
    images = [normalise(centres[y] + rng.normal(scale=0.9, size=dim)).tolist() for y in ys]
    rows = [[[round(v, 7) for v in r] for r in class_rows] for class_rows in rows]
    images = [[round(v, 7) for v in x] for x in images]
    scale = 100.0
    R = np.array(rows)  # [class][template][dim]
    X = normalise(images)

    def evaluate(subset):
        w = normalise(R[:, subset, :].sum(axis=1))
        logits = scale * X @ w.T
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        acc = float(np.mean(logits.argmax(axis=1) == np.array(ys)))
        return acc, float(np.mean(p[np.arange(n), ys]))

    listed = []
    for t in range(templates):
        acc, _ = evaluate(list(range(t + 1)))
        listed.append({"templates": list(range(t + 1)), "accuracy": acc})
    chosen, greedy = [], []
    while len(chosen) < templates:
        best = None
        for t in range(templates):
            if t in chosen:
                continue
            score = evaluate(chosen + [t])
            if best is None or score > best[1]:
                best = (t, score)
        chosen.append(best[0])
        greedy.append({"templates": list(chosen), "accuracy": best[1][0]})
    return {"rows": rows, "images": images, "y": ys, "scale": scale, "listed": listed, "greedy": greedy}


def main():
    import transformers

    reference = {
        "source": f"transformers {transformers.__version__}, scikit-learn {sklearn.__version__} LogisticRegression(C, tol=1e-10, max_iter=10000), numpy; tests/make_curve_reference.py",
        "contrast": contrast_case(),
        "shots": shot_case(),
        "templates": template_case(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(reference))
    print(f"wrote {OUT}: contrast loss {reference['contrast']['loss']:.6f}, "
          f"{sum(len(p['draws']) for p in reference['shots']['curve'])} draws")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""scikit-learn's LogisticRegression as the reference for the few-shot linear probe (probe.rs).

Writes tests/fixtures/probe/reference.json:
  cases: synthetic L2-normalised features (clusters on the sphere, 2 to 6 classes, several C),
         each with train features + labels, test features and sklearn's predict_proba;
  tiny:  a probe over the tiny-quickgelu test model's image embeddings, as transformers computed
         them (tests/fixtures/tiny-quickgelu/reference.json), for the `clip probe` CLI test.

sklearn is run to convergence (tol 1e-10, max_iter 10000) so the reference is the optimum of
C·Σ cross-entropy + ½‖W‖² (intercept unpenalised), not wherever its default 100 iterations stop.
Run by hand (pip install scikit-learn==1.9.1); the output is committed.
"""
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "fixtures" / "probe" / "reference.json"


def normalise(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sklearn_probs(train_x, train_y, test_x, c):
    model = LogisticRegression(C=c, tol=1e-10, max_iter=10000)
    model.fit(normalise(np.asarray(train_x, dtype=np.float64)), train_y)
    assert list(model.classes_) == sorted(set(train_y))
    return model.predict_proba(normalise(np.asarray(test_x, dtype=np.float64)))


def synthetic_cases():
    rng = np.random.default_rng(20261127)
    cases = []
    for classes, dim, per_class, c in [
        (2, 16, 3, 1.0),
        (2, 64, 1, 10.0),
        (3, 32, 2, 0.1),
        (3, 32, 4, 1.0),
        (4, 512, 5, 1.0),   # B/32's embedding width, the page's 30-ish images
        (6, 64, 5, 10.0),
        (6, 64, 2, 1000.0),  # nearly separable, weak penalty: a hard conditioning case
    ]:
        centres = normalise(rng.normal(size=(classes, dim)))
        def draw(n_per):
            xs, ys = [], []
            for k in range(classes):
                for _ in range(n_per):
                    xs.append(centres[k] + 0.6 * rng.normal(size=dim) / np.sqrt(dim) * 3)
                    ys.append(k)
            return normalise(np.array(xs)), ys
        train_x, train_y = draw(per_class)
        test_x, test_y = draw(2)
        # Features are stored as f32 (embeddings are), and sklearn sees exactly those values.
        train_x = train_x.astype(np.float32).astype(np.float64)
        test_x = test_x.astype(np.float32).astype(np.float64)
        probs = sklearn_probs(train_x, train_y, test_x, c)
        cases.append({
            "classes": classes, "c": c,
            "train_x": train_x.round(7).tolist(), "train_y": train_y,
            "test_x": test_x.round(7).tolist(), "test_y": test_y,
            "probs": probs.tolist(),
        })
    # Features are rounded to 7 decimals in JSON: recompute sklearn on exactly those numbers.
    for case in cases:
        case["probs"] = sklearn_probs(case["train_x"], case["train_y"], case["test_x"], case["c"]).tolist()
    return cases


def tiny_case():
    reference = json.loads((ROOT / "fixtures" / "tiny-quickgelu" / "reference.json").read_text())
    embeds = {image["file"]: image["embed"] for image in reference["images"]}
    train = [("cat", "chelsea.png"), ("astronaut", "astronaut.png"), ("cat", "chelsea.bmp"),
             ("cup of coffee", "coffee.png"), ("rocket", "rocket.jpg"), ("astronaut", "rocket.jpg")]
    test = ["chelsea.webp", "chelsea_gray.png", "astronaut.png", "coffee.png", "rocket.jpg"]
    labels = []
    for label, _ in train:
        if label not in labels:
            labels.append(label)
    c = 1.0
    probs = sklearn_probs([embeds[f] for _, f in train], [labels.index(l) for l, _ in train],
                          [embeds[f] for f in test], c)
    return {"model": "tiny-quickgelu", "c": c, "labels": labels,
            "train": [{"label": l, "image": f} for l, f in train], "test": test, "probs": probs.tolist()}


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "source": f"scikit-learn {sklearn.__version__} LogisticRegression(C, tol=1e-10, max_iter=10000); tests/make_probe_reference.py",
        "cases": synthetic_cases(),
        "tiny": tiny_case(),
    }
    OUT.write_text(json.dumps(data) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Export a Hugging Face CLIP checkpoint to transformers.js's layout, fp32 + q8.

    python3 bench/export_onnx.py HF_DIR OUT_DIR

OUT_DIR gets what transformers.js loads for CLIPTextModelWithProjection /
CLIPVisionModelWithProjection:

    OUT_DIR/config.json, tokenizer.json, tokenizer_config.json, preprocessor_config.json
    OUT_DIR/onnx/text_model.onnx            (fp32)   inputs input_ids, attention_mask
    OUT_DIR/onnx/vision_model.onnx          (fp32)   input  pixel_values
    OUT_DIR/onnx/text_model_quantized.onnx  (q8)     outputs text_embeds, last_hidden_state
    OUT_DIR/onnx/vision_model_quantized.onnx (q8)    outputs image_embeds, last_hidden_state

The export is PyTorch's (torch.onnx.export); the graphs are checked against transformers
itself with onnxruntime (cosine >= 0.9999 on a few inputs, else exit 1). The q8 files are made
exactly as transformers.js's scripts/quantize.py makes its "q8" mode: onnxruntime's
ONNXQuantizer in IntegerOps (dynamic) mode, weight type QUInt8 when the graph has a Conv
(CLIP's vision tower does: the patch embedding) else QInt8, activations QUInt8,
per_channel=False, reduce_range=False, extra_options EnableSubgraph + MatMulConstBOnly.
"""

import argparse
import json
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantizationMode, QuantType
from onnxruntime.quantization.onnx_quantizer import ONNXQuantizer
from onnxruntime.quantization.registry import IntegerOpsRegistry
from transformers import logging as hf_logging
from transformers import (
    AutoTokenizer,
    CLIPTextModelWithProjection,
    CLIPVisionModelWithProjection,
)

OPSET = 17
COSINE_MIN = 0.9999
# As transformers.js's scripts/quantize.py: these ops select QUInt8 weights for q8.
QUINT8_OPS = ("Conv", "GroupQueryAttention", "MultiHeadAttention")


def log(*args):
    print("export_onnx:", *args, file=sys.stderr, flush=True)


def get_operators(model):
    ops = set()

    def walk(graph):
        for node in graph.node:
            ops.add(node.op_type)
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)

    walk(model.graph)
    return ops


def quantize_q8(src, dst):
    """transformers.js scripts/quantize.py, mode q8, with its defaults (per_channel and reduce_range unset)."""
    model = onnx.load_model(src)
    ops = get_operators(model)
    weight_type = QuantType.QUInt8 if any(x in QUINT8_OPS for x in ops) else QuantType.QInt8
    quantizer = ONNXQuantizer(
        model,
        False,  # per_channel
        False,  # reduce_range
        mode=QuantizationMode.IntegerOps,
        static=False,
        weight_qType=weight_type,
        activation_qType=QuantType.QUInt8,
        tensors_range=None,
        nodes_to_quantize=[],
        nodes_to_exclude=[],
        op_types_to_quantize=set(IntegerOpsRegistry.keys()),
        extra_options=dict(EnableSubgraph=True, MatMulConstBOnly=True),
    )
    quantizer.quantize_model()
    # scripts/utils.py check_and_save_model: onnx.checker then save (external data only past 2 GB).
    out = quantizer.model.model
    onnx.checker.check_model(out, full_check=True)
    onnx.save_model(out, dst)
    log(f"q8 {os.path.basename(dst)}: weights {weight_type.name}, {os.path.getsize(dst) / 1e6:.1f} MB")


class TextWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return out.text_embeds, out.last_hidden_state


class VisionWrapper(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values)
        return out.image_embeds, out.last_hidden_state


def export(module, args, path, input_names, output_names, dynamic_axes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module, args, path, input_names=input_names, output_names=output_names,
                dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
            )
        except TypeError:  # a torch without the dynamo switch
            torch.onnx.export(
                module, args, path, input_names=input_names, output_names=output_names,
                dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True,
            )
    # Keep one self-contained file (the exporter may split out external data).
    model = onnx.load_model(path)
    for f in os.listdir(os.path.dirname(path)):
        if f.startswith(os.path.basename(path) + ".") or f.endswith(".data"):
            os.remove(os.path.join(os.path.dirname(path), f))
    onnx.save_model(model, path)
    log(f"fp32 {os.path.basename(path)}: {os.path.getsize(path) / 1e6:.1f} MB")


def cosine(a, b):
    a = a.reshape(a.shape[0], -1).astype(np.float64)
    b = b.reshape(b.shape[0], -1).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("hf_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--no-quantize", action="store_true", help="fp32 only")
    a = ap.parse_args()

    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    os.makedirs(os.path.join(a.out_dir, "onnx"), exist_ok=True)
    for name in ("config.json", "tokenizer.json", "preprocessor_config.json"):
        shutil.copyfile(os.path.join(a.hf_dir, name), os.path.join(a.out_dir, name))

    tokenizer = AutoTokenizer.from_pretrained(a.hf_dir)
    # tokenizer_config.json, as transformers writes it (transformers.js reads the tokenizer class,
    # model_max_length and the special tokens from it); keep the tokenizer.json we copied.
    tmp = os.path.join(a.out_dir, ".tok")
    tokenizer.save_pretrained(tmp)
    cfg = json.load(open(os.path.join(tmp, "tokenizer_config.json")))
    for key in ("is_local", "local_files_only"):
        cfg.pop(key, None)
    cfg.setdefault("tokenizer_class", "CLIPTokenizer")
    if not cfg.get("model_max_length") or cfg["model_max_length"] > 10**6:
        cfg["model_max_length"] = 77
    json.dump(cfg, open(os.path.join(a.out_dir, "tokenizer_config.json"), "w"), indent=2)
    shutil.rmtree(tmp)

    text = CLIPTextModelWithProjection.from_pretrained(a.hf_dir, attn_implementation="eager").eval()
    vision = CLIPVisionModelWithProjection.from_pretrained(a.hf_dir, attn_implementation="eager").eval()
    size = vision.config.image_size

    text_path = os.path.join(a.out_dir, "onnx", "text_model.onnx")
    vision_path = os.path.join(a.out_dir, "onnx", "vision_model.onnx")
    sample = tokenizer(["a photo of a cat", "a diagram"], padding=True, return_tensors="pt")
    with torch.no_grad():
        export(TextWrapper(text), (sample["input_ids"], sample["attention_mask"]), text_path,
               ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"],
               {"input_ids": {0: "batch_size", 1: "sequence_length"},
                "attention_mask": {0: "batch_size", 1: "sequence_length"},
                "text_embeds": {0: "batch_size"},
                "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})
        export(VisionWrapper(vision), (torch.randn(1, 3, size, size),), vision_path,
               ["pixel_values"], ["image_embeds", "last_hidden_state"],
               {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"},
                "last_hidden_state": {0: "batch_size"}})

    # Verify the fp32 graphs against transformers on inputs other than the export's.
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    worst = 1.0
    prompts = [["a photo of a dog."], ["a photo of a rocket.", "an astronaut riding a horse on the moon", "coffee"],
               ["x" * 10 + " y" * 60]]
    sess = ort.InferenceSession(text_path, opts, providers=["CPUExecutionProvider"])
    for p in prompts:
        t = tokenizer(p, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            ref = text(input_ids=t["input_ids"], attention_mask=t["attention_mask"]).text_embeds.numpy()
        got = sess.run(["text_embeds"], {"input_ids": t["input_ids"].numpy(), "attention_mask": t["attention_mask"].numpy()})[0]
        worst = min(worst, cosine(ref, got).min())
    sess = ort.InferenceSession(vision_path, opts, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(0)
    for batch in (1, 2, 3):
        px = torch.randn(batch, 3, size, size, generator=gen)
        with torch.no_grad():
            ref = vision(pixel_values=px).image_embeds.numpy()
        got = sess.run(["image_embeds"], {"pixel_values": px.numpy()})[0]
        worst = min(worst, cosine(ref, got).min())
    log(f"fp32 ONNX vs transformers: worst cosine {worst:.7f} (need >= {COSINE_MIN})")
    if not worst >= COSINE_MIN:
        log("FAIL: the exported graphs disagree with transformers")
        return 1

    if not a.no_quantize:
        quantize_q8(text_path, os.path.join(a.out_dir, "onnx", "text_model_quantized.onnx"))
        quantize_q8(vision_path, os.path.join(a.out_dir, "onnx", "vision_model_quantized.onnx"))
    log("done:", a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

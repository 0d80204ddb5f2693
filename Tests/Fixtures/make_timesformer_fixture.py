#!/usr/bin/env python3
"""Parity fixtures for TimeSformer: Hugging Face transformers' TimesformerForVideoClassification
and, for the ViT initialisation, a timm VisionTransformer.

Uses the deterministic fill, input and fvcore helpers of make_zoo_parity_fixture.py (same
folder): every state-dict entry is overwritten by the seed-free fill of its key and shape, the
input is x[i] = sin(0.05 * i) over the flat index of the N, C, T, H, W clip, and the JSON
records match that script's (preset, input_shape, logits, params, fvcore_flops,
fvcore_by_operator, keys, shapes, fill_check, versions). Hugging Face takes pixel_values
[N, T, C, H, W]: the clip is permuted before the call, which fvcore does not count.

Fixtures written to Tests/ZooTests/Fixtures/:

  timesformer_base.json           TimesformerConfig() (ViT-B/16, 8 x 224, divided space-time,
                                  num_labels=400), input [1, 3, 8, 224, 224]
  timesformer_tiny.json           the timesformer_tiny preset: image_size=64, patch_size=8,
                                  num_frames=8, hidden_size=96, 4 layers, 3 heads,
                                  intermediate_size=384, num_labels=10; input [2, 3, 8, 64, 64]
  timesformer_tiny_resampled.json the tiny model whose position embeddings are stored for a
                                  5 x 5 grid ([1, 26, 96]) and time embeddings for 3 frames
                                  ([1, 3, 96]): Hugging Face resamples both by nearest
                                  neighbour during the forward pass (input [1, 3, 8, 64, 64]);
                                  the shapes listed are the stored (smaller) ones
  timesformer_vit_tiny.json       timm VisionTransformer(img_size=64, patch_size=8,
                                  embed_dim=96, depth=4, num_heads=3, mlp_ratio=4,
                                  num_classes=10), timm keys; input one image [1, 3, 64, 64]
                                  (the same sin formula over its flat index)

Run it (CI never does; the JSON files are committed) with a Python that has torch, torchvision,
transformers, fvcore and timm, for example:

    PYTHONPATH=/tmp/tsextra /tmp/tvenv/bin/python Tests/Fixtures/make_timesformer_fixture.py [name ...]

(/tmp/tsextra: `pip install --no-deps --target /tmp/tsextra timm`.)
"""
import argparse
import importlib.util
import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("zoo_fixture", os.path.join(HERE, "make_zoo_parity_fixture.py"))
zoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zoo)  # also makes torchvision importable for transformers and timm

import transformers  # noqa: E402
from transformers import TimesformerConfig, TimesformerForVideoClassification  # noqa: E402


class Logits(nn.Module):
    """[N, C, T, H, W] in, logits out: Hugging Face's model on its [N, T, C, H, W] layout."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(pixel_values=x.permute(0, 2, 1, 3, 4)).logits


def tiny_config():
    return TimesformerConfig(image_size=64, patch_size=8, num_frames=8, hidden_size=96,
                             num_hidden_layers=4, num_attention_heads=3, intermediate_size=384,
                             num_labels=10)


def build_base():
    return TimesformerForVideoClassification(TimesformerConfig(num_labels=400))


def build_tiny():
    return TimesformerForVideoClassification(tiny_config())


def build_tiny_resampled():
    model = build_tiny()
    embeddings = model.timesformer.embeddings
    embeddings.position_embeddings = nn.Parameter(torch.zeros(1, 1 + 5 * 5, 96))
    embeddings.time_embeddings = nn.Parameter(torch.zeros(1, 3, 96))
    return model


def build_vit_tiny():
    import timm.models.vision_transformer as vit
    return vit.VisionTransformer(img_size=64, patch_size=8, embed_dim=96, depth=4, num_heads=3,
                                 mlp_ratio=4.0, num_classes=10)


# name -> (builder, input shape, wrap as Logits)
FIXTURES = {
    "timesformer_base": (build_base, [1, 3, 8, 224, 224], True),
    "timesformer_tiny": (build_tiny, [2, 3, 8, 64, 64], True),
    "timesformer_tiny_resampled": (build_tiny_resampled, [1, 3, 8, 64, 64], True),
    "timesformer_vit_tiny": (build_vit_tiny, [1, 3, 64, 64], False),
}


def write_fixture(name):
    builder, input_shape, wrap = FIXTURES[name]
    torch.manual_seed(0)
    model = builder().eval()
    zoo.fill_model(model)
    state = model.state_dict()
    net = Logits(model).eval() if wrap else model
    x = zoo.sin_input(input_shape)
    with torch.no_grad():
        logits = net(x).detach().to(torch.float32).flatten()
        if not torch.isfinite(logits).all():
            raise RuntimeError(f"{name}: non-finite logits")
        flops, by_operator = zoo.fvcore_counts(net, x)
    keys = list(state.keys())
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    if not wrap:
        import timm
        versions = {"torch": torch.__version__, "timm": timm.__version__}
    record = {
        "preset": name,
        "input_shape": input_shape,
        "logits": [float(v) for v in logits.tolist()],
        "params": int(sum(p.numel() for p in model.parameters())),
        "fvcore_flops": flops,
        "fvcore_by_operator": by_operator,
        "keys": keys,
        "shapes": {k: list(state[k].shape) for k in keys},
        "fill_check": {k: [float(v) for v in state[k].flatten()[:4].tolist()] for k in keys[:3]},
        **versions,
    }
    path = os.path.join(zoo.OUT_DIR, f"{name}.json")
    with open(path, "w") as handle:
        json.dump(record, handle, indent=1)
        handle.write("\n")
    print(f"{name}: {len(logits)} logits, params {record['params']}, fvcore flops {flops}, "
          f"{len(keys)} keys -> {os.path.relpath(path)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="fixtures to write (default: all): " + ", ".join(FIXTURES))
    names = parser.parse_args().names or list(FIXTURES)
    unknown = [n for n in names if n not in FIXTURES]
    if unknown:
        parser.error(f"unknown fixtures: {', '.join(unknown)}")
    for name in names:
        write_fixture(name)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Parity fixtures for the model zoo: reference logits, FLOPs and state-dict layouts from PyTorch.

For every preset below this script builds the reference PyTorch model in eval mode, overwrites
EVERY entry of its `state_dict()` (parameters and buffers) with a deterministic, seed-free fill,
runs one forward pass on a deterministic input under `torch.no_grad()`, and writes
`Tests/ZooTests/Fixtures/<preset>.json` holding:

    preset, input_shape, logits (all of them), params (parameter count),
    fvcore_flops (fvcore.nn.FlopCountAnalysis(model, inputs).total(), default op handles),
    fvcore_by_operator (.by_operator()), keys (state-dict keys in order), shapes {key: shape},
    fill_check {key: first 4 filled values, for the first 3 keys}, torch, torchvision versions.

The Swift side implements the identical fill and input formulas, loads its own model with them
and compares logits, parameter counts, FLOPs and key layouts. No tensor other than the logits
is stored, so the files stay small.

Run it (CI never does: the JSON files are committed):

    /tmp/tvenv/bin/python Tests/Fixtures/make_zoo_parity_fixture.py [preset ...]

or with any Python that has `pip install torch torchvision fvcore pytorchvideo`. With no
argument every preset is written; pytorchvideo presets are skipped (with a message) when
pytorchvideo cannot be imported.

Fill formula, per state-dict key `key` of a tensor with `numel` elements and shape `shape`:

    fnv1a(key): h = 2166136261; for each UTF-8 byte b of key: h = ((h ^ b) * 16777619) mod 2^32
    phase   = (fnv1a(key) % 10007) / 10007.0 * (2.0 * pi)                      (float64)
    base[i] = sin(0.61 * i + phase), i = 0 ... numel-1, flat row-major index   (float64, math.sin)
    value:
      key ends with "num_batches_tracked":           0
      key ends with "running_var":                   1 + 0.25 * (base + 1)
      key ends with "running_mean":                  0.1 * base
      rank 1 and key ends with ".weight" (norms):    1 + 0.1 * base
      rank 1 (biases, norm biases):                  0.1 * base
      otherwise (rank >= 2):                         base * sqrt(3 / fan_in), fan_in = numel / shape[0]
    everything is computed in float64 and cast to the tensor's dtype (float32) at the end.

Input: x[i] = sin(0.05 * i) over the flat row-major index of the preset's input shape (float64
math.sin, then float32). SlowFast takes [slow, fast]: the fast clip [1, 3, 32, 224, 224] uses the
formula and the slow clip is its frames at int(linspace(0, 31, 8)) = int(k * 31 / 7), k = 0 ... 7.

Presets:
  r3d_18, mc3_18, r2plus1d_18   torchvision.models.video.<name>(num_classes=400), [1,3,16,112,112]
  r2plus1d_34                   torchvision VideoResNet(BasicBlock, [Conv2Plus1D]*4, [3,4,6,3],
                                R2Plus1dStem, num_classes=400), [1,3,16,112,112]
  tsn_r18, tsn_r50              torchvision resnet18/resnet50(num_classes=400) over 8 segments:
                                [1,3,8,224,224] -> [8,3,224,224] -> backbone to the pooled,
                                flattened features -> [1,8,F] -> mean over segments -> fc
  tsm_r50                       tsn_r50 plus the residual temporal shift of TSM (shift_place
                                "blockres", fold_div 8) on the input of every Bottleneck's conv1:
                                channels [0, C/8) take segment t+1, [C/8, 2C/8) take segment t-1,
                                missing neighbours are zero; the identity path is not shifted
  tsn_r18_flow, tsn_r50_flow    tsn_r18/tsn_r50 over 3 segments with conv1 taking 10 channels
                                (stacks of 5 flow frames, x and y interleaved, as MMAction2's
                                ResNet(in_channels=10)), [1,10,3,224,224]
  c3d                           C3D (Tran et al. 2015), Sports-1M layer names, 487 classes,
                                [1,3,16,112,112]
  slow_r50, i3d_r50, c2d_r50    pytorchvideo.models.hub builders (pretrained=False), [1,3,8,224,224]
  slowfast_r50                  pytorchvideo.models.hub.slowfast_r50, [slow, fast] as above

The TSN/TSM wrappers register torchvision's modules directly on themselves, so the state-dict
keys are exactly torchvision's (conv1.weight, layer1.0.conv1.weight, ..., fc.weight).
"""
import argparse
import importlib
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn


HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "ZooTests", "Fixtures")


sys.path.insert(0, HERE)
from torch_reference import import_torchvision, temporal_shift  # noqa: E402

torchvision = import_torchvision()
from torchvision.models import resnet as tv_resnet  # noqa: E402
from torchvision.models.video import resnet as tv_video  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Deterministic fill and input
# ---------------------------------------------------------------------------------------------

def fnv1a(key):
    h = 2166136261
    for byte in key.encode("utf-8"):
        h = ((h ^ byte) * 16777619) % (1 << 32)
    return h


def fill_base(key, numel):
    phase = (fnv1a(key) % 10007) / 10007.0 * (2.0 * math.pi)
    sin = math.sin
    return np.fromiter((sin(0.61 * i + phase) for i in range(numel)), dtype=np.float64,
                       count=numel)


def fill_value(key, shape):
    shape = tuple(shape)
    numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if key.endswith("num_batches_tracked"):
        return np.zeros(shape, dtype=np.float64)
    base = fill_base(key, numel)
    if key.endswith("running_var"):
        values = 1.0 + 0.25 * (base + 1.0)
    elif key.endswith("running_mean"):
        values = 0.1 * base
    elif len(shape) == 1 and key.endswith(".weight"):
        values = 1.0 + 0.1 * base
    elif len(shape) == 1:
        values = 0.1 * base
    elif len(shape) >= 2:
        fan_in = numel // shape[0]
        values = base * math.sqrt(3.0 / fan_in)
    else:
        raise ValueError(f"no fill rule for rank-{len(shape)} tensor {key}")
    return values.reshape(shape)


def fill_model(model):
    state = model.state_dict()
    filled = {}
    for key, tensor in state.items():
        values = fill_value(key, tensor.shape)
        filled[key] = torch.from_numpy(values).to(tensor.dtype)
    model.load_state_dict(filled, strict=True)


def sin_input(shape):
    numel = int(np.prod(shape))
    sin = math.sin
    flat = np.fromiter((sin(0.05 * i) for i in range(numel)), dtype=np.float64, count=numel)
    return torch.from_numpy(flat.astype(np.float32).reshape(shape))


# ---------------------------------------------------------------------------------------------
# Reference models written here
# ---------------------------------------------------------------------------------------------

class SegmentResNet(nn.Module):
    """TSN over a torchvision 2D ResNet; TSM when `shift` is set (Bottleneck backbones only).

    Input [N, C, T, H, W] with T segments. torchvision's modules are attributes of this module,
    so its state-dict keys are the torchvision ResNet's.
    """

    def __init__(self, backbone, segments, shift=False):
        super().__init__()
        self.segments = segments
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                     "avgpool", "fc"):
            setattr(self, name, getattr(backbone, name))
        if shift:
            for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
                for block in layer:
                    if not isinstance(block, tv_resnet.Bottleneck):
                        raise TypeError("the temporal shift is placed in Bottleneck blocks")
                    block.conv1.register_forward_pre_hook(self._shift_hook)

    def _shift_hook(self, module, args):
        return (temporal_shift(args[0], self.segments),)

    def forward(self, x):
        n, c, t, h, w = x.shape
        x = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        x = x.reshape(n, t, -1).mean(dim=1)
        return self.fc(x)


class C3D(nn.Module):
    """C3D (Tran et al., ICCV 2015) with the Sports-1M port's layer names; 487 classes."""

    def __init__(self, num_classes=487):
        super().__init__()
        conv = lambda cin, cout: nn.Conv3d(cin, cout, kernel_size=3, padding=1)  # noqa: E731
        self.conv1a = conv(3, 64)
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2a = conv(64, 128)
        self.pool2 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv3a = conv(128, 256)
        self.conv3b = conv(256, 256)
        self.pool3 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv4a = conv(256, 512)
        self.conv4b = conv(512, 512)
        self.pool4 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv5a = conv(512, 512)
        self.conv5b = conv(512, 512)
        self.pool5 = nn.MaxPool3d(kernel_size=2, stride=2, padding=(0, 1, 1))
        self.fc6 = nn.Linear(8192, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=0.5)

    def forward(self, x):
        x = self.pool1(self.relu(self.conv1a(x)))
        x = self.pool2(self.relu(self.conv2a(x)))
        x = self.pool3(self.relu(self.conv3b(self.relu(self.conv3a(x)))))
        x = self.pool4(self.relu(self.conv4b(self.relu(self.conv4a(x)))))
        x = self.pool5(self.relu(self.conv5b(self.relu(self.conv5a(x)))))
        x = torch.flatten(x, 1)
        x = self.dropout(self.relu(self.fc6(x)))
        x = self.dropout(self.relu(self.fc7(x)))
        return self.fc8(x)


# ---------------------------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------------------------

CLIP_112 = [1, 3, 16, 112, 112]
SEGMENTS_224 = [1, 3, 8, 224, 224]
SLOWFAST_FAST = [1, 3, 32, 224, 224]
FLOW_SEGMENTS_224 = [1, 10, 3, 224, 224]


def flow_backbone(resnet, channels=10):
    """The temporal stream's backbone: the first convolution takes `channels` flow planes."""
    resnet.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return resnet


def build_r2plus1d_34():
    return tv_video.VideoResNet(block=tv_video.BasicBlock, conv_makers=[tv_video.Conv2Plus1D] * 4,
                                layers=[3, 4, 6, 3], stem=tv_video.R2Plus1dStem, num_classes=400)


def pytorchvideo_hub():
    return importlib.import_module("pytorchvideo.models.hub")


def slowfast_inputs():
    fast = sin_input(SLOWFAST_FAST)
    indices = slow_indices()
    slow = fast.index_select(2, torch.tensor(indices, dtype=torch.long))
    return [slow, fast]


def slow_indices(frames=32, slow=8):
    return [int(k * (frames - 1) / (slow - 1)) for k in range(slow)]


# name -> (builder, input shape, needs pytorchvideo)
PRESETS = {
    "r3d_18": (lambda: tv_video.r3d_18(num_classes=400), CLIP_112, False),
    "mc3_18": (lambda: tv_video.mc3_18(num_classes=400), CLIP_112, False),
    "r2plus1d_18": (lambda: tv_video.r2plus1d_18(num_classes=400), CLIP_112, False),
    "r2plus1d_34": (build_r2plus1d_34, CLIP_112, False),
    "tsn_r18": (lambda: SegmentResNet(tv_resnet.resnet18(num_classes=400), 8), SEGMENTS_224, False),
    "tsn_r50": (lambda: SegmentResNet(tv_resnet.resnet50(num_classes=400), 8), SEGMENTS_224, False),
    "tsm_r50": (lambda: SegmentResNet(tv_resnet.resnet50(num_classes=400), 8, shift=True),
                SEGMENTS_224, False),
    "tsn_r18_flow": (lambda: SegmentResNet(flow_backbone(tv_resnet.resnet18(num_classes=400)), 3),
                     FLOW_SEGMENTS_224, False),
    "tsn_r50_flow": (lambda: SegmentResNet(flow_backbone(tv_resnet.resnet50(num_classes=400)), 3),
                     FLOW_SEGMENTS_224, False),
    "c3d": (C3D, CLIP_112, False),
    "slow_r50": (lambda: pytorchvideo_hub().slow_r50(pretrained=False), SEGMENTS_224, True),
    "i3d_r50": (lambda: pytorchvideo_hub().i3d_r50(pretrained=False), SEGMENTS_224, True),
    "c2d_r50": (lambda: pytorchvideo_hub().c2d_r50(pretrained=False), SEGMENTS_224, True),
    "slowfast_r50": (lambda: pytorchvideo_hub().slowfast_r50(pretrained=False),
                     [[1, 3, 8, 224, 224], SLOWFAST_FAST], True),
}


def fvcore_counts(model, inputs):
    from fvcore.nn import FlopCountAnalysis
    analysis = FlopCountAnalysis(model, (inputs,))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return int(analysis.total()), {op: int(n) for op, n in sorted(analysis.by_operator().items())}


def write_preset(name):
    builder, input_shape, _ = PRESETS[name]
    torch.manual_seed(0)  # only the default init before the fill draws from it
    model = builder().eval()
    fill_model(model)
    state = model.state_dict()

    extra = {}
    if name == "slowfast_r50":
        inputs = slowfast_inputs()
        extra["slow_frame_indices"] = slow_indices()
    else:
        inputs = sin_input(input_shape)

    # pytorchvideo's multi-pathway blocks overwrite the entries of a list input in place, so
    # each call gets its own list (the tensors themselves are not modified).
    fresh = (lambda: list(inputs)) if isinstance(inputs, list) else (lambda: inputs)
    with torch.no_grad():
        logits = model(fresh())
    logits = logits.detach().to(torch.float32).flatten()
    if not torch.isfinite(logits).all():
        raise RuntimeError(f"{name}: non-finite logits")

    with torch.no_grad():
        flops, by_operator = fvcore_counts(model, fresh())

    keys = list(state.keys())
    record = {
        "preset": name,
        "input_shape": input_shape,
        **extra,
        "logits": [float(v) for v in logits.tolist()],
        "params": int(sum(p.numel() for p in model.parameters())),
        "fvcore_flops": flops,
        "fvcore_by_operator": by_operator,
        "keys": keys,
        "shapes": {k: list(state[k].shape) for k in keys},
        "fill_check": {k: [float(v) for v in state[k].flatten()[:4].tolist()] for k in keys[:3]},
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, f"{name}.json")
    with open(path, "w") as handle:
        json.dump(record, handle, indent=1)
        handle.write("\n")
    spread = float(logits.max() - logits.min())
    print(f"{name}: {len(logits)} logits, spread {spread:.4g}, params {record['params']}, "
          f"fvcore flops {flops}, {len(keys)} keys -> {os.path.relpath(path)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", help="presets to write (default: all): "
                        + ", ".join(PRESETS))
    names = parser.parse_args().presets or list(PRESETS)
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        parser.error(f"unknown presets: {', '.join(unknown)}")

    have_pytorchvideo = True
    if any(PRESETS[n][2] for n in names):
        try:
            pytorchvideo_hub()
        except Exception as error:  # noqa: BLE001 - any import failure means: skip those presets
            have_pytorchvideo = False
            print(f"skipping pytorchvideo presets: cannot import pytorchvideo ({error})",
                  file=sys.stderr)

    for name in names:
        if PRESETS[name][2] and not have_pytorchvideo:
            continue
        write_preset(name)


if __name__ == "__main__":
    main()

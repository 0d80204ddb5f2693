#!/usr/bin/env python3
"""Key-map fixtures: the state-dict layouts of public checkpoints, for Tests/ZooTests/KeyMapTests.swift.

Each `Tests/ZooTests/Fixtures/keymaps/<layout>_<preset>[_<variant>].json` holds one architecture's
state-dict keys in order and the shape of each, as its checkpoints store them:

    layout   the source layout, as `motive convert --from` names it
    preset   the Motive preset the layout's keys are mapped onto
    origin   "real" (dumped from the package's own model classes) or "reconstructed" (see below)
    source   what was built, with its arguments
    keys     state-dict keys, in the model's order
    shapes   one shape per key

A few fixtures also check what the keys *mean*: the architecture at a small size, every entry of
its state dict overwritten by the deterministic fill of Tests/Fixtures/make_zoo_parity_fixture.py
(keyed by the *source* key), one forward pass on a deterministic input, and

    input_shape, input ("sin": x[i] = sin(0.05 i) over the flat index; "sin_time_constant": the
                 same formula over (c, h, w) only, equal for every frame), logits

The Swift test fills the source keys the same way, maps them, loads the result into the preset
and compares logits, so a rename that puts a tensor in the wrong place of the same shape fails.

Real dumps (the package's classes, instantiated here):

    mmaction2_*       mmaction2 1.2.0 (with mmengine 0.10.7 and mmcv-lite 2.1.0), its model
                      configs from the package's .mim/configs with `pretrained` cleared
    hf_timesformer_*  transformers' TimesformerForVideoClassification

Reconstructed (neither is on PyPI; the module trees below are rebuilt from the published
sources, with the same attribute names, nesting, registration order and shapes):

    tsm_*         mit-han-lab/temporal-shift-module, ops/models.py (TSN._prepare_tsn) and
                  ops/temporal_shift.py (make_temporal_shift, place "blockres"): a real torchvision
                  ResNet under `base_model`, each block's conv1 wrapped by a module that keeps it
                  as `.net`, and either `fc` replaced by Dropout plus a `new_fc` (dropout > 0, the
                  repository's default 0.5) or `fc` resized in place (dropout 0); saved from
                  nn.DataParallel, hence `module.`.
    pyslowfast_*  facebookresearch/SlowFast, slowfast/models/video_model_builder.py (SlowFast,
                  ResNet), resnet_helper.py (ResStage, ResBlock, BottleneckTransform),
                  stem_helper.py (VideoModelStem, ResNetBasicStem), head_helper.py
                  (ResNetBasicHead), with the Kinetics configs SLOW_8x8_R50, C2D_8x8_R50,
                  I3D_8x8_R50, SLOWFAST_8x8_R50 and SLOWFAST_4x16_R50.

Run it (CI never does: the JSON files are committed) with a Python that has torch, torchvision,
transformers and

    pip install mmaction2==1.2.0 mmengine mmcv-lite==2.1.0 importlib_metadata

    python Tests/Fixtures/make_keymap_fixtures.py [name ...]

mmaction2 1.2.0's wheel lacks `mmaction/models/localizers/drn`, and its multimodal models need
timm; neither is used here, so both subpackages are replaced by empty modules before import.
"""
import argparse
import json
import os
import sys
import types

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_zoo_parity_fixture import fill_model, import_torchvision, sin_input  # noqa: E402

torchvision = import_torchvision()
from torchvision.models import resnet as tv_resnet  # noqa: E402

OUT_DIR = os.path.join(HERE, "..", "ZooTests", "Fixtures", "keymaps")


# ---------------------------------------------------------------------------------------------
# mmaction2
# ---------------------------------------------------------------------------------------------

def mmaction_registry():
    import mmaction  # noqa: F401 - checks the mmcv version before the stubs go in
    for name in ("localizers", "multimodal"):
        sys.modules["mmaction.models." + name] = types.ModuleType("mmaction.models." + name)
    import mmaction.models  # noqa: F401 - registers the backbones and heads
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS
    init_default_scope("mmaction")
    return MODELS


def mm_config(path, **backbone):
    from mmengine.config import Config
    root = os.path.join(os.path.dirname(sys.modules["mmaction"].__file__), ".mim", "configs")
    model = Config.fromfile(os.path.join(root, path)).model
    model.backbone.pretrained = None
    if "pretrained2d" in model.backbone:
        model.backbone.pretrained2d = False
    for key, value in backbone.items():
        if isinstance(value, dict):
            model.backbone[key].update(value)
        else:
            model.backbone[key] = value
    return model


def mm_model(path, classes, in_channels=None, **backbone):
    registry = mmaction_registry()
    model = mm_config(path, **backbone)
    model.cls_head.num_classes = classes
    if in_channels is not None:
        model.cls_head.in_channels = in_channels
    return registry.build(model).eval()


def mm_forward_2d(segments):
    def run(model, x):
        n, c, t, h, w = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
        return model.cls_head(model.backbone(frames), num_segs=segments)
    return run


def mm_forward_3d(model, x):
    return model.cls_head(model.backbone(x))


SLOWFAST_8X8 = "recognition/slowfast/slowfast_r50_8xb8-8x8x1-256e_kinetics400-rgb.py"
SLOWFAST_4X16 = "recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py"
TIMESFORMER = "recognition/timesformer/timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb.py"


def mm_tiny_slowfast():
    # slowfast_r50_tiny: α = τ = 4, fusion 7×1×1, ¼ width (slow 16, fast 2 channels), 10 classes.
    return mm_model(SLOWFAST_8X8, 10, in_channels=576,
                    slow_pathway=dict(lateral_norm=True, base_channels=16),
                    fast_pathway=dict(base_channels=2))


# name -> (builder, description, semantic check or None)
# A semantic check is (preset, input shape, input kind, forward).
MMACTION2 = {
    "tsn_r18": (lambda: mm_model("_base_/models/tsn_r50.py", 400, in_channels=512, depth=18),
                "Recognizer2D(ResNet(depth=18), TSNHead(400, 512)) from _base_/models/tsn_r50.py",
                ("tsn_r18", [1, 3, 8, 64, 64], "sin", mm_forward_2d(8))),
    "tsn_r50": (lambda: mm_model("_base_/models/tsn_r50.py", 400),
                "Recognizer2D(ResNet(depth=50), TSNHead(400, 2048)) from _base_/models/tsn_r50.py",
                None),
    "tsm_r50": (lambda: mm_model("_base_/models/tsm_r50.py", 400),
                "Recognizer2D(ResNetTSM(depth=50, shift_div=8), TSMHead(400, 2048)) "
                "from _base_/models/tsm_r50.py",
                ("tsm_r50", [1, 3, 8, 64, 64], "sin", mm_forward_2d(8))),
    "i3d_r50": (lambda: mm_model("_base_/models/i3d_r50.py", 400),
                "Recognizer3D(ResNet3d(depth=50, conv1_kernel=(5,7,7), inflate "
                "((1,1,1),(1,0,1,0),(1,0,1,0,1,0),(0,1,0))), I3DHead(400, 2048)) "
                "from _base_/models/i3d_r50.py",
                None),
    # The same network at ¼ width with the stem's temporal strides of 1 (mmaction2's I3D strides
    # conv1 and pool1 by 2 in time for 32-frame clips; pytorchvideo's by 1 for 8-frame clips).
    "i3d_r50_tiny": (lambda: mm_model("_base_/models/i3d_r50.py", 10, in_channels=512,
                                      base_channels=16, conv1_stride_t=1, pool1_stride_t=1),
                     "_base_/models/i3d_r50.py with base_channels=16, conv1_stride_t=1, "
                     "pool1_stride_t=1, I3DHead(10, 512)",
                     ("i3d_r50_tiny", [1, 3, 8, 64, 64], "sin", mm_forward_3d)),
    "slow_r50": (lambda: mm_model("_base_/models/slowonly_r50.py", 400),
                 "Recognizer3D(ResNet3dSlowOnly(depth=50, inflate=(0,0,1,1)), I3DHead(400, 2048)) "
                 "from _base_/models/slowonly_r50.py",
                 None),
    "slow_r50_tiny": (lambda: mm_model("_base_/models/slowonly_r50.py", 10, in_channels=512,
                                       base_channels=16),
                      "_base_/models/slowonly_r50.py with base_channels=16, I3DHead(10, 512)",
                      ("slow_r50_tiny", [1, 3, 8, 64, 64], "sin", mm_forward_3d)),
    "c2d_r50": (lambda: mm_model("_base_/models/c2d_r50.py", 400),
                "Recognizer3D(C2D(depth=50), I3DHead(400, 2048)) from _base_/models/c2d_r50.py "
                "(2D kernels)",
                None),
    "r2plus1d_34": (lambda: mm_model("_base_/models/r2plus1d_r34.py", 400),
                    "Recognizer3D(ResNet2Plus1d(depth=34), I3DHead(400, 512)) "
                    "from _base_/models/r2plus1d_r34.py",
                    None),
    "c3d": (lambda: mm_model("_base_/models/c3d_sports1m_pretrained.py", 487),
            "Recognizer3D(C3D, I3DHead(487, 4096)) from _base_/models/c3d_sports1m_pretrained.py",
            None),
    "slowfast_r50": (lambda: mm_model(SLOWFAST_8X8, 400, slow_pathway=dict(lateral_norm=True)),
                     "Recognizer3D(ResNet3dSlowFast(α=4, τ=4, fusion_kernel=7, lateral_norm=True), "
                     "SlowFastHead(400, 2304)) from slowfast_r50_8xb8-8x8x1-256e with the lateral "
                     "norm of slowfast_r50_8xb8-8x8x1-steplr-256e",
                     None),
    "slowfast_r50_nonorm": (lambda: mm_model(SLOWFAST_8X8, 400),
                            "Recognizer3D(ResNet3dSlowFast(α=4, τ=4, fusion_kernel=7, "
                            "lateral_norm=False), SlowFastHead(400, 2304)) from "
                            "slowfast_r50_8xb8-8x8x1-256e: laterals without norm or ReLU",
                            None),
    "slowfast_r50_4x16": (lambda: mm_model(SLOWFAST_4X16, 400, slow_pathway=dict(lateral_norm=True)),
                          "Recognizer3D(ResNet3dSlowFast(α=8, τ=8, fusion_kernel=5, "
                          "lateral_norm=True), SlowFastHead(400, 2304)) from "
                          "slowfast_r50_8xb8-4x16x1-256e",
                          None),
    # Every frame equal: mmaction2 picks the slow frames by nearest-neighbour resampling
    # (0, 4, 8, 12 of 16), Motive by PySlowFast's linspace (0, 5, 10, 15).
    "slowfast_r50_tiny": (mm_tiny_slowfast,
                          "slowfast_r50_8xb8-8x8x1-256e with lateral_norm=True, base_channels 16 "
                          "(slow) and 2 (fast), SlowFastHead(10, 576)",
                          ("slowfast_r50_tiny", [1, 3, 16, 64, 64], "sin_time_constant",
                           mm_forward_3d)),
    "timesformer_base": (lambda: mm_model(TIMESFORMER, 400),
                         "Recognizer3D(TimeSformer(divided_space_time, 8×224², patch 16, 768 wide, "
                         "12 layers), TimeSformerHead(400, 768)) from "
                         "timesformer_divST_8xb8-8x32x1-15e",
                         None),
    # timesformer_tiny: 8×64², 8×8 patches, 96 wide, 4 layers of 3 heads, 10 classes.
    "timesformer_tiny": (lambda: mm_model(TIMESFORMER, 10, in_channels=96, img_size=64, patch_size=8,
                                          embed_dims=96, num_heads=3, num_transformer_layers=4),
                         "timesformer_divST_8xb8-8x32x1-15e with img_size 64, patch_size 8, "
                         "embed_dims 96, num_heads 3, 4 layers, TimeSformerHead(10, 96)",
                         ("timesformer_tiny", [1, 3, 8, 64, 64], "sin", mm_forward_3d)),
}


# ---------------------------------------------------------------------------------------------
# Hugging Face
# ---------------------------------------------------------------------------------------------

def hf_timesformer():
    from transformers import TimesformerConfig, TimesformerForVideoClassification
    return TimesformerForVideoClassification(TimesformerConfig(num_labels=400)).eval()


# ---------------------------------------------------------------------------------------------
# mit-han-lab/temporal-shift-module (reconstructed)
# ---------------------------------------------------------------------------------------------

class ShiftWrapper(nn.Module):
    """Stands for ops/temporal_shift.py's TemporalShift: the wrapped conv is its child `net`."""

    def __init__(self, net):
        super().__init__()
        self.net = net


class TSMRepoModel(nn.Module):
    """Stands for ops/models.py's TSN: `base_model` (a torchvision ResNet) then `new_fc`."""

    def __init__(self, depth, classes, shift, dropout):
        super().__init__()
        self.base_model = getattr(tv_resnet, f"resnet{depth}")()
        if shift:
            for stage in (self.base_model.layer1, self.base_model.layer2, self.base_model.layer3,
                          self.base_model.layer4):
                for block in stage:
                    block.conv1 = ShiftWrapper(block.conv1)
        features = self.base_model.fc.in_features
        if dropout > 0:
            self.base_model.fc = nn.Dropout(p=dropout)
            self.new_fc = nn.Linear(features, classes)
        else:
            self.base_model.fc = nn.Linear(features, classes)


class DataParallelNames(nn.Module):
    """nn.DataParallel's naming without its device checks: the model is the child `module`."""

    def __init__(self, module):
        super().__init__()
        self.module = module


TSM_REPO = {
    "tsm_r50": (lambda: DataParallelNames(TSMRepoModel(50, 400, shift=True, dropout=0.5)),
                "TSN('resnet50', is_shift=True, shift_place='blockres', dropout=0.5), 400 classes"),
    "tsn_r50": (lambda: DataParallelNames(TSMRepoModel(50, 400, shift=False, dropout=0)),
                "TSN('resnet50', is_shift=False, dropout=0), 400 classes"),
    "tsn_r18": (lambda: DataParallelNames(TSMRepoModel(18, 400, shift=False, dropout=0.5)),
                "TSN('resnet18', is_shift=False, dropout=0.5), 400 classes"),
}


# ---------------------------------------------------------------------------------------------
# PySlowFast (reconstructed)
# ---------------------------------------------------------------------------------------------

def conv3d(cin, cout, kernel):
    return nn.Conv3d(cin, cout, kernel, bias=False)


class BasicStem(nn.Module):
    """ResNetBasicStem: conv, bn (relu and pool_layer hold no state)."""

    def __init__(self, cin, cout, kt):
        super().__init__()
        self.conv = conv3d(cin, cout, (kt, 7, 7))
        self.bn = nn.BatchNorm3d(cout)


class Stem(nn.Module):
    """VideoModelStem: one ResNetBasicStem per pathway, `pathway{p}_stem`."""

    def __init__(self, widths, kernels):
        super().__init__()
        for p, (width, kt) in enumerate(zip(widths, kernels)):
            self.add_module(f"pathway{p}_stem", BasicStem(3, width, kt))


class Bottleneck(nn.Module):
    """BottleneckTransform: a (kT×1×1), b (1×3×3), c (1×1×1), each followed by its `_bn`."""

    def __init__(self, cin, inner, cout, kt):
        super().__init__()
        self.a = conv3d(cin, inner, (kt, 1, 1))
        self.a_bn = nn.BatchNorm3d(inner)
        self.b = conv3d(inner, inner, (1, 3, 3))
        self.b_bn = nn.BatchNorm3d(inner)
        self.c = conv3d(inner, cout, (1, 1, 1))
        self.c_bn = nn.BatchNorm3d(cout)


class ResBlock(nn.Module):
    """ResBlock: `branch1` and `branch1_bn` when the shape changes, then `branch2`."""

    def __init__(self, cin, inner, cout, kt, stride):
        super().__init__()
        if cin != cout or stride != 1:
            self.branch1 = conv3d(cin, cout, (1, 1, 1))
            self.branch1_bn = nn.BatchNorm3d(cout)
        self.branch2 = Bottleneck(cin, inner, cout, kt)


class ResStage(nn.Module):
    """ResStage: blocks `pathway{p}_res{i}`, all of pathway 0 before pathway 1."""

    def __init__(self, dims_in, inners, dims_out, kernels, stride):
        super().__init__()
        for p, (cin, inner, cout, kernel_cycle) in enumerate(zip(dims_in, inners, dims_out, kernels)):
            for i, kt in enumerate(kernel_cycle):
                self.add_module(f"pathway{p}_res{i}",
                                ResBlock(cin if i == 0 else cout, inner, cout, kt, stride if i == 0 else 1))


class Fuse(nn.Module):
    """FuseFastToSlow: `conv_f2s` (fusion kernel × 1 × 1, stride α) and `bn`."""

    def __init__(self, fast, ratio, kernel):
        super().__init__()
        self.conv_f2s = conv3d(fast, fast * ratio, (kernel, 1, 1))
        self.bn = nn.BatchNorm3d(fast * ratio)


class Head(nn.Module):
    """ResNetBasicHead: `projection` is its only state."""

    def __init__(self, features, classes):
        super().__init__()
        self.projection = nn.Linear(features, classes)


DEPTHS = [3, 4, 6, 3]


def stage_kernels(basis, blocks):
    """The temporal kernel of every block: the basis cycled over the stage (NUM_BLOCK_TEMP_KERNEL
    equals the block count in the Kinetics R50 configs)."""
    return [basis[i % len(basis)] for i in range(blocks)]


class PySlowFastResNet(nn.Module):
    """video_model_builder.ResNet: s1 (stem), s2, pathway0_pool (no state), s3, s4, s5, head."""

    # MODEL.ARCH -> (stem kernel, [res2..res5 kernel bases]) from _TEMPORAL_KERNEL_BASIS
    ARCHS = {"slow": (1, [[1], [1], [3], [3]]), "c2d": (1, [[1], [1], [1], [1]]),
             "i3d": (5, [[3], [3, 1], [3, 1], [1, 3]])}

    def __init__(self, arch, classes=400, width=64):
        super().__init__()
        stem_kernel, bases = self.ARCHS[arch]
        self.s1 = Stem([width], [stem_kernel])
        dim_in = width
        for s in range(4):
            inner, out = width << s, (width << s) * 4
            stage = ResStage([dim_in], [inner], [out], [stage_kernels(bases[s], DEPTHS[s])],
                             1 if s == 0 else 2)
            self.add_module(f"s{s + 2}", stage)
            if s == 0:
                self.pathway0_pool = nn.MaxPool3d(1)
            dim_in = out
        self.head = Head(dim_in, classes)


class PySlowFast(nn.Module):
    """video_model_builder.SlowFast: s1, s1_fuse, s2, s2_fuse, pools, s3, s3_fuse, s4, s4_fuse, s5,
    head; BETA_INV 8, FUSION_CONV_CHANNEL_RATIO 2."""

    def __init__(self, fusion_kernel, classes=400, width=64, beta_inv=8, ratio=2):
        super().__init__()
        fast = width // beta_inv
        slow_bases = [[1], [1], [3], [3]]
        fast_bases = [[3], [3], [3], [3]]
        self.s1 = Stem([width, fast], [1, 5])
        self.s1_fuse = Fuse(fast, ratio, fusion_kernel)
        slow_in, fast_in = width + fast * ratio, fast
        for s in range(4):
            inner, out = width << s, (width << s) * 4
            stage = ResStage([slow_in, fast_in], [inner, inner // beta_inv], [out, out // beta_inv],
                             [stage_kernels(slow_bases[s], DEPTHS[s]),
                              stage_kernels(fast_bases[s], DEPTHS[s])],
                             1 if s == 0 else 2)
            self.add_module(f"s{s + 2}", stage)
            if s < 3:
                self.add_module(f"s{s + 2}_fuse", Fuse(out // beta_inv, ratio, fusion_kernel))
            if s == 0:
                self.pathway0_pool = nn.MaxPool3d(1)
                self.pathway1_pool = nn.MaxPool3d(1)
            slow_in = out + out // beta_inv * ratio
            fast_in = out // beta_inv
        self.head = Head(width * 32 + fast * 32, classes)


PYSLOWFAST = {
    "slow_r50": (lambda: PySlowFastResNet("slow"), "ResNet, MODEL.ARCH slow (SLOW_8x8_R50)"),
    "c2d_r50": (lambda: PySlowFastResNet("c2d"), "ResNet, MODEL.ARCH c2d (C2D_8x8_R50)"),
    "i3d_r50": (lambda: PySlowFastResNet("i3d"), "ResNet, MODEL.ARCH i3d (I3D_8x8_R50)"),
    "slowfast_r50": (lambda: PySlowFast(fusion_kernel=7),
                     "SlowFast, α 4, FUSION_KERNEL_SZ 7 (SLOWFAST_8x8_R50)"),
    "slowfast_r50_4x16": (lambda: PySlowFast(fusion_kernel=5),
                          "SlowFast, α 8, FUSION_KERNEL_SZ 5 (SLOWFAST_4x16_R50)"),
}


# ---------------------------------------------------------------------------------------------
# A torch.save checkpoint for the end-to-end test (Tests/TrainingTests/ConvertTests.swift)
# ---------------------------------------------------------------------------------------------

def torchvision_mc3_18_tiny(classes=10):
    """mc3_18_tiny: torchvision's VideoResNet, BasicBlock, Conv3DSimple then Conv3DNoTemporal ×3,
    at ¼ width (16, 32, 64, 128 channels), built from torchvision's own classes."""
    from torchvision.models.video import resnet as tv_video
    makers = [tv_video.Conv3DSimple] + [tv_video.Conv3DNoTemporal] * 3
    model = tv_video.VideoResNet(tv_video.BasicBlock, makers, [2, 2, 2, 2], tv_video.BasicStem,
                                 num_classes=classes)
    model.stem = nn.Sequential(nn.Conv3d(3, 16, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                               nn.BatchNorm3d(16), nn.ReLU(inplace=True))
    model.inplanes = 16
    for i, (maker, planes) in enumerate(zip(makers, [16, 32, 64, 128])):
        setattr(model, f"layer{i + 1}", model._make_layer(tv_video.BasicBlock, maker, planes, 2,
                                                          stride=1 if i == 0 else 2))
    model.fc = nn.Linear(128, classes)
    return model.eval()


def write_torch_checkpoint():
    """`torchvision_mc3_18_tiny.pth`: the parity-filled state dict of mc3_18_tiny in float16 (to
    stay small), saved by torch.save as it is; `torchvision_mc3_18_tiny.json`: its keys and
    shapes and the logits of the float16-rounded weights on the sin input [1, 3, 8, 64, 64]."""
    model = torchvision_mc3_18_tiny()
    fill_model(model)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    shape = [1, 3, 8, 64, 64]
    with torch.no_grad():
        logits = model(sin_input(shape)).flatten()
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.save(state, os.path.join(OUT_DIR, "torchvision_mc3_18_tiny.pth"))
    record = {"layout": "torchvision", "preset": "mc3_18_tiny", "origin": "real",
              "source": "torchvision VideoResNet(BasicBlock, [Conv3DSimple] + [Conv3DNoTemporal] * 3, "
                        "[2, 2, 2, 2]) at ¼ width, 10 classes, float16 weights",
              "input_shape": shape, "input": "sin", "logits": [float(v) for v in logits.tolist()],
              "keys": list(state), "shapes": [list(v.shape) for v in state.values()]}
    with open(os.path.join(OUT_DIR, "torchvision_mc3_18_tiny.json"), "w") as handle:
        json.dump(record, handle, separators=(",", ":"))
        handle.write("\n")
    size = os.path.getsize(os.path.join(OUT_DIR, "torchvision_mc3_18_tiny.pth"))
    print(f"torchvision_mc3_18_tiny: {len(state)} keys, {size / 1e6:.2f} MB .pth, 10 logits")


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

def sin_clip(shape, time_constant):
    if not time_constant:
        return sin_input(shape)
    n, c, t, h, w = shape
    return sin_input([n, c, 1, h, w]).expand(n, c, t, h, w).contiguous()


def write(name, layout, preset, origin, source, model, semantic=None):
    state = model.state_dict()
    record = {"layout": layout, "preset": preset, "origin": origin, "source": source}
    if semantic is not None:
        target, input_shape, kind, forward = semantic
        torch.manual_seed(0)
        fill_model(model)
        x = sin_clip(input_shape, kind == "sin_time_constant")
        with torch.no_grad():
            logits = forward(model, x).flatten().to(torch.float32)
        if not torch.isfinite(logits).all():
            raise RuntimeError(f"{name}: non-finite logits")
        record.update(preset=target, input_shape=input_shape, input=kind,
                      logits=[float(v) for v in logits.tolist()])
    record["keys"] = list(state.keys())
    record["shapes"] = [list(t.shape) for t in state.values()]
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, f"{name}.json")
    with open(path, "w") as handle:
        json.dump(record, handle, separators=(",", ":"))
        handle.write("\n")
    print(f"{name}: {len(state)} keys ({origin})" + (f", {len(record['logits'])} logits"
                                                      if semantic else "") + f" -> {os.path.relpath(path)}")


def jobs():
    out = {}
    for preset, (build, source, semantic) in MMACTION2.items():
        out[f"mmaction2_{preset}"] = lambda p=preset, b=build, s=source, c=semantic: write(
            f"mmaction2_{p}", "mmaction2", p.replace("_nonorm", ""), "real", "mmaction2 1.2.0: " + s, b(), c)
    out["hf_timesformer_base"] = lambda: write(
        "hf_timesformer_base", "hf", "timesformer_base", "real",
        "transformers TimesformerForVideoClassification(TimesformerConfig(num_labels=400))",
        hf_timesformer())
    for preset, (build, source) in TSM_REPO.items():
        out[f"tsm_{preset}"] = lambda p=preset, b=build, s=source: write(
            f"tsm_{p}", "tsm", p, "reconstructed",
            "mit-han-lab/temporal-shift-module ops/models.py " + s + ", under nn.DataParallel", b())
    out["torchvision_mc3_18_tiny"] = write_torch_checkpoint
    for preset, (build, source) in PYSLOWFAST.items():
        out[f"pyslowfast_{preset}"] = lambda p=preset, b=build, s=source: write(
            f"pyslowfast_{p}", "pyslowfast", p, "reconstructed",
            "facebookresearch/SlowFast slowfast/models/video_model_builder.py " + s, b())
    return out


def main():
    table = jobs()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="fixtures to write (default: all): " + ", ".join(table))
    names = parser.parse_args().names or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown fixtures: {', '.join(unknown)}")
    for name in names:
        table[name]()


if __name__ == "__main__":
    main()

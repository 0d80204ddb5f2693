"""The PyTorch side of Motive's benchmarks: every zoo preset built from its reference
implementation, timed on this machine with the protocol Motive uses.

    python3 bench/torch_zoo.py NAME... [--threads N] [--infer-repeats 3] [--train-repeats 2]
    python3 bench/torch_zoo.py NAME... --bench-fields [--repeats 10] [--batch 8] [--views CxK]
                                       [--train-step] [--train-repeats 2]
    python3 bench/torch_zoo.py --list

NAME is a Motive preset (`motive models` lists them; `--list` prints the ones this script
builds). Each is built with random weights (nothing is downloaded), with the architecture, widths,
class count and input shape of the Swift preset (Sources/Zoo/Registry.swift):

- r3d_18, mc3_18, r2plus1d_18, r2plus1d_34 (and _tiny): torchvision.models.video. The full
  models are torchvision's own builders (r2plus1d_34 is its VideoResNet with 3, 4, 6, 3 blocks);
  the ¼-width _tiny ones subclass VideoResNet to start from 16 channels (stem 11 for R(2+1)D).
- tsn_r18, tsn_r50, tsm_r50, tsn_r18_flow, tsn_r50_flow (and _tiny): torchvision's image ResNet
  run on every segment ([N, C, K, H, W] is folded to [N·K, C, H, W]), pooled features averaged
  over the K segments, dropout, fc. TSM wraps each block's conv1 in the temporal shift (1/8 of the
  channels one segment forward, 1/8 back), so only the residual branch sees shifted features.
- two_stream_tsn_r50, two_stream_tsn_tiny: an RGB TSN and a flow TSN on the channel split
  [3 | 2L] of one input, fused as rgb + 1.5 · flow (TSN's late fusion, as Motive's TwoStream).
- slow_r50, c2d_r50, i3d_r50 (and _tiny): pytorchvideo.models.create_resnet with the hub
  builders' settings; the head pools globally (AdaptiveAvgPool3d), as Motive does, so the _tiny
  clips fit. slowfast_r50 (α 4, 7×1×1 fusion), slowfast_r50_4x16 (α 8, 5×1×1 fusion) and _tiny:
  pytorchvideo.models.create_slowfast. The model takes one [N, 3, T, H, W] clip: the fast pathway
  is the clip, the slow one its frames linspace(0, T−1, T/α) truncated (PySlowFast's PackPathway,
  Motive's SlowFast.slowIndices).
- timesformer_base, timesformer_hr, timesformer_tiny: transformers' TimesformerForVideoClassification
  (divided space-time attention); the wrapper permutes [N, C, T, H, W] to its [N, T, C, H, W].
- c3d, c3d_tiny: written here (C3D of Tran et al. 2015; the tiny one has ¼ widths, fc6/fc7 of 256
  and a batch norm after each conv, convs then without bias).

Full-size presets have 400 classes (C3D 487, Sports-1M), _tiny ones 10.

Each model's build is checked on stderr: its parameter count and fvcore's FLOPs (one multiply-add
is one FLOP; fvcore.nn.FlopCountAnalysis on one view at batch 1) next to Motive's, which are read
from `motive models --json --filter NAME` when the binary is there (--motive, default
.build/release/motive; --no-verify skips the check in the default mode). fvcore counts no 3D
adaptive pooling, which Motive counts (a few thousand FLOPs); the two otherwise agree.

Output: one JSON line per model on stdout, flushed as each finishes; everything else on stderr.

Default mode (the speed harness):
    {"model", "input": [1, C, T, H, W], "infer_s_per_clip", "infer_peak_mb", "train_s_per_step_b2"}
  infer_s_per_clip: a torch.inference_mode() forward of one view at batch 1 in eval mode, one
  warm-up then --infer-repeats timed runs, the median. infer_peak_mb: how far resident memory
  rose during those runs, as peak_rss_mb below (with the model built and the view made), MiB. train_s_per_step_b2: one SGD step
  (lr 0.01, momentum 0.9; forward, cross-entropy against random labels, backward, step, zero_grad)
  at batch 2 in train mode, one warm-up then --train-repeats timed steps, the median.

--bench-fields (mirrors `motive bench`, Sources/Benchmark/Bench.swift):
    {"model", "preset", "input", "params_m", "gflops_per_view", "views", "gflops_per_video",
     "latency_ms_p50", "latency_ms_p90", "clips_per_s", "achieved_gflops_per_s", "peak_rss_mb"}
  plus "train_s_per_step_b2" with --train-step.
  params_m: parameters / 1e6. gflops_per_view: fvcore on one view at batch 1, / 1e9. views: --views
  "CxK" (default 1x1), gflops_per_video = gflops_per_view · C · K. latency: no-grad forwards at
  batch 1, one warm-up then --repeats timed. clips_per_s: --batch / the median of 3 timed forwards
  at that batch, after one warm-up; achieved_gflops_per_s = gflops_per_view · clips_per_s.
  peak_rss_mb: with the model built and the view made, the heap's free pages are returned to the
  kernel (glibc malloc_trim, so memory an earlier model freed does not absorb this one's growth),
  "5" is written to /proc/self/clear_refs (resets VmHWM) and VmRSS read as the baseline; after the latency and throughput runs,
  (VmHWM − baseline) / 2^20. Where clear_refs cannot be written or /proc is missing the field is null.

Every median and percentile is nearest-rank on the sorted times, as Motive's: p = sorted[ceil(q·n) − 1]
(for two runs the median is the faster one). Inputs are torch.randn; torch.manual_seed(0) before
each model. Threads: torch.set_num_threads(--threads, default os.cpu_count()) and
torch.set_num_interop_threads(1). Floats are rounded to 4 significant digits (6 for params_m and
GFLOPs). An unknown NAME prints the known presets on stderr and exits with status 2.

Run it on an otherwise idle machine: with other work on the cores, OpenMP's spin-waiting threads
make multi-threaded times of models of many small ops 50–100× slower (slowfast_r50_tiny: ~3 s a
clip at 2 threads beside a busy process, ~20 ms with --threads 1 or OMP_WAIT_POLICY=passive).

Needs torch, torchvision, pytorchvideo, fvcore and transformers (checked with torch 2.13.0+cpu,
torchvision 0.28.0, pytorchvideo 0.1.5, fvcore 0.1.5.post20221221, transformers 5.24.0). PyPI's
Linux torchvision is a CUDA build whose compiled ops do not load beside a CPU-only torch; the
video and image ResNets need none of them, and the import below works around that.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures"))
from torch_reference import import_torchvision, temporal_shift  # noqa: E402

tv = import_torchvision()
import torchvision.models.resnet  # noqa: E402,F401
import torchvision.models.video.resnet  # noqa: E402,F401
VR = tv.models.video.resnet
IR = tv.models.resnet


# ---------------------------------------------------------------------------------------------
# torchvision video ResNets (R3D, MC3, R(2+1)D)

def init_resnet(model, conv, norm, linear_std=None):
    """torchvision's ResNet initialisation: He-normal convolutions (fan out), unit batch norms,
    and with `linear_std` a normal classifier of that deviation with zero bias."""
    for m in model.modules():
        if isinstance(m, conv):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, norm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif linear_std is not None and isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, linear_std)
            nn.init.zeros_(m.bias)


class ScaledVideoResNet(VR.VideoResNet):
    """torchvision's VideoResNet with the stage widths width·2^i (torchvision fixes 64): the
    stem, blocks, pooling, classifier and initialisation are torchvision's own."""

    def __init__(self, conv_makers, layers, r2plus1d_stem, width, num_classes):
        nn.Module.__init__(self)
        if r2plus1d_stem:
            mid = width * 45 // 64
            self.stem = nn.Sequential(
                nn.Conv3d(3, mid, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
                nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
                nn.Conv3d(mid, width, (3, 1, 1), stride=1, padding=(1, 0, 0), bias=False),
                nn.BatchNorm3d(width), nn.ReLU(inplace=True))
        else:
            self.stem = nn.Sequential(
                nn.Conv3d(3, width, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
                nn.BatchNorm3d(width), nn.ReLU(inplace=True))
        self.inplanes = width
        self.layer1 = self._make_layer(VR.BasicBlock, conv_makers[0], width, layers[0], stride=1)
        self.layer2 = self._make_layer(VR.BasicBlock, conv_makers[1], width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(VR.BasicBlock, conv_makers[2], width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(VR.BasicBlock, conv_makers[3], width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(width * 8, num_classes)
        init_resnet(self, nn.Conv3d, nn.BatchNorm3d, linear_std=0.01)


VIDEO_RESNETS = {
    "r3d_18": ([VR.Conv3DSimple] * 4, [2, 2, 2, 2], False),
    "mc3_18": ([VR.Conv3DSimple] + [VR.Conv3DNoTemporal] * 3, [2, 2, 2, 2], False),
    "r2plus1d_18": ([VR.Conv2Plus1D] * 4, [2, 2, 2, 2], True),
    "r2plus1d_34": ([VR.Conv2Plus1D] * 4, [3, 4, 6, 3], True),
}


def video_resnet(base, tiny, classes):
    makers, layers, r2plus1d = VIDEO_RESNETS[base]
    if tiny:
        return ScaledVideoResNet(makers, layers, r2plus1d, 16, classes)
    if base == "r2plus1d_34":
        return VR.VideoResNet(VR.BasicBlock, makers, layers, VR.R2Plus1dStem, num_classes=classes)
    return getattr(tv.models.video, base)(weights=None, num_classes=classes)


# ---------------------------------------------------------------------------------------------
# TSN, TSM and two-stream TSN on torchvision's image ResNets

class ScaledResNet(IR.ResNet):
    """torchvision's image ResNet with stage widths width·2^i and `in_channels` input channels
    (torchvision fixes 64 and 3); blocks, layout and initialisation are torchvision's."""

    def __init__(self, depth, width, in_channels, num_classes):
        nn.Module.__init__(self)
        block, layers = {18: (IR.BasicBlock, [2, 2, 2, 2]), 34: (IR.BasicBlock, [3, 4, 6, 3]),
                         50: (IR.Bottleneck, [3, 4, 6, 3]), 101: (IR.Bottleneck, [3, 4, 23, 3])}[depth]
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = width, 1, 1, 64
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        init_resnet(self, nn.Conv2d, nn.BatchNorm2d)


class TemporalShift(nn.Module):
    """TSM's shift on frames [N·K, C, H, W] of clips of K segments: channels [0, C/d) take the
    next segment's values, [C/d, 2C/d) the previous one's, zeros past either end; the rest stay."""

    def __init__(self, segments, fold_div=8):
        super().__init__()
        self.segments, self.fold_div = segments, fold_div

    def forward(self, x):
        return temporal_shift(x, self.segments, self.fold_div)


class TSN(nn.Module):
    """A torchvision image ResNet on each of K segments: [N, C, K, H, W] → [N, classes]. The
    pooled features are averaged over the segments (the consensus), then dropout and fc — the
    same logits as averaging per-segment scores, with one fc instead of K."""

    def __init__(self, depth, segments, width, in_channels, classes, dropout, shift):
        super().__init__()
        if width == 64 and in_channels == 3:
            self.backbone = getattr(tv.models, f"resnet{depth}")(weights=None, num_classes=classes)
        else:
            self.backbone = ScaledResNet(depth, width, in_channels, classes)
        self.segments = segments
        self.dropout = nn.Dropout(dropout)
        if shift:
            for layer in (self.backbone.layer1, self.backbone.layer2, self.backbone.layer3, self.backbone.layer4):
                for block in layer:
                    block.conv1 = nn.Sequential(TemporalShift(segments), block.conv1)

    def forward(self, x):
        n, c, k, h, w = x.shape
        b = self.backbone
        y = x.transpose(1, 2).reshape(n * k, c, h, w)
        y = b.maxpool(b.relu(b.bn1(b.conv1(y))))
        y = b.layer4(b.layer3(b.layer2(b.layer1(y))))
        y = torch.flatten(b.avgpool(y), 1).view(n, k, -1).mean(dim=1)
        return b.fc(self.dropout(y))


class TwoStreamTSN(nn.Module):
    """An RGB TSN and a flow TSN on [N, 3 + 2L, K, H, W] split by channels; logits rgb + 1.5·flow."""

    def __init__(self, rgb, flow, flow_weight=1.5):
        super().__init__()
        self.rgb, self.flow, self.flow_weight = rgb, flow, flow_weight

    def forward(self, x):
        return self.rgb(x[:, :3]) + self.flow_weight * self.flow(x[:, 3:])


# ---------------------------------------------------------------------------------------------
# pytorchvideo: Slow, C2D, I3D, SlowFast

SLOW_RESNETS = {
    # stem temporal kernel, conv_a temporal kernels per stage (a list cycles over the blocks), pool after stage 1
    "slow_r50": (1, [1, 1, 3, 3], False),
    "c2d_r50": (1, [1, 1, 1, 1], True),
    "i3d_r50": (5, [3, [3, 1], [3, 1], [1, 3]], True),
}


def slow_resnet(base, tiny, classes):
    from pytorchvideo.models.resnet import create_resnet
    stem_t, kernels, pool = SLOW_RESNETS[base]
    conv_a = tuple([(k, 1, 1) for k in ks] if isinstance(ks, list) else (ks, 1, 1) for ks in kernels)
    return create_resnet(
        model_depth=50, model_num_class=classes, dropout_rate=0.5, stem_dim_out=16 if tiny else 64,
        stem_conv_kernel_size=(stem_t, 7, 7), stage1_pool=nn.MaxPool3d if pool else None,
        stage_conv_a_kernel_size=conv_a, head_pool=nn.AdaptiveAvgPool3d, head_output_size=(1, 1, 1))


class SlowFastClip(nn.Module):
    """pytorchvideo's SlowFast fed from one clip [N, 3, T, H, W]: fast pathway the clip, slow
    pathway its frames linspace(0, T − 1, T/α), truncated to integers."""

    def __init__(self, net, alpha):
        super().__init__()
        self.net, self.alpha = net, alpha

    def forward(self, x):
        t = x.shape[2]
        index = torch.linspace(0, t - 1, max(1, t // self.alpha)).long()
        return self.net([x.index_select(2, index), x])


def slowfast(alpha, tiny, classes):
    from pytorchvideo.models.slowfast import create_slowfast
    width = 16 if tiny else 64
    fusion = 5 if alpha == 8 else 7  # PySlowFast: 5×1×1 for 4×16, 7×1×1 for 8×8
    net = create_slowfast(
        model_depth=50, model_num_class=classes, dropout_rate=0.5,
        slowfast_channel_reduction_ratio=(8,), slowfast_conv_channel_fusion_ratio=2,
        slowfast_fusion_conv_kernel_size=(fusion, 1, 1), slowfast_fusion_conv_stride=(alpha, 1, 1),
        stem_dim_outs=(width, width // 8),
        head_pool=nn.AdaptiveAvgPool3d, head_output_size=((1, 1, 1), (1, 1, 1)))
    return SlowFastClip(net, alpha)


# ---------------------------------------------------------------------------------------------
# Hugging Face TimeSformer

class TimeSformerClip(nn.Module):
    """transformers' TimesformerForVideoClassification on [N, 3, T, H, W] (it takes [N, T, 3, H, W]); returns the logits."""

    def __init__(self, frames, size, classes, patch=16, dim=768, depth=12, heads=12, mlp=3072):
        super().__init__()
        from transformers import TimesformerConfig, TimesformerForVideoClassification
        config = TimesformerConfig(
            image_size=size, patch_size=patch, num_channels=3, num_frames=frames, hidden_size=dim,
            num_hidden_layers=depth, num_attention_heads=heads, intermediate_size=mlp, hidden_act="gelu",
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-6, qkv_bias=True,
            attention_type="divided_space_time", num_labels=classes)  # no drop path (the default)
        self.net = TimesformerForVideoClassification(config)

    def forward(self, x):
        return self.net(pixel_values=x.transpose(1, 2)).logits


# ---------------------------------------------------------------------------------------------
# C3D

class C3D(nn.Module):
    """C3D (Tran et al. 2015): eight 3×3×3 convs with ReLU; max pools 1×2×2, then 2×2×2 four
    times, the last padded (0, 1, 1); fc6, fc7 (ReLU, dropout), fc8. `width` scales the channels
    64…512; `batch_norm` puts a BatchNorm3d after each conv (then without bias)."""

    def __init__(self, classes, width=1.0, hidden=4096, frames=16, size=112, batch_norm=False, dropout=0.5):
        super().__init__()
        channels = [max(1, round(c * width)) for c in (64, 128, 256, 256, 512, 512, 512, 512)]
        pools = {0: nn.MaxPool3d((1, 2, 2), (1, 2, 2)), 1: nn.MaxPool3d(2, 2), 3: nn.MaxPool3d(2, 2),
                 5: nn.MaxPool3d(2, 2), 7: nn.MaxPool3d(2, 2, padding=(0, 1, 1))}
        layers, cin = [], 3
        for i, cout in enumerate(channels):
            layers.append(nn.Conv3d(cin, cout, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm3d(cout))
            layers.append(nn.ReLU(inplace=True))
            if i in pools:
                layers.append(pools[i])
            cin = cout
        self.features = nn.Sequential(*layers)
        t, s = max(1, frames // 16), (size // 16 + 2) // 2
        self.fc6 = nn.Linear(channels[-1] * t * s * s, hidden)
        self.fc7 = nn.Linear(hidden, hidden)
        self.fc8 = nn.Linear(hidden, classes)
        self.dropout = nn.Dropout(dropout)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for fc, std in ((self.fc6, 0.005), (self.fc7, 0.005), (self.fc8, 0.01)):
            nn.init.normal_(fc.weight, 0, std)
            nn.init.zeros_(fc.bias)

    def forward(self, x):
        y = torch.flatten(self.features(x), 1)
        y = self.dropout(F.relu(self.fc6(y)))
        y = self.dropout(F.relu(self.fc7(y)))
        return self.fc8(y)


# ---------------------------------------------------------------------------------------------
# The presets: input [C, T, H, W] of one view, default classes, builder

PRESETS = {}


def preset(name, input_shape, classes, build):
    PRESETS[name] = (list(input_shape), classes, build)


for _tiny in (False, True):
    _s = "_tiny" if _tiny else ""
    for _base in VIDEO_RESNETS:
        preset(_base + _s, (3, 8, 64, 64) if _tiny else (3, 16, 112, 112), 10 if _tiny else 400,
               lambda c, b=_base, t=_tiny: video_resnet(b, t, c))
    # TSN / TSM: 8 RGB segments (4 tiny), 3 flow segments of 5 flow frames (4 tiny).
    _w, _size = (16, 64) if _tiny else (64, 224)
    for _name, _depth, _shift in (("tsn_r18", 18, False), ("tsn_r50", 50, False), ("tsm_r50", 50, True)):
        _k = 4 if _tiny else 8
        preset(_name + _s, (3, _k, _size, _size), 10 if _tiny else 400,
               lambda c, d=_depth, k=_k, w=_w, sh=_shift: TSN(d, k, w, 3, c, 0.5 if sh or d == 50 else 0.4, sh))
    for _name, _depth in (("tsn_r18_flow", 18), ("tsn_r50_flow", 50)):
        _k = 4 if _tiny else 3
        preset(_name + _s, (10, _k, _size, _size), 10 if _tiny else 400,
               lambda c, d=_depth, k=_k, w=_w: TSN(d, k, w, 10, c, 0.5 if d == 50 else 0.4, False))
    for _base in SLOW_RESNETS:
        preset(_base + _s, (3, 8, 64, 64) if _tiny else (3, 8, 224, 224), 10 if _tiny else 400,
               lambda c, b=_base, t=_tiny: slow_resnet(b, t, c))
    for _name, _alpha in (("slowfast_r50", 4), ("slowfast_r50_4x16", 8)):
        preset(_name + _s, (3, 16, 64, 64) if _tiny else (3, 32, 224, 224), 10 if _tiny else 400,
               lambda c, a=_alpha, t=_tiny: slowfast(a, t, c))

preset("two_stream_tsn_r50", (13, 3, 224, 224), 400,
       lambda c: TwoStreamTSN(TSN(50, 3, 64, 3, c, 0.4, False), TSN(50, 3, 64, 10, c, 0.4, False)))
preset("two_stream_tsn_tiny", (13, 4, 64, 64), 10,
       lambda c: TwoStreamTSN(TSN(18, 4, 16, 3, c, 0.4, False), TSN(18, 4, 16, 10, c, 0.4, False)))
preset("c3d", (3, 16, 112, 112), 487, lambda c: C3D(c))
preset("c3d_tiny", (3, 16, 64, 64), 10,
       lambda c: C3D(c, width=0.25, hidden=256, frames=16, size=64, batch_norm=True))
preset("timesformer_base", (3, 8, 224, 224), 400, lambda c: TimeSformerClip(8, 224, c))
preset("timesformer_hr", (3, 16, 448, 448), 400, lambda c: TimeSformerClip(16, 448, c))
preset("timesformer_tiny", (3, 8, 64, 64), 10,
       lambda c: TimeSformerClip(8, 64, c, patch=8, dim=96, depth=4, heads=3, mlp=384))


# ---------------------------------------------------------------------------------------------
# Measurement

def percentile(values, q):
    """Nearest rank: the value at rank ceil(q·n) of the sorted values (Motive's Bench.percentile)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = math.ceil(q * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def timed(body):
    start = time.perf_counter()
    body()
    return time.perf_counter() - start


def forward_times(model, x, repeats):
    """One warm-up then `repeats` timed inference-mode forwards; the timed seconds."""
    times = []
    with torch.inference_mode():
        for run in range(repeats + 1):
            seconds = timed(lambda: model(x))
            if run > 0:
                times.append(seconds)
    return times


def train_step_seconds(model, shape, classes, repeats):
    """The median of `repeats` SGD steps (lr 0.01, momentum 0.9, cross-entropy) at batch 2 in
    train mode, after one warm-up step. Leaves the model in eval mode."""
    x = torch.randn([2] + shape)
    targets = torch.randint(0, classes, (2,))
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = F.cross_entropy(model(x), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    times = []
    for run in range(repeats + 1):
        seconds = timed(step)
        if run > 0:
            times.append(seconds)
    model.eval()
    return percentile(times, 0.5)


def fvcore_flops(model, x):
    """fvcore's count of one forward on x (one multiply-add = one FLOP)."""
    from fvcore.nn import FlopCountAnalysis
    import logging
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        return int(analysis.total())


def status_bytes(field):
    """A 'Name:  1234 kB' line of /proc/self/status, in bytes; None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def release_free_memory():
    """Hands the heap's free pages back to the kernel (glibc's malloc_trim), so that memory freed
    by an earlier model does not hide this one's growth; a no-op without glibc."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_growth(fn):
    """Runs fn() and returns (its result, how far resident memory rose above where it stood when
    fn began, in bytes), as Motive's ProcessMemory.peakGrowth: freed heap pages go back to the
    kernel first and VmHWM is reset. The bytes are None where /proc/self/clear_refs cannot be
    written or /proc/self/status is missing."""
    release_free_memory()
    resettable = reset_peak()
    baseline = status_bytes("VmRSS")
    result = fn()
    peak = status_bytes("VmHWM")
    if not resettable or peak is None or baseline is None:
        return result, None
    return result, max(0, peak - baseline)


def motive_row(motive, name):
    """Motive's `models --json` line for preset `name`, or None."""
    if not motive or not os.path.exists(motive):
        return None
    try:
        out = subprocess.run([motive, "models", "--json", "--filter", name], capture_output=True, text=True,
                             timeout=600, check=True).stdout
    except (OSError, subprocess.SubprocessError) as error:
        log(f"  (motive models failed: {error})")
        return None
    for line in out.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("name") == name:
            return row
    return None


def motive_shape(row):
    spec = row["input"]
    channels = {"rgb": 3, "flow": 2 * spec["clipLength"], "two_stream": 3 + 2 * spec["clipLength"]}
    return [1, channels.get(spec.get("modality", "rgb"), 3), spec["frames"], spec["size"], spec["size"]]


def verify(name, shape, params, flops, motive):
    """Prints this build's parameters and FLOPs next to Motive's on stderr."""
    row = motive_row(motive, name)
    line = f"  {name}: params {params:,}"
    if row:
        mp = row["parameters"]
        line += f" (motive {mp:,}, {'equal' if mp == params else f'differ by {params - mp:+,}'})"
    if flops is not None:
        line += f"; GFLOPs fvcore {flops / 1e9:.6f}"
        if row:
            mg = row["gflops"]
            line += f" (motive {mg:.6f}, {100 * (flops / 1e9 - mg) / mg:+.4f}%)"
    log(line)
    if row and motive_shape(row) != shape:
        log(f"  warning: {name}: input here {shape}, Motive's {motive_shape(row)}")


def sig(x, digits=4):
    return None if x is None else float(f"{x:.{digits}g}")


def parse_views(text):
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"views are CLIPSxCROPS, e.g. 10x3; got {text!r}")
    return int(parts[0]), int(parts[1])


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def main():
    parser = argparse.ArgumentParser(description="Build Motive's zoo presets in PyTorch and time them (JSON lines).",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="Motive preset names")
    parser.add_argument("--list", action="store_true", help="print the presets this script builds and exit")
    parser.add_argument("--threads", type=positive, default=os.cpu_count(), help="intra-op threads (default: all cores)")
    parser.add_argument("--infer-repeats", type=positive, default=3, help="timed batch-1 forwards (default mode)")
    parser.add_argument("--train-repeats", type=positive, default=2, help="timed SGD steps at batch 2")
    parser.add_argument("--bench-fields", action="store_true", help="print `motive bench`'s fields")
    parser.add_argument("--repeats", type=positive, default=10, help="timed batch-1 forwards (--bench-fields)")
    parser.add_argument("--batch", type=positive, default=8, help="throughput batch (--bench-fields)")
    parser.add_argument("--views", type=parse_views, default=(1, 1), help="test views CLIPSxCROPS (--bench-fields)")
    parser.add_argument("--train-step", action="store_true", help="also time an SGD step (--bench-fields)")
    parser.add_argument("--motive", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build",
                                                         "release", "motive"),
                        help="Motive's binary, for the parity check on stderr (default .build/release/motive)")
    parser.add_argument("--no-verify", action="store_true", help="skip fvcore and the parity check (default mode)")
    args = parser.parse_args()

    if args.list:
        print("\n".join(PRESETS))
        return 0
    unknown = [n for n in args.names if n not in PRESETS]
    if unknown or not args.names:
        if unknown:
            log(f"unknown preset{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        else:
            log("no preset named")
        log("known presets: " + ", ".join(PRESETS))
        return 2

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError as error:
        log(f"note: inter-op threads left as they are ({error})")
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if not os.path.exists(args.motive):
        log(f"note: no Motive binary at {args.motive}: parameters and GFLOPs are printed without Motive's")

    for name in args.names:
        input_shape, classes, build = PRESETS[name]
        shape = [1] + input_shape
        torch.manual_seed(0)
        started = time.perf_counter()
        model = build(classes).eval()
        params = sum(p.numel() for p in model.parameters())
        x = torch.randn(shape)
        log(f"{name}: built in {time.perf_counter() - started:.1f}s, input {shape}, {classes} classes")

        flops = None
        if args.bench_fields or not args.no_verify:
            flops = fvcore_flops(model, x)
        if not args.no_verify or args.bench_fields:
            verify(name, shape, params, flops, args.motive)

        if not args.bench_fields:
            infer_runs, infer_peak = peak_growth(lambda: forward_times(model, x, args.infer_repeats))
            train = train_step_seconds(model, input_shape, classes, args.train_repeats)
            row = {"model": name, "input": shape, "infer_s_per_clip": sig(percentile(infer_runs, 0.5)),
                   "infer_peak_mb": None if infer_peak is None else sig(infer_peak / 1048576),
                   "train_s_per_step_b2": sig(train)}
        else:
            gflops = flops / 1e9
            clips, crops = args.views
            # Memory: the high-water mark of this model's running, over both runs.
            def runs():
                latencies = forward_times(model, x, args.repeats)
                return latencies, forward_times(model, torch.randn([args.batch] + input_shape), 3)
            (latencies, batch_times), growth = peak_growth(runs)
            clips_per_s = args.batch / percentile(batch_times, 0.5)
            rss = None if growth is None else growth / 1048576
            row = {
                "model": name, "preset": name, "input": shape,
                "params_m": sig(params / 1e6, 6), "gflops_per_view": sig(gflops, 6), "views": f"{clips}x{crops}",
                "gflops_per_video": sig(gflops * clips * crops, 6),
                "latency_ms_p50": sig(1000 * percentile(latencies, 0.5)),
                "latency_ms_p90": sig(1000 * percentile(latencies, 0.9)),
                "clips_per_s": sig(clips_per_s), "achieved_gflops_per_s": sig(gflops * clips_per_s),
                "peak_rss_mb": sig(rss),
            }
            if args.train_step:
                row["train_s_per_step_b2"] = sig(train_step_seconds(model, input_shape, classes, args.train_repeats))
        print(json.dumps(row), flush=True)
        del model
    return 0


if __name__ == "__main__":
    sys.exit(main())

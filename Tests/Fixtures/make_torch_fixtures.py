"""Writes the torch.save fixtures of TensorIOTests/TorchCheckpointTests.swift, and their expected values.

Every checkpoint comes from PyTorch's own writer, so the Swift reader is checked against real files.
Values that a test compares live in Fixtures/torch/expected.json: for each file, its tensors in
state-dict order with the dtype name (safetensors spelling), the shape, and the elements in
row-major order after conversion to float32 (inf and nan as strings). The few non-tensor values
(epochs, optimizer settings) are repeated by hand in the Swift tests.

Regenerate (from the package root; tested with torch 2.13.0, Python 3.11):

    /tmp/tvenv/bin/python Tests/Fixtures/make_torch_fixtures.py

Nothing here is ever unpickled or executed: `forbidden_global.pth` holds a reference to
`os.system`, written by pickling an object whose `__reduce__` names it, and no file is loaded back.
CI never runs this script; the files are committed (about 40 KB in all).
"""

import io
import json
import math
import os
import zipfile
from collections import OrderedDict

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "TensorIOTests", "Fixtures", "torch")
DTYPE_NAMES = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}


def describe(tensor):
    """The expected-values record of one tensor: what the Swift reader must produce."""
    values = []
    for v in tensor.detach().to(torch.float32).reshape(-1).tolist():
        values.append("nan" if math.isnan(v) else "inf" if v == math.inf else "-inf" if v == -math.inf else v)
    return {"dtype": DTYPE_NAMES[tensor.dtype], "shape": list(tensor.shape), "values": values}


def state_dict_record(tensors):
    return {"keys": list(tensors), "tensors": {k: describe(t) for k, t in tensors.items()}}


def save(obj, name):
    path = os.path.join(OUT, name)
    torch.save(obj, path)
    return path


class Tiny(nn.Module):
    """Conv, batch norm and linear: every kind of entry a video model's state dict holds."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):                                 # x: N, 2, H, W
        x = self.bn(self.conv(x)).mean(dim=(2, 3))        # N, 3
        return self.fc(x)                                 # N, 2


def tiny_model():
    torch.manual_seed(0)
    model = Tiny().train()
    for _ in range(7):                                    # running stats move; num_batches_tracked = 7
        model(torch.randn(4, 2, 5, 5))
    return model.eval()


class Evil:
    """Pickles as a call to os.system; pickling writes the reference and runs nothing."""

    def __reduce__(self):
        return os.system, ("echo motive-fixture-must-not-run",)


def rewrite_zip(source, target, drop=(), replace=None):
    """Copies a torch zip entry by entry, dropping or replacing some (matched by suffix)."""
    replace = replace or {}
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if any(info.filename.endswith(s) for s in drop):
                continue
            data = zin.read(info.filename)
            for suffix, new in replace.items():
                if info.filename.endswith(suffix):
                    data = new(data) if callable(new) else new
            zout.writestr(info.filename, data)


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    # (1) A model's state dict, as model.state_dict() gives it (an OrderedDict with _metadata).
    sd = tiny_model().state_dict()
    save(sd, "tiny_model.pth")
    expected["tiny_model.pth"] = state_dict_record(sd)

    # (2) Every storage type Motive reads, with values at the edges of each type.
    dtypes = OrderedDict([
        ("f32", torch.tensor([[1.5, -2.25], [3.0e-39, 1.0e30]], dtype=torch.float32)),   # a subnormal
        ("f64", torch.tensor([0.1, -1.5, 1.0e300], dtype=torch.float64)),                # 1e300 → inf
        ("f16", torch.tensor([[1, -2, 0.5], [65504, 2 ** -24, -math.inf]], dtype=torch.float16)),
        ("bf16", torch.tensor([1.0, -2.0, 3.140625, 1.0e38, math.nan], dtype=torch.bfloat16)),
        ("i64", torch.tensor([-3, 0, 42, 2 ** 40], dtype=torch.int64)),
        ("i32", torch.tensor([-100000, 7], dtype=torch.int32)),
        ("i16", torch.tensor([-32768, 32767], dtype=torch.int16)),
        ("i8", torch.tensor([-128, 127], dtype=torch.int8)),
        ("u8", torch.tensor([0, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([[True, False], [False, True]])),
        ("scalar", torch.tensor(2.5)),                                                  # shape []
        ("empty", torch.zeros(0, 3)),
    ])
    save(dtypes, "dtypes.pth")
    expected["dtypes.pth"] = state_dict_record(dtypes)

    # (3) Views saved as they are: torch writes the whole storage with an offset and strides.
    base = torch.arange(20, dtype=torch.float32).reshape(4, 5) * 0.5 - 3     # 4, 5
    views = OrderedDict([
        ("base", base),
        ("transposed", base.t()),                         # 5, 4; strides (1, 5)
        ("slice", base[1:3, 1:4]),                        # 2, 3; offset 6, strides (5, 1)
        ("row", base[3]),                                 # 5; offset 15
        ("column", base[:, 2]),                           # 4; offset 2, stride 5
        ("expanded", torch.tensor([1.0, -1.0, 2.0]).expand(2, 3)),            # strides (0, 1)
        ("channels_last", torch.arange(24, dtype=torch.float32).reshape(1, 2, 3, 4)
            .contiguous(memory_format=torch.channels_last)),                  # strides (24, 1, 8, 2)
        ("half_slice", torch.arange(12, dtype=torch.float16).reshape(3, 4)[1:, ::2]),   # 2, 2
        ("param", nn.Parameter(torch.tensor([0.25, 0.75]))),                  # _rebuild_parameter
    ])
    assert views["slice"].storage_offset() == 6 and views["column"].stride() == (5,)
    save(views, "views.pth")
    expected["views.pth"] = state_dict_record(views)

    # (4) Training checkpoints: MMAction2-style with DataParallel prefixes, and PySlowFast-style.
    torch.manual_seed(1)
    wrapped = nn.DataParallel(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
    optimizer = torch.optim.SGD(wrapped.parameters(), lr=0.1, momentum=0.9)
    wrapped(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    wrapped_sd = wrapped.state_dict()
    assert all(k.startswith("module.") for k in wrapped_sd)
    save({
        "meta": {"note": "motive fixture", "pair": (1, 2.5, None), "big": 2 ** 70, "negative": -5,
                 "flags": [True, False], "raw": b"\x00\xffab", "empty": ()},
        "state_dict": wrapped_sd,
        "epoch": 3,
        "optimizer": optimizer.state_dict(),
    }, "nested.pth")
    expected["nested.pth"] = state_dict_record(OrderedDict((k[len("module."):], v) for k, v in wrapped_sd.items()))

    slowfast_sd = OrderedDict([("head.proj.weight", torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
                               ("head.proj.bias", torch.tensor([-1.0, 1.0]))])
    save({"epoch": 10, "model_state": slowfast_sd, "optimizer_state": None, "cfg": "TRAIN:\n  ENABLE: True\n"},
         "model_state.pth")
    expected["model_state.pth"] = state_dict_record(slowfast_sd)

    # (5) A reference to os.system among real tensors. Pickling it runs nothing.
    save(OrderedDict([("weight", torch.ones(2)), ("payload", Evil())]), "forbidden_global.pth")

    # (6) Broken files: a cut-off zip, a whole zip whose pickle is cut off, a missing storage, a
    # storage shorter than its tensor, a big-endian byte-order record, and the pre-1.6 format.
    with open(os.path.join(OUT, "tiny_model.pth"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated.pth"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    source = os.path.join(OUT, "model_state.pth")
    rewrite_zip(source, os.path.join(OUT, "truncated_pickle.pth"), replace={"data.pkl": lambda d: d[: len(d) // 2]})
    rewrite_zip(source, os.path.join(OUT, "missing_storage.pth"), drop=("data/1",))
    rewrite_zip(source, os.path.join(OUT, "short_storage.pth"), replace={"data/0": lambda d: d[:-4]})
    rewrite_zip(source, os.path.join(OUT, "big_endian.pth"), replace={"byteorder": b"big"})
    legacy = io.BytesIO()
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "legacy.pth"), "wb") as f:
        f.write(legacy.getvalue())

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files to {os.path.normpath(OUT)} ({total} bytes)")


if __name__ == "__main__":
    main()

"""What Motive's PyTorch scripts share: torchvision's import, and TSM's temporal shift.

torchvision is importable even when its compiled ops cannot load. A torchvision wheel built for another torch variant (PyPI's Linux torchvision is a CUDA build;
beside a CPU-only torch) fails at import while registering fake kernels for its detection ops.
The classification and video models Motive's scripts use need none of those ops, so on that
failure the two registration modules are replaced by empty ones and the import is retried.
Used by the fixture scripts here and by bench/torch_zoo.py.
"""

import importlib
import sys
import types


def import_torchvision():
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in list(sys.modules):
            if name == "torchvision" or name.startswith("torchvision."):
                del sys.modules[name]
        for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
            sys.modules[name] = types.ModuleType(name)
        print("note: torchvision's compiled ops do not load with this torch; importing it without them", file=sys.stderr)
        return importlib.import_module("torchvision")


def temporal_shift(x, segments, fold_div=8):
    """TSM's shift on [N·K, C, H, W]: the first C/fold_div channels come from segment t+1, the next
    C/fold_div from t−1, the rest stay (zeros where a neighbour is missing)."""
    import torch
    nk, c, h, w = x.shape
    x = x.reshape(nk // segments, segments, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.reshape(nk, c, h, w)

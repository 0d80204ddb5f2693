"""torchvision, importable even when its compiled ops cannot load.

A torchvision wheel built for another torch variant (PyPI's Linux torchvision is a CUDA build;
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

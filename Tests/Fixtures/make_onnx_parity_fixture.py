#!/usr/bin/env python3
"""ONNX export parity: onnxruntime's logits on Motive's exported graphs.

For every preset below this script runs `motive export PRESET --format onnx`, overwrites each
initializer that is a state-dict key (every one not named `const_…`) with the zoo parity fill
(Tests/Fixtures/make_zoo_parity_fixture.py: fill_value), runs the graph in onnxruntime on the
parity input x[i] = sin(0.05·i) and writes Tests/ZooTests/Fixtures/onnx_parity.json:

    {"onnxruntime": version, "onnx": version, "openvino": {...},
     "cases": [{"preset", "views" (null or "CxK"), "inputs": {name: shape}, "output", "values"}]}

ZooTests' ONNXExportTests fills Motive's own model the same way, runs it on the same input and
checks Motive's logits against these within 1e-4 of the largest |logit|. The script also loads
one export in OpenVINO and records how far its logits are from onnxruntime's.

Run it by hand (CI never does; the JSON is committed), after a release build:

    python3 Tests/Fixtures/make_onnx_parity_fixture.py [--motive .build/release/motive] [preset ...]

Needs numpy, onnx, onnxruntime and openvino (pip install onnx onnxruntime openvino), and torch
for the zoo fixture script it shares the key hash with.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_zoo_parity_fixture import fnv1a  # noqa: E402  (the zoo fixtures' key hash; imports torch)
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Tests", "ZooTests", "Fixtures", "onnx_parity.json")

# (preset, views, batch): every tiny preset at batch 2 (the dynamic batch), one full-size preset
# per family at batch 1, and one multi-view export.
CASES = [(name, None, 2) for name in [
    "r3d_18_tiny", "mc3_18_tiny", "r2plus1d_18_tiny", "r2plus1d_34_tiny", "tsn_r18_tiny", "tsn_r50_tiny", "tsm_r50_tiny",
    "tsn_r18_flow_tiny", "two_stream_tsn_tiny", "c3d_tiny", "slow_r50_tiny", "c2d_r50_tiny", "i3d_r50_tiny",
    "slowfast_r50_tiny", "slowfast_r50_4x16_tiny", "timesformer_tiny",
]] + [(name, None, 1) for name in [
    "r2plus1d_18", "tsm_r50", "two_stream_tsn_r50", "c3d", "i3d_r50", "slowfast_r50", "timesformer_base",
]] + [("r2plus1d_18_tiny", "2x1", 2), ("tsn_r18_tiny", "1x3", 2)]


def fill_value(key, shape):
    """The zoo parity fill (see make_zoo_parity_fixture.py), vectorised."""
    numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if key.endswith("num_batches_tracked"):
        return np.zeros(shape, dtype=np.float32)
    phase = (fnv1a(key) % 10007) / 10007.0 * (2.0 * math.pi)
    base = np.sin(0.61 * np.arange(numel, dtype=np.float64) + phase)
    if key.endswith("running_var"):
        values = 1.0 + 0.25 * (base + 1.0)
    elif key.endswith("running_mean"):
        values = 0.1 * base
    elif len(shape) == 1 and key.endswith(".weight"):
        values = 1.0 + 0.1 * base
    elif len(shape) <= 1:
        values = 0.1 * base
    else:
        values = base * math.sqrt(3.0 / (numel // shape[0]))
    return values.astype(np.float32).reshape(shape)


def sin_input(shape):
    n = int(np.prod(shape))
    return np.sin(0.05 * np.arange(n, dtype=np.float64)).astype(np.float32).reshape(shape)


def export(motive, preset, views, path):
    cmd = [motive, "export", preset, "--format", "onnx", "--out", path] + (["--views", views] if views else [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def filled_model(path):
    model = onnx.load(path)
    for i, init in enumerate(model.graph.initializer):
        if init.name.startswith("const_"):
            continue
        values = fill_value(init.name, list(init.dims))
        model.graph.initializer[i].CopyFrom(numpy_helper.from_array(values, init.name))
    filled = path.replace(".onnx", ".filled.onnx")
    onnx.save(model, filled)
    return filled


def feeds(session, batch):
    out = {}
    for i in session.get_inputs():
        out[i.name] = sin_input([batch] + list(i.shape[1:]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--motive", default=os.path.join(ROOT, ".build", "release", "motive"))
    parser.add_argument("presets", nargs="*")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.presets or c[0] in args.presets]
    result = {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "cases": []}
    if os.path.exists(OUT) and args.presets:
        old = json.load(open(OUT))
        keep = [c for c in old["cases"] if (c["preset"], c["views"]) not in {(p, v) for p, v, _ in cases}]
        result["cases"] = keep
        result["openvino"] = old.get("openvino")
    with tempfile.TemporaryDirectory() as tmp:
        for preset, views, batch in cases:
            path = os.path.join(tmp, f"{preset}.onnx")
            export(args.motive, preset, views, path)
            filled = filled_model(path)
            onnx.checker.check_model(filled, full_check=True)
            session = ort.InferenceSession(filled, providers=["CPUExecutionProvider"])
            inputs = feeds(session, batch)
            (values,) = session.run(None, inputs)
            result["cases"].append({"preset": preset, "views": views, "inputs": {k: list(v.shape) for k, v in inputs.items()},
                                    "output": session.get_outputs()[0].name, "values": values.ravel().tolist()})
            print(f"{preset}{' views ' + views if views else ''}: {values.shape}, max |v| {np.abs(values).max():.4g}", flush=True)
            if preset == "tsm_r50" and not views:
                result["openvino"] = openvino_check(filled, inputs, values)
                print("openvino:", result["openvino"], flush=True)
    result["cases"].sort(key=lambda c: (c["preset"], c["views"] or ""))
    with open(OUT, "w") as f:
        json.dump(result, f, indent=0)
        f.write("\n")
    print("wrote", OUT)


def openvino_check(path, inputs, reference):
    """Loads the export in OpenVINO on the CPU and compares its logits with onnxruntime's: at f32,
    and at OpenVINO's default precision (bf16 on CPUs that have it)."""
    import time
    import openvino as ov
    core = ov.Core()
    model = core.read_model(path)
    result = {"version": ov.__version__, "preset": "tsm_r50"}
    for label, config in [("f32", {"INFERENCE_PRECISION_HINT": "f32"}), ("default", {})]:
        compiled = core.compile_model(model, "CPU", config)
        request = compiled.create_infer_request()
        request.infer(inputs)
        start = time.perf_counter()
        out = request.infer(inputs)[compiled.output(0)]
        seconds = time.perf_counter() - start
        result[label] = {"precision": str(compiled.get_property("INFERENCE_PRECISION_HINT")),
                         "max_rel_vs_onnxruntime": float(np.abs(out - reference).max() / np.abs(reference).max()),
                         "seconds": round(seconds, 3)}
    return result


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Inference of the zoo's presets in ONNX Runtime and OpenVINO, the CPU runtimes users deploy to.

Each preset is built in PyTorch by bench/torch_zoo.py (the same architectures Motive's zoo
builds), exported with torch.onnx.export at batch 1, then timed in ONNX Runtime (all graph
optimisations) and OpenVINO (CPU plugin, latency hint) with the given threads: one warm-up, then
the median of --repeats forwards. OpenVINO runs in float32 (on CPUs with bfloat16 it would
otherwise pick bfloat16); `--openvino-bf16` adds its bfloat16 timing. Prints one JSON line per preset:
    {"model", "input", "onnxruntime_infer_s", "openvino_infer_s", "onnxruntime_max_abs_diff", "openvino_max_abs_diff"}
where the differences are the largest logit differences against PyTorch.

With `--exporter motive` the graph is Motive's own export (`motive export NAME --format onnx`,
untrained seeded weights) instead of torch.onnx.export's, and the differences are OpenVINO's
against ONNX Runtime: the two exporters' graphs can then be timed side by side.

Not a test: needs torch, torchvision, pytorchvideo, transformers, onnx, onnxruntime and openvino.
    python3 bench/onnx_zoo.py r3d_18 c3d --threads 2
    python3 bench/onnx_zoo.py r3d_18 --exporter motive [--motive .build/release/motive]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_zoo  # noqa: E402  (builds the presets; imports torch)

import numpy as np  # noqa: E402
import torch  # noqa: E402


def median_seconds(run, repeats):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", metavar="NAME")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--openvino-bf16", action="store_true", help="also time OpenVINO at its bfloat16 default")
    parser.add_argument("--exporter", choices=["torch", "motive"], default="torch")
    parser.add_argument("--motive", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "motive"))
    args = parser.parse_args()

    import onnxruntime as ort
    import openvino as ov

    torch.set_num_threads(args.threads)
    core = ov.Core()
    for name in args.names:
        if name not in torch_zoo.PRESETS:
            sys.exit(f"unknown preset {name}")
        shape, classes, build = torch_zoo.PRESETS[name]
        torch.manual_seed(0)
        x = torch.randn([1] + shape)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, name + ".onnx")
            if args.exporter == "torch":
                model = build(classes).eval()
                with torch.inference_mode():
                    reference = model(x).numpy()
                torch.onnx.export(model, (x,), path, opset_version=args.opset, input_names=["clip"], output_names=["logits"],
                                  dynamo=False)
            else:
                subprocess.run([args.motive, "export", name, "--format", "onnx", "--opset", str(args.opset), "--out", path],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                reference = None
            options = ort.SessionOptions()
            options.intra_op_num_threads = args.threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            feed = {session.get_inputs()[0].name: x.numpy()}
            ort_out = session.run(None, feed)[0]
            if reference is None:
                reference = ort_out
            ort_s = median_seconds(lambda: session.run(None, feed), args.repeats)
            row = {"model": name, "exporter": args.exporter, "input": [1] + shape, "onnxruntime_infer_s": round(ort_s, 4)}
            for precision in ["f32"] + (["bf16"] if args.openvino_bf16 else []):
                compiled = core.compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": args.threads,
                                                             "PERFORMANCE_HINT": "LATENCY",
                                                             "INFERENCE_PRECISION_HINT": precision})
                request = compiled.create_infer_request()
                ov_out = request.infer({0: x.numpy()})[compiled.output(0)]
                key = "openvino" if precision == "f32" else "openvino_bf16"
                row[key + "_infer_s"] = round(median_seconds(lambda: request.infer({0: x.numpy()}), args.repeats), 4)
                row[key + "_max_abs_diff"] = float(np.abs(ov_out - reference).max())
            row["onnxruntime_max_abs_diff"] = float(np.abs(ort_out - reference).max())
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

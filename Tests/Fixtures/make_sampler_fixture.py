#!/usr/bin/env python3
"""Expected frame indices for Clips' FrameSampler, produced by MMAction2's own `SampleFrames`.

The class source is taken from the mmaction2 wheel (default 1.2.0, fetched with
`pip download --no-deps`, or pass --wheel PATH) and executed on its own: it needs only numpy,
so neither torch nor mmcv is installed. Its two random calls are replaced by functions that
consume unit uniforms u ∈ [0, 1) chosen here and stored in the fixture:

    np.random.randint(n, size=k)      -> floor(u * n)
    np.random.uniform(lo, hi, size=k) -> lo + (hi - lo) * u

The Swift sampler maps its Xoshiro draws through the same two formulas, so both train and test
mode are compared exactly. Uniforms are stored as integers k with u = k · 2⁻⁵³ so that JSON
round-trips them exactly.

    python3 Tests/Fixtures/make_sampler_fixture.py [--wheel mmaction2-1.2.0-py2.py3-none-any.whl]
writes Tests/ClipsTests/Fixtures/sample_frames.json.
"""
import argparse
import ast
import glob
import itertools
import json
import os
import subprocess
import sys
import tempfile
import typing
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "ClipsTests", "Fixtures", "sample_frames.json")
SOURCE = "mmaction/datasets/transforms/loading.py"


def load_sample_frames(wheel):
    with zipfile.ZipFile(wheel) as z:
        text = z.read(SOURCE).decode()
    tree = ast.parse(text)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SampleFrames")
    cls.decorator_list = []  # the TRANSFORMS registry belongs to mmengine
    module = ast.Module(body=[cls], type_ignores=[])
    namespace = {"np": np, "Optional": typing.Optional, "BaseTransform": object}
    exec(compile(module, SOURCE, "exec"), namespace)
    return namespace["SampleFrames"]


def fetch_wheel(version):
    tmp = tempfile.mkdtemp()
    subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                           f"mmaction2=={version}", "-d", tmp])
    return glob.glob(os.path.join(tmp, "mmaction2-*.whl"))[0]


class Draws:
    """Stands in for np.random: clip-offset draws first, then per-frame jitter draws."""

    def __init__(self, clip, frame):
        self.queues = {"clip": list(clip), "frame": list(frame)}
        self.used = {"clip": 0, "frame": 0}
        self.phase = "clip"

    def take(self, size):
        q = self.queues[self.phase]
        assert len(q) >= size, "fixture drew too few uniforms"
        out, self.queues[self.phase] = q[:size], q[size:]
        self.used[self.phase] += size
        return np.array(out, dtype=np.float64) * 2.0 ** -53

    def randint(self, high, size):
        assert high > 0
        return np.floor(self.take(size) * high).astype(np.int64)

    def uniform(self, low, high, size):
        return low + (high - low) * self.take(size)


def run(SampleFrames, case, clip_draws, frame_draws):
    s = SampleFrames(clip_len=case["clipLength"], frame_interval=case["frameInterval"],
                     num_clips=case["clipCount"], temporal_jitter=case["temporalJitter"],
                     twice_sample=case["twiceSample"], out_of_bound_opt=case["outOfBound"],
                     test_mode=case["testMode"], keep_tail_frames=case["keepTailFrames"])
    draws = Draws(clip_draws, frame_draws)
    sample_clips = s._sample_clips

    def wrapped(*args):
        draws.phase = "clip"
        out = sample_clips(*args)
        draws.phase = "frame"
        return out

    s._sample_clips = wrapped
    saved = np.random.randint, np.random.uniform
    np.random.randint, np.random.uniform = draws.randint, draws.uniform
    try:
        r = s.transform({"total_frames": case["frameCount"], "start_index": case["startIndex"]})
    finally:
        np.random.randint, np.random.uniform = saved
    # Only the uniforms the reference consumed are kept.
    used = clip_draws[:draws.used["clip"]], frame_draws[:draws.used["frame"]]
    return r["frame_inds"].reshape(-1, case["clipLength"]).tolist(), used


def cases():
    frame_counts = [1, 3, 4, 7, 10, 16, 31, 64, 301]
    # (clip_len, frame_interval, num_clips): TSN, flow stacks, dense 3D (SlowOnly, I3D, X3D), odd ones.
    shapes = [(1, 1, 3), (1, 1, 8), (1, 2, 5), (5, 1, 3), (8, 8, 1), (32, 2, 1), (16, 4, 4),
              (4, 2, 2), (2, 3, 4), (8, 2, 3), (3, 1, 1)]
    flags = itertools.cycle(itertools.product([False, True], repeat=4))  # jitter, twice, keep tail, start 1
    for n, (cl, fi, nc), test, oob in itertools.product(frame_counts, shapes, [False, True],
                                                         ["loop", "repeat_last"]):
        jitter, twice, keep_tail, start1 = next(flags)
        yield {"frameCount": n, "clipLength": cl, "frameInterval": fi, "clipCount": nc,
               "temporalJitter": jitter, "twiceSample": twice, "outOfBound": oob, "testMode": test,
               "keepTailFrames": keep_tail, "startIndex": 1 if start1 else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", help="mmaction2 wheel (downloaded when omitted)")
    ap.add_argument("--version", default="1.2.0")
    args = ap.parse_args()
    SampleFrames = load_sample_frames(args.wheel or fetch_wheel(args.version))
    rng = np.random.default_rng(20240611)
    out = []
    for case in cases():
        clips = case["clipCount"]
        frames = 2 * clips * case["clipLength"]  # twice_sample doubles the clips
        clip_draws = rng.integers(0, 2 ** 53, size=clips).tolist()
        frame_draws = rng.integers(0, 2 ** 53, size=frames).tolist()
        try:
            case["expected"], (clip_draws, frame_draws) = run(SampleFrames, case, clip_draws, frame_draws)
        except ZeroDivisionError:
            case["expected"] = None  # twice_sample with one dense test clip divides by zero
            clip_draws, frame_draws = [], []
        case["clipDraws"] = clip_draws
        case["frameDraws"] = frame_draws
        out.append(case)
    with open(OUT, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, separators=(",", ":")) for c in out) + "\n]\n")
    print(f"{len(out)} cases, {sum(c['expected'] is None for c in out)} rejected -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""OpenCV TV-L1 flows on real frame pairs, for the Flow module's parity test.

CI never runs this: the pairs and flows it writes are committed. Rerun it only to refresh them.

    python3 -m venv /tmp/cvvenv
    /tmp/cvvenv/bin/pip install opencv-contrib-python-headless numpy
    /tmp/cvvenv/bin/python Tests/Fixtures/make_flow_fixtures.py [--deb opencv-doc_*.deb]

The videos come from Debian's opencv-doc package. Without --deb the script runs
`apt-get download opencv-doc` into a temporary folder (run `apt-get update` first).

For each case it writes to Tests/FlowTests/Fixtures/
  <pair>_0.pgm, <pair>_1.pgm   two consecutive frames, gray (BGR2GRAY), resized with INTER_AREA
  <case>.flo                   cv2.optflow.DualTVL1OpticalFlow on them, Middlebury .flo
and fixtures.json, which lists each case with its pair and every TV-L1 parameter, set explicitly.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "FlowTests", "Fixtures")
DATA = "usr/share/doc/opencv-doc/examples/data"

# OpenCV's own defaults (DualTVL1OpticalFlow_create() with no arguments).
DEFAULTS = dict(tau=0.25, lambda_=0.15, theta=0.3, nscales=5, warps=5, epsilon=0.01,
                innerIterations=30, outerIterations=10, scaleStep=0.8, gamma=0.0,
                medianFiltering=5, useInitialFlow=False)

# (pair name, video, first frame, crop x, y, w, h or None, output width, height)
PAIRS = [
    ("vtest", "vtest.avi", 274, (200, 150, 320, 240), 160, 120),  # pedestrians, cropped so they move a few px
    ("tree", "tree.avi", 62, None, 160, 120),                     # a hand sweeping over a tree
    ("megamind", "Megamind.avi", 235, None, 160, 120),            # animated face turning
    ("tree_small", "tree.avi", 56, None, 80, 60),                 # small pair for the parameter variants
]

# (case name, pair name, parameter overrides)
CASES = [
    ("vtest", "vtest", {}),
    ("tree", "tree", {}),
    ("megamind", "megamind", {}),
    ("tree_small_step05", "tree_small", {"scaleStep": 0.5}),
    ("tree_small_gamma", "tree_small", {"gamma": 0.1}),
]


def extract_videos(deb, into):
    if deb is None:
        subprocess.run(["apt-get", "download", "opencv-doc"], cwd=into, check=True)
        debs = glob.glob(os.path.join(into, "opencv-doc_*.deb"))
        if not debs:
            sys.exit("apt-get download opencv-doc produced no .deb")
        deb = debs[0]
    root = os.path.join(into, "root")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    return os.path.join(root, DATA), os.path.basename(deb)


def read_pair(path, first, crop, width, height):
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        sys.exit(f"cannot open {path}")
    frames, index = [], 0
    while len(frames) < 2:
        ok, frame = cap.read()
        if not ok:
            sys.exit(f"{path}: no frame {index}")
        if index >= first:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            if crop is not None:
                x, y, w, h = crop
                gray = gray[y:y + h, x:x + w]
            frames.append(cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA))
        index += 1
    return frames


def write_pgm(path, image):
    h, w = image.shape
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(image, dtype=np.uint8).tobytes())


def write_flo(path, flow):
    h, w, _ = flow.shape
    with open(path, "wb") as f:
        f.write(np.array([202021.25], "<f4").tobytes())
        f.write(np.array([w, h], "<i4").tobytes())
        f.write(np.ascontiguousarray(flow, dtype="<f4").tobytes())


def tvl1(params):
    p = params
    # Positional: the binding spells one keyword "innnerIterations".
    t = cv2.optflow.DualTVL1OpticalFlow_create(
        p["tau"], p["lambda_"], p["theta"], p["nscales"], p["warps"], p["epsilon"], p["innerIterations"],
        p["outerIterations"], p["scaleStep"], p["gamma"], p["medianFiltering"], p["useInitialFlow"])
    got = (t.getTau(), t.getLambda(), t.getTheta(), t.getScalesNumber(), t.getWarpingsNumber(), t.getEpsilon(),
           t.getInnerIterations(), t.getOuterIterations(), t.getScaleStep(), t.getGamma(),
           t.getMedianFiltering(), t.getUseInitialFlow())
    assert list(got) == list(p.values()), (got, p)
    return t


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", help="opencv-doc .deb (default: apt-get download opencv-doc)")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    manifest = {"opencv": cv2.__version__, "pairs": [], "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        data, deb_name = extract_videos(args.deb and os.path.abspath(args.deb), tmp)
        manifest["source"] = deb_name
        images = {}
        for name, video, first, crop, width, height in PAIRS:
            images[name] = read_pair(os.path.join(data, video), first, crop, width, height)
            for k, image in enumerate(images[name]):
                write_pgm(os.path.join(OUT, f"{name}_{k}.pgm"), image)
            manifest["pairs"].append({"name": name, "video": video, "frames": [first, first + 1],
                                      "crop": crop, "width": width, "height": height})
    for case, pair, overrides in CASES:
        params = dict(DEFAULTS, **overrides)
        # A fresh object per case: calc() lowers nscales on the object itself for small images.
        flow = tvl1(params).calc(images[pair][0], images[pair][1], None)
        write_flo(os.path.join(OUT, f"{case}.flo"), flow)
        magnitude = np.hypot(flow[..., 0], flow[..., 1])
        manifest["cases"].append({"name": case, "pair": pair, "parameters": params,
                                  "meanMagnitude": round(float(magnitude.mean()), 4),
                                  "maxMagnitude": round(float(magnitude.max()), 4)})
        print(f"{case}: {flow.shape[1]}x{flow.shape[0]}, mean |flow| {magnitude.mean():.3f} px, "
              f"max {magnitude.max():.2f} px")
    with open(os.path.join(OUT, "fixtures.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"OpenCV {cv2.__version__} -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()

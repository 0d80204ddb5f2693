#!/usr/bin/env python3
"""Expected outputs of cv2.resize(INTER_LINEAR) on small uint8 RGB images, for Clips' bilinear resize.

mmcv.imresize (and so MMAction2's Resize) calls exactly this. OpenCV 4.14 and 5.0 give the same bytes.

    pip install opencv-python-headless
    python3 Tests/Fixtures/make_clips_resize_fixture.py
writes Tests/ClipsTests/Fixtures/resize_linear.json.
"""
import json
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "ClipsTests", "Fixtures", "resize_linear.json")


def main():
    rng = np.random.default_rng(7)
    sources = [(6, 8), (9, 13), (4, 4), (1, 5)]  # (height, width)
    targets = [(3, 4), (2, 2), (12, 16), (5, 7), (7, 3), (10, 21), (1, 1), (8, 8), (4, 9)]
    cases = []
    for h, w in sources:
        # Random bytes plus a few saturated pixels so rounding at 0 and 255 is exercised.
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        img[0, 0] = (255, 255, 255)
        img[-1, -1] = (0, 0, 0)
        for th, tw in targets:
            out = cv2.resize(img, (tw, th), interpolation=cv2.INTER_LINEAR)
            cases.append({"height": h, "width": w, "pixels": img.flatten().tolist(),
                          "outHeight": th, "outWidth": tw, "expected": out.flatten().tolist()})
    with open(OUT, "w") as f:
        json.dump({"opencv": cv2.__version__, "cases": cases}, f, separators=(",", ":"))
    print(f"{len(cases)} cases with OpenCV {cv2.__version__} -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()

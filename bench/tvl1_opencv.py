"""OpenCV's side of bench/tvl1.sh.

prepare DIR: takes consecutive frame pairs of vtest.avi (from Debian's opencv-doc package,
downloaded with `apt-get download` unless --video is given), resized to 340x256 and converted to
gray, and writes them as DIR/pair_NN_{0,1}.pgm with the TV-L1 parameters in DIR/parameters.json.

compare DIR: times cv2.optflow.DualTVL1OpticalFlow on the same pairs with the same parameters and
thread count (median of --repeats passes), and prints its pairs per second and the mean
end-point error between its flows and Motive's (DIR/motive_NN.flo).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np

SIZE = (340, 256)


def find_video(path, directory):
    """The given video; else vtest.avi of an installed opencv-doc; else one unpacked, once, into
    DIR/opencv-doc (so nothing is left elsewhere in /tmp)."""
    if path:
        return path
    installed = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
    if os.path.exists(installed):
        return installed
    work = os.path.join(directory, "opencv-doc")
    video = os.path.join(work, "usr/share/doc/opencv-doc/examples/data/vtest.avi")
    if not os.path.exists(video):
        os.makedirs(work, exist_ok=True)
        subprocess.run(["apt-get", "download", "opencv-doc"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        deb = glob.glob(os.path.join(work, "opencv-doc_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, work], check=True)
        os.remove(deb)
    return video


def parameters(scale_step):
    return {"tau": 0.25, "lambda_": 0.15, "theta": 0.3, "nscales": 5, "warps": 5, "epsilon": 0.01,
            "innerIterations": 30, "outerIterations": 10, "scaleStep": scale_step, "gamma": 0.0,
            "medianFiltering": 5, "useInitialFlow": False}


def write_pgm(path, image):
    with open(path, "wb") as handle:
        handle.write(b"P5\n%d %d\n255\n" % (image.shape[1], image.shape[0]))
        handle.write(image.astype(np.uint8).tobytes())


def read_pgm(path):
    with open(path, "rb") as handle:
        data = handle.read()
    parts = data.split(maxsplit=4)
    width, height = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][: width * height], dtype=np.uint8).reshape(height, width)


def read_flo(path):
    raw = np.fromfile(path, dtype=np.uint8)
    width, height = np.frombuffer(raw[4:12].tobytes(), dtype=np.int32)
    return np.frombuffer(raw[12:].tobytes(), dtype=np.float32).reshape(height, width, 2)


def prepare(args):
    os.makedirs(args.dir, exist_ok=True)
    capture = cv2.VideoCapture(find_video(args.video, args.dir))
    frames = []
    while len(frames) < args.start + args.pairs + 1:
        ok, frame = capture.read()
        if not ok:
            sys.exit("the video ended early")
        frames.append(cv2.cvtColor(cv2.resize(frame, SIZE, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY))
    for i in range(args.pairs):
        write_pgm(os.path.join(args.dir, "pair_%02d_0.pgm" % i), frames[args.start + i])
        write_pgm(os.path.join(args.dir, "pair_%02d_1.pgm" % i), frames[args.start + i + 1])
    with open(os.path.join(args.dir, "parameters.json"), "w") as handle:
        json.dump(parameters(args.scale_step), handle, indent=1)


def compare(args):
    with open(os.path.join(args.dir, "parameters.json")) as handle:
        p = json.load(handle)
    cv2.setNumThreads(args.threads)
    # Positional arguments: the binding misspells one keyword ("innnerIterations").
    solver = cv2.optflow.DualTVL1OpticalFlow_create(
        p["tau"], p["lambda_"], p["theta"], p["nscales"], p["warps"], p["epsilon"], p["innerIterations"],
        p["outerIterations"], p["scaleStep"], p["gamma"], p["medianFiltering"], False)
    assert abs(solver.getScaleStep() - p["scaleStep"]) < 1e-12 and solver.getInnerIterations() == p["innerIterations"]
    pairs = []
    while os.path.exists(os.path.join(args.dir, "pair_%02d_0.pgm" % len(pairs))):
        i = len(pairs)
        pairs.append((read_pgm(os.path.join(args.dir, "pair_%02d_0.pgm" % i)), read_pgm(os.path.join(args.dir, "pair_%02d_1.pgm" % i))))
    flows = [solver.calc(a, b, None) for a, b in pairs]          # warm-up, and the flows compared
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for a, b in pairs:
            solver.calc(a, b, None)
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    errors = []
    for i, flow in enumerate(flows):
        ours = read_flo(os.path.join(args.dir, "motive_%02d.flo" % i))
        errors.append(float(np.sqrt(((ours - flow) ** 2).sum(axis=2)).mean()))
    print(json.dumps({"bench": "tvl1_opencv", "opencv": cv2.__version__, "size": "%dx%d" % SIZE, "pairs": len(pairs),
                      "threads": args.threads, "pairs_per_s": round(len(pairs) / seconds, 2),
                      "mean_epe_vs_motive": round(float(np.mean(errors)), 4), "max_epe_vs_motive": round(max(errors), 4)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("dir")
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--start", type=int, default=100)
    p.add_argument("--scale-step", type=float, default=0.5)
    p.add_argument("--video")
    c = sub.add_parser("compare")
    c.add_argument("dir")
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    prepare(args) if args.command == "prepare" else compare(args)


if __name__ == "__main__":
    main()

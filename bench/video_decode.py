"""Side-by-side decode benchmark: decord and PyAV on the clips Motive's bench measured.

`motive-bench video --out DIR` writes the test videos and DIR/clips.json (for each video, the
frame indices of every TSN and dense clip it timed). This script decodes the same clips with
decord and with PyAV, opening the video afresh for each clip as a data loader does, and prints
one JSON line per (library, video, sampling) in the format of the Swift bench:

    {"bench": "video:<video>:<sampling>", "library": "decord", "clips_per_s": X}

Not part of CI. Needs `pip install decord av numpy`. Run it through bench/video.sh, which runs
both benches in one go so the numbers compare like with like.
"""

import json
import os
import statistics
import sys
import time

import av
import decord
import numpy as np


def decode_decord(path, indices):
    reader = decord.VideoReader(path, ctx=decord.cpu(0))
    return reader.get_batch(indices).asnumpy()


def decode_pyav(path, indices):
    """Frame-accurate PyAV: seek to the keyframe before the first wanted frame, decode forward."""
    wanted = sorted(set(indices))
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate
        base = stream.time_base
        origin = stream.start_time or 0
        first_pts = origin + int(wanted[0] / rate / base)
        container.seek(first_pts, stream=stream, backward=True, any_frame=False)
        frames = {}
        for frame in container.decode(stream):
            index = int(round(float((frame.pts - origin) * base * rate)))
            if index in wanted and index not in frames:
                frames[index] = frame.to_ndarray(format="rgb24")
            if index >= wanted[-1]:
                break
    return np.stack([frames[i] for i in indices])


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/motive-video-bench"
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with open(os.path.join(root, "clips.json")) as f:
        plan = json.load(f)
    for video in plan["videos"]:
        path = os.path.join(root, video["file"])
        for sampling, clips in video["clips"].items():
            for name, decode in (("decord", decode_decord), ("pyav", decode_pyav)):
                decode(path, clips[0])  # warm-up
                rates = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    for indices in clips:
                        out = decode(path, indices)
                        assert out.shape[0] == len(indices)
                    rates.append(len(clips) / (time.perf_counter() - start))
                print(json.dumps({"bench": f"video:{video['name']}:{sampling}", "library": name,
                                  "clips_per_s": round(statistics.median(rates), 2)}), flush=True)


if __name__ == "__main__":
    main()

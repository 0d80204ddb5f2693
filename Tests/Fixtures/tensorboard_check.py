#!/usr/bin/env python3
"""Checks, with TensorBoard's own reader, that a Motive run's event files parse. Run by hand, never by CI.

    pip install tensorboard
    python3 Tests/Fixtures/tensorboard_check.py RUN_DIR        # an existing run directory
    python3 Tests/Fixtures/tensorboard_check.py                # trains a tiny run first

Without RUN_DIR it makes a small synthetic dataset and trains MC3-18 tiny on it for three epochs
in a temporary folder (with `.build/release/motive` when built, else `swift run -c release motive`),
then checks that run. TensorBoard's EventAccumulator reads `RUN_DIR/tb`; the script checks the
tags, that the epoch scalars sit at steps 1..epochs and the batch scalars at 1..batches, that
every value is finite, and that train/loss and train/lr equal `metrics.csv`'s columns (6
significant digits). It prints each tag's points and exits non-zero on the first failed check.
"""
import csv
import math
import os
import subprocess
import sys
import tempfile

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EPOCH_TAGS = ["train/loss", "train/top1", "train/lr", "train/clips_per_s", "train/epoch_seconds"]
VAL_TAGS = ["val/top1", "val/top5", "val/mean_class_accuracy"]
BATCH_TAGS = ["batch/loss", "batch/lr"]


def motive():
    built = os.path.join(ROOT, ".build", "release", "motive")
    return [built] if os.path.exists(built) else ["swift", "run", "--package-path", ROOT, "-c", "release", "motive"]


def tiny_run(folder):
    data = os.path.join(folder, "synth")
    subprocess.run(motive() + ["dataset", "synth", "--out", data, "--classes", "3", "--per-class", "6", "--frames", "8",
                               "--size", "64", "--val-fraction", "0.34"], check=True)
    config = os.path.join(folder, "tiny.yaml")
    with open(config, "w") as f:
        f.write(f"""model: {{preset: mc3_18_tiny}}
data:
  train_list: {data}/train.txt
  val_list: {data}/val.txt
  batch_size: 4
  workers: 2
  train_pipeline: {{transforms: [{{resize_short_side: {{side: 64}}}}, {{centre_crop: {{size: 64}}}}], normalization: kinetics}}
optimizer: {{type: adamw, lr: 0.002, weight_decay: 0}}
schedule: {{epochs: 3, policy: cosine}}
eval: {{interval: 1}}
train: {{seed: 1}}
""")
    run = os.path.join(folder, "runs", "tiny")
    subprocess.run(motive() + ["train", config, "--out", run], check=True)
    return run


def check(condition, message):
    if not condition:
        sys.exit(f"FAIL: {message}")


def main():
    scratch = None
    if len(sys.argv) > 1:
        run = sys.argv[1]
    else:
        scratch = tempfile.mkdtemp(prefix="motive-tb-check-")
        run = tiny_run(scratch)
    tb = os.path.join(run, "tb")
    files = sorted(n for n in os.listdir(tb) if "tfevents" in n)
    print(f"{tb}: {files}")
    check(files, "no event file")

    acc = EventAccumulator(tb, size_guidance={"scalars": 0})
    acc.Reload()
    tags = sorted(acc.Tags()["scalars"])
    print("tags:", tags)
    with open(os.path.join(run, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) for r in rows]
    has_val = any(r["val_top1"] for r in rows)
    expected = EPOCH_TAGS + BATCH_TAGS + (VAL_TAGS if has_val else [])
    check(sorted(expected) == tags, f"tags {tags}, expected {sorted(expected)}")

    for tag in tags:
        points = acc.Scalars(tag)
        steps = [p.step for p in points]
        values = [p.value for p in points]
        shown = ", ".join(f"{s}:{v:.6g}" for s, v in zip(steps, values))
        print(f"  {tag:26} {len(points):4} points  {shown if len(points) <= 8 else shown[:120] + ' …'}")
        check(all(math.isfinite(v) for v in values), f"{tag}: a value is not finite")
        if tag.startswith("batch/"):
            check(steps == list(range(1, len(steps) + 1)), f"{tag}: steps {steps} are not 1..{len(steps)}")
        elif tag.startswith("train/"):
            check(steps == epochs, f"{tag}: steps {steps}, metrics.csv has epochs {epochs}")
        else:
            check(steps == [int(r["epoch"]) for r in rows if r["val_top1"]], f"{tag}: steps {steps}")

    for tag, column in [("train/loss", "train_loss"), ("train/lr", "lr"), ("val/top1", "val_top1")]:
        if tag not in tags:
            continue
        for point, row in zip(acc.Scalars(tag), [r for r in rows if r[column]]):
            cell = float(row[column])
            check(abs(point.value - cell) <= 1e-5 * max(abs(cell), 1e-6), f"{tag} at {point.step}: {point.value} vs metrics.csv {cell}")
    print(f"OK: {len(tags)} tags, {len(epochs)} epochs, {len(acc.Scalars('batch/loss'))} batches; "
          "train/loss, train/lr and val/top1 equal metrics.csv")
    if scratch:
        print(f"(the run stays in {run} for `tensorboard --logdir {os.path.dirname(run)}`)")


if __name__ == "__main__":
    main()

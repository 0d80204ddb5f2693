"""Top-1 over a labelled list, and accuracy on the synthetic dataset's direction pairs.

A direction pair is two classes that differ only in the sense of the motion (left/right, up/down,
clockwise/counter-clockwise, in/out). For a video of one of them, the pair is right when the
model scores its class above its mirror class: chance is 50%, whatever the other classes do.

    python3 bench/pair_accuracy.py VAL_LIST CLASSES PREDICTIONS.jsonl   (predict --top-k ≥ 10)
Prints "top1 pairs" as percentages.
"""
import json
import os
import sys

PAIRS = [("translate_left", "translate_right"), ("translate_up", "translate_down"),
         ("rotate_clockwise", "rotate_counterclockwise"), ("zoom_in", "zoom_out")]


def main(val_list, classes_file, predictions):
    classes = [line.strip() for line in open(classes_file) if line.strip()]
    truth = {}
    for line in open(val_list):
        if line.strip():
            path, label = line.split()[:2]
            truth[path] = int(label)
    mirror = {}
    for a, b in PAIRS:
        mirror[a], mirror[b] = b, a
    top1 = pairs = pair_total = total = 0
    for line in open(predictions):
        record = json.loads(line)
        if "labels" not in record:
            continue
        path = record["video"]
        root = os.path.dirname(val_list)
        if root and path.startswith(root + "/"):
            path = path[len(root) + 1:]                   # predict prints the paths it was given
        label = classes[truth[path]]
        scores = {entry["label"]: entry["score"] for entry in record["labels"]}
        total += 1
        top1 += record["labels"][0]["label"] == label
        if label in mirror:
            pair_total += 1
            pairs += scores.get(label, 0.0) > scores.get(mirror[label], 0.0)
    print(f"{100 * top1 / max(total, 1):.1f}% {100 * pairs / max(pair_total, 1):.1f}%")


if __name__ == "__main__":
    main(*sys.argv[1:4])

#!/usr/bin/env bash
# Motive against PyTorch on the zoo's presets: for each preset in turn, bench/torch_zoo.py (the
# same architecture in PyTorch) and then `motive-bench zoo`, with the same threads and repeats,
# so that drifts in the machine's speed hit both alike. Prints the CPU, then a table of seconds
# per no-grad forward at batch 1 and per SGD step at batch 2, and of how far resident memory rose
# during the forward passes (MiB), each with Motive ÷ PyTorch (lower is better). Not a test:
# needs torch, torchvision, pytorchvideo, transformers and fvcore.
#   bash bench/zoo_vs_torch.sh [PRESET…]      (default: the nine full-size presets below)
#   THREADS=2 INFER_REPEATS=3 TRAIN_REPEATS=2 ROUNDS=3 bash bench/zoo_vs_torch.sh r2plus1d_18
# With ROUNDS > 1 the whole alternation repeats, and each cell is the median over the rounds: on a
# shared machine one run of either side can be 30% off.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(c3d r2plus1d_18 r3d_18 tsn_r50 tsm_r50 slow_r50 i3d_r50 slowfast_r50 timesformer_base)
threads=${THREADS:-$(nproc)}
infer=${INFER_REPEATS:-3}
train=${TRAIN_REPEATS:-2}
rounds=${ROUNDS:-1}
bench=${MOTIVE_BENCH:-.build/release/motive-bench}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $threads threads" >&2
for round in $(seq "$rounds"); do
  for p in "${presets[@]}"; do
    echo "$p: PyTorch… (round $round of $rounds)" >&2
    python3 bench/torch_zoo.py "$p" --threads "$threads" --infer-repeats "$infer" --train-repeats "$train" --no-verify >> "$out/torch.jsonl"
    echo "$p: Motive… (round $round of $rounds)" >&2
    "$bench" zoo "$p" --workers "$threads" --infer-repeats "$infer" --train-repeats "$train" >> "$out/motive.jsonl"
  done
done
python3 - "$out/motive.jsonl" "$out/torch.jsonl" <<'PY'
import json, statistics, sys
KEYS = ("infer_s_per_clip", "train_s_per_step_b2", "infer_peak_mb")
def medians(path):
    rows = {}
    for row in map(json.loads, open(path)):
        rows.setdefault(row["model"], []).append(row)
    return {name: {key: (statistics.median(values) if (values := [r[key] for r in runs if r.get(key) is not None]) else None)
                   for key in KEYS}
            for name, runs in rows.items()}
def cells(m, t, key, fmt):
    if m[key] is None or t[key] is None:
        return "– | – | –"
    return f"{m[key]:{fmt}} | {t[key]:{fmt}} | {m[key] / t[key]:.2f}" if t[key] > 0 else f"{m[key]:{fmt}} | {t[key]:{fmt}} | –"
motive, torch = medians(sys.argv[1]), medians(sys.argv[2])
print("| model | Motive infer | PyTorch infer | ratio | Motive train step | PyTorch train step | ratio "
      "| Motive infer peak MiB | PyTorch infer peak MiB | ratio |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, m in motive.items():
    t = torch[name]
    print(f"| {name} | {cells(m, t, 'infer_s_per_clip', '.3g')} | {cells(m, t, 'train_s_per_step_b2', '.3g')} "
          f"| {cells(m, t, 'infer_peak_mb', '.0f')} |")
PY

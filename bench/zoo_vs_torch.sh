#!/usr/bin/env bash
# Motive against PyTorch on the zoo's presets: for each preset in turn, bench/torch_zoo.py (the
# same architecture in PyTorch) and then `motive-bench zoo`, with the same threads and repeats,
# so that drifts in the machine's speed hit both alike. Prints the CPU, then a table of seconds
# per no-grad forward at batch 1 and per SGD step at batch 2, with Motive ÷ PyTorch (lower is
# better). Not a test: needs torch, torchvision, pytorchvideo, transformers and fvcore.
#   bash bench/zoo_vs_torch.sh [PRESET…]      (default: the nine full-size presets below)
#   THREADS=2 INFER_REPEATS=3 TRAIN_REPEATS=2 bash bench/zoo_vs_torch.sh r2plus1d_18
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(c3d r2plus1d_18 r3d_18 tsn_r50 tsm_r50 slow_r50 i3d_r50 slowfast_r50 timesformer_base)
threads=${THREADS:-$(nproc)}
infer=${INFER_REPEATS:-3}
train=${TRAIN_REPEATS:-2}
bench=${MOTIVE_BENCH:-.build/release/motive-bench}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $threads threads" >&2
for p in "${presets[@]}"; do
  echo "$p: PyTorch…" >&2
  python3 bench/torch_zoo.py "$p" --threads "$threads" --infer-repeats "$infer" --train-repeats "$train" --no-verify >> "$out/torch.jsonl"
  echo "$p: Motive…" >&2
  "$bench" zoo "$p" --workers "$threads" --infer-repeats "$infer" --train-repeats "$train" >> "$out/motive.jsonl"
done
python3 - "$out/motive.jsonl" "$out/torch.jsonl" <<'PY'
import json, sys
motive = [json.loads(line) for line in open(sys.argv[1])]
torch = {row["model"]: row for row in map(json.loads, open(sys.argv[2]))}
print("| model | Motive infer | PyTorch infer | ratio | Motive train step | PyTorch train step | ratio |")
print("|---|---|---|---|---|---|---|")
for m in motive:
    t = torch[m["model"]]
    print(f"| {m['model']} | {m['infer_s_per_clip']:.3g} | {t['infer_s_per_clip']:.3g} | {m['infer_s_per_clip'] / t['infer_s_per_clip']:.2f} "
          f"| {m['train_s_per_step_b2']:.3g} | {t['train_s_per_step_b2']:.3g} | {m['train_s_per_step_b2'] / t['train_s_per_step_b2']:.2f} |")
PY

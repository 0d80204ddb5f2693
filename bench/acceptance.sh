#!/usr/bin/env bash
# Trains each tiny config on the default synthetic motion dataset and tabulates validation top-1,
# top-1 on the direction pairs, and wall-clock time. Not a test: about two hours on two cores.
#   bash bench/acceptance.sh [MODEL…]      (default: the issue's seven families)
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tsn_r18_tiny tsm_r50_tiny c3d_tiny i3d_r50_tiny r2plus1d_18_tiny slow_r50_tiny slowfast_r50_tiny)
[ -f data/synth/train.txt ] || make -s synth
out=runs/acceptance
mkdir -p "$out"
printf '| model | val top-1 | direction pairs | train + eval time |\n|---|---|---|---|\n'
for m in "${models[@]}"; do
  start=$(date +%s)
  .build/release/motive train "Models/tiny/$m.yaml" --out "$out/$m" > "$out/$m.log"
  seconds=$(( $(date +%s) - start ))
  mapfile -t videos < <(awk '{print "data/synth/" $1}' data/synth/val.txt)
  .build/release/motive predict --model "$out/$m" --top-k 10 "${videos[@]}" > "$out/$m.predictions.jsonl"
  python3 bench/pair_accuracy.py data/synth/val.txt data/synth/classes.txt "$out/$m.predictions.jsonl" \
    | awk -v m="$m" -v s="$seconds" '{ printf "| %s | %s | %s | %dm%02ds |\n", m, $1, $2, s / 60, s % 60 }'
done

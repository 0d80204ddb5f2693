#!/usr/bin/env bash
# Intra-op parallelism against data-parallel replicas: one training epoch of each tiny model on
# the synthetic dataset in each mode, alternating, REPEATS times; prints the median clips/s.
#   bash bench/compute_modes.sh [REPEATS] [MODEL…]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}; shift || true
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(r2plus1d_18_tiny tsn_r18_tiny slowfast_r50_tiny)
[ -f data/synth/train.txt ] || make synth
swift build -c release --product motive >/dev/null
out=$(mktemp -d)
printf '%-20s %14s %14s %8s\n' model intra_op data_parallel ratio
for model in "${models[@]}"; do
  declare -A speeds=([intra_op]="" [data_parallel]="")
  for r in $(seq "$repeats"); do
    for mode in intra_op data_parallel; do
      .build/release/motive train "Models/tiny/$model.yaml" --out "$out/$model-$mode-$r" \
        --set schedule.epochs=1 --set schedule.warmup_epochs=0 --set data.val_list=null --set train.compute=$mode >/dev/null
      speeds[$mode]+="$(awk -F, 'NR==2 {print $6}' "$out/$model-$mode-$r/metrics.csv") "
    done
  done
  median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  a=$(echo "${speeds[intra_op]}" | median); b=$(echo "${speeds[data_parallel]}" | median)
  awk -v m="$model" -v a="$a" -v b="$b" 'BEGIN { printf "%-20s %14.1f %14.1f %8.2f\n", m, a, b, b / a }'
done
rm -rf "$out"

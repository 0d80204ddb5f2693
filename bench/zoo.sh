#!/usr/bin/env bash
# `make bench-zoo`: trains every RGB `_tiny` preset on the default synthetic dataset (or reuses a
# finished run in runs/<preset>), then benches them all with `motive bench` on the validation
# list: accuracy, GFLOPs, latency, throughput and one training step. Flow and two-stream presets
# join when the synthetic flow exists (`make synth-flow`). Commits nothing; prints where the
# table and charts are.
#   bash bench/zoo.sh [PRESET…]
#   EPOCHS=6 bash bench/zoo.sh        (shorter schedules than the configs' 30 epochs)
#   OUT=bench/zoo bash bench/zoo.sh    (where the bench writes; default bench/<date-time>/)
#   TRAIN_ONLY=1 bash bench/zoo.sh     (stop after training)
set -euo pipefail
cd "$(dirname "$0")/.."
motive=${MOTIVE:-.build/release/motive}
presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then
  presets=(tsn_r18_tiny tsn_r50_tiny tsm_r50_tiny timesformer_tiny mc3_18_tiny r2plus1d_18_tiny r3d_18_tiny c2d_r50_tiny
           i3d_r50_tiny slow_r50_tiny slowfast_r50_tiny slowfast_r50_4x16_tiny r2plus1d_34_tiny c3d_tiny)
  [ -f data/synth/flow/train.txt ] && presets+=(tsn_r18_flow_tiny)
fi
[ -f data/synth/train.txt ] || "$motive" dataset synth --out data/synth
epochs=()
[ -n "${EPOCHS:-}" ] && epochs=(--set "schedule.epochs=$EPOCHS")
runs=()
mkdir -p runs
for p in "${presets[@]}"; do
  run=runs/$p
  # A run counts as finished when its log says so; anything else (absent, interrupted) trains,
  # resuming where an interrupted run stopped.
  if [ -f "$run/log.jsonl" ] && grep -q '"event":"finished"' "$run/log.jsonl"; then
    echo "reusing $run"
  else
    echo "training $p → $run ($(date +%H:%M:%S))"
    resume=()
    [ -f "$run/last.safetensors" ] && resume=(--resume "$run")
    "$motive" train "Models/tiny/$p.yaml" --out "$run" "${epochs[@]}" "${resume[@]}" > "$run.train.log" 2>&1 \
      || { echo "training $p failed; see $run.train.log"; exit 1; }
  fi
  runs+=("$run")
done
[ -n "${TRAIN_ONLY:-}" ] && exit 0
out=${OUT:-bench/$(date +%Y%m%d-%H%M%S)}
"$motive" bench "${runs[@]}" --data data/synth/val.txt --train-step --out "$out"
echo "table: $out/bench.md"
echo "charts: $out/accuracy_vs_gflops.svg $out/accuracy_vs_latency.svg $out/latency_vs_gflops.svg"

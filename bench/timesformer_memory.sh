#!/usr/bin/env bash
# Peak memory of timesformer_base: one clip of 8×224² (batch 1) through the model under no-grad.
#
# Runs `motive models --time --filter timesformer_base` (build the model, count its FLOPs dry,
# then a warm-up and a timed no-grad forward) under /usr/bin/time -v and reports the process's
# peak resident set: weights (121.6 M parameters, 486 MB), activations, BLAS and the buffer
# pool. Fails when the peak reaches the 2 GiB budget. Not part of CI.
#
#   bash bench/timesformer_memory.sh            # builds motive optimised first
#   MOTIVE=path/to/motive bash bench/timesformer_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."

limit_kib=$((2 * 1024 * 1024))
if [[ -z "${MOTIVE:-}" ]]; then
    swift build -c release --product motive >&2
    MOTIVE="$(swift build -c release --show-bin-path)/motive"
fi

report=$(mktemp)
trap 'rm -f "$report"' EXIT
/usr/bin/time -v -o "$report" "$MOTIVE" models --time --json --filter timesformer_base
peak_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$report")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$report")
printf '{"bench": "timesformer_base_forward_memory", "peak_rss_mib": %.1f, "limit_mib": %d, "process_wall": "%s"}\n' \
    "$(awk -v k="$peak_kib" 'BEGIN { print k / 1024 }')" $((limit_kib / 1024)) "$wall"
if (( peak_kib >= limit_kib )); then
    echo "timesformer_base: peak RSS ${peak_kib} KiB is over the 2 GiB budget" >&2
    exit 1
fi

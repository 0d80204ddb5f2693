#!/usr/bin/env bash
# Load check for `motive serve`: 16 clients POST a 2 s video to /v1/predict for 60 s over
# loopback. Reports requests/s, p50/p99 latency, errors (must be 0) and the server's RSS before
# and after. Not a timed test: run it by hand, on an otherwise idle machine.
#
#   bench/load.sh                      # Models/default if present, else a quickly trained tiny model
#   CLIENTS=16 DURATION=60 MODELS=Models bench/load.sh
#
# Environment: MOTIVE (the binary; default: build with `swift build -c release`), MODELS (a
# models folder), CLIENTS, DURATION (seconds), SCRATCH (swift's --scratch-path).
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-16}
DURATION=${DURATION:-60}
SCRATCH=${SCRATCH:-.build}
if [ -z "${MOTIVE:-}" ]; then
  swift build -c release --product motive --scratch-path "$SCRATCH" >&2
  MOTIVE="$SCRATCH/release/motive"
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/motive-load.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The video: 50 frames at 25 fps (2 s), 128², one of the synthetic motion classes.
"$MOTIVE" dataset synth --out "$WORK/clip" --classes 1 --per-class 1 --frames 50 --size 128 --val-fraction 0 --seed 7 >/dev/null
VIDEO=$(find "$WORK/clip/videos" -name '*.mp4' | head -n 1)

# The model: Models/default when it exists, else one epoch of mc3_18_tiny on a small set.
MODELS=${MODELS:-}
if [ -z "$MODELS" ]; then
  if [ -d Models/default ]; then
    MODELS=Models
  else
    echo "no Models/default: training a tiny model for the check" >&2
    "$MOTIVE" dataset synth --out "$WORK/data" --classes 4 --per-class 4 --frames 16 --size 64 --val-fraction 0 >/dev/null
    cat > "$WORK/job.yaml" <<YAML
model: {preset: mc3_18_tiny}
data:
  train_list: $WORK/data/train.txt
  batch_size: 8
  train_pipeline: {transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 64}}], normalization: kinetics}
optimizer: {type: adamw, lr: 0.002}
schedule: {epochs: 1, policy: constant}
YAML
    "$MOTIVE" train "$WORK/job.yaml" --out "$WORK/models/default" >/dev/null
    MODELS="$WORK/models"
  fi
fi

"$MOTIVE" serve --port 0 --models "$MODELS" --state-dir "$WORK/state" --data-root "$WORK" \
  --max-concurrent "$CLIENTS" --log-level warning > "$WORK/serve.out" 2> "$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out" | head -n 1)
[ -n "$PORT" ] || { echo "the server did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1; }

rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
# Warm up (first allocations, caches), then measure.
python3 bench/load_client.py --port "$PORT" --video "$VIDEO" --clients 2 --seconds 3 >/dev/null
RSS_BEFORE=$(rss)
RESULT=$(python3 bench/load_client.py --port "$PORT" --video "$VIDEO" --clients "$CLIENTS" --seconds "$DURATION")
RSS_AFTER=$(rss)
# A second round shows whether memory keeps growing.
RESULT2=$(python3 bench/load_client.py --port "$PORT" --video "$VIDEO" --clients "$CLIENTS" --seconds "$((DURATION / 4 + 1))")
RSS_AFTER2=$(rss)

kill -TERM "$SERVER_PID"
STATUS=0; wait "$SERVER_PID" || STATUS=$?
SERVER_PID=""

echo "video: $(stat -c %s "$VIDEO") bytes, 2 s, 128²; model: $(ls "$MODELS" | tr '\n' ' ')"
echo "cores: $(nproc); clients: $CLIENTS; $DURATION s"
echo "result: $RESULT"
echo "rss: ${RSS_BEFORE} kB before, ${RSS_AFTER} kB after; after $((DURATION / 4 + 1)) s more: ${RSS_AFTER2} kB ($RESULT2)"
echo "server exit status after SIGTERM: $STATUS"
ERRORS=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"] + json.loads(sys.argv[2])["errors"])' "$RESULT" "$RESULT2")
[ "$ERRORS" = 0 ] && [ "$STATUS" = 0 ]

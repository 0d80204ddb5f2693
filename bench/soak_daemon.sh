#!/usr/bin/env bash
# kill -9 soak for the daemon: queues JOBS small training jobs on a `motive serve` bound to
# loopback, then kills the daemon with SIGKILL KILLS times at random moments, restarting it on
# the same state folder each time. Meanwhile a bounded loop posts Samples/zoom_in.mp4 to
# /v1/predict (the default model). PASS when every job ends succeeded with its last epoch in
# its record, no record is lost or duplicated at any restart, every job's model is served (also
# after one more kill once all are done), and every prediction is either right (top label
# zoom_in) or a connection error: never a wrong label, never an HTTP error.
#
#   bash bench/soak_daemon.sh
#   JOBS=5 KILLS=10 SOAK_SEED=1 MOTIVE=.build/release/motive bash bench/soak_daemon.sh
#
# Environment: MOTIVE (default .build/release/motive), JOBS (5), KILLS (10), SOAK_SEED (1),
# PORT (default: a free one from 20000–60000), MAX_SECONDS (1200: the whole soak's limit),
# KEEP (1 keeps the work folder), WORK (default: a new folder under TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTIVE=${MOTIVE:-.build/release/motive}
JOBS=${JOBS:-5}
KILLS=${KILLS:-10}
SOAK_SEED=${SOAK_SEED:-1}
MAX_SECONDS=${MAX_SECONDS:-1200}
KEEP=${KEEP:-0}
[ -x "$MOTIVE" ] || { echo "FAIL: no motive binary at $MOTIVE (run make release, or set MOTIVE)" >&2; exit 2; }
command -v jq >/dev/null && command -v curl >/dev/null || { echo "FAIL: this script needs jq and curl" >&2; exit 2; }
MOTIVE=$(realpath "$MOTIVE")
VIDEO=$(realpath Samples/zoom_in.mp4)
MODELS=$(realpath Models)
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/motive-soak-daemon.XXXXXX")}
RANDOM=$SOAK_SEED
START=$(date +%s)
DEADLINE=$((START + MAX_SECONDS))
. bench/lib.sh
PORT=${PORT:-$(free_port)}
BASE="http://127.0.0.1:$PORT"
SERVER_PID="" LOOP_PID=""
cleanup() {
  touch "$WORK/stop-predictions" 2>/dev/null || true
  if [ -n "$LOOP_PID" ]; then wait "$LOOP_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  # Training processes of a killed daemon stop by themselves once it is gone; wait for them.
  for _ in $(seq 1 100); do pgrep -f "serve run-job $WORK/" >/dev/null || break; sleep 0.2; done
  if [ "$KEEP" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- The daemon --------------------------------------------------------------------------------
starts=0
start_daemon() {
  starts=$((starts + 1))
  "$MOTIVE" serve --host 127.0.0.1 --port "$PORT" --models "$MODELS" --state-dir "$WORK/state" --data-root "$WORK/data" \
    --log-level warning > "$WORK/serve.$starts.out" 2> "$WORK/serve.$starts.log" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    grep -q "listening on" "$WORK/serve.$starts.out" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: the daemon did not start (start $starts):"; tail -n 5 "$WORK/serve.$starts.log"; exit 1
}
kill_daemon() { kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
api() { curl -sS --max-time 20 "$@"; }

# Every restart must list exactly the submitted jobs, once each.
lost_or_duplicated=0
check_records() {
  local ids expected
  ids=$(api "$BASE/v1/jobs" | jq -r '[.jobs[].id] | join(" ")')
  expected=$(seq -s ' ' 1 "$JOBS")
  if [ "$ids" != "$expected" ]; then
    echo "  job records after restart $starts: [$ids], expected [$expected]"; lost_or_duplicated=$((lost_or_duplicated + 1))
  fi
}
states() { api "$BASE/v1/jobs" | jq -r '[.jobs[] | "\(.id):\(.state)(\(.epoch)/\(.epochs))"] | join(" ")'; }

# --- Data and jobs -----------------------------------------------------------------------------
"$MOTIVE" dataset synth --out "$WORK/data/synth" --classes 3 --per-class 4 --frames 16 --size 64 --val-fraction 0.25 --seed 9 >/dev/null
job_yaml() {
  cat <<YAML
model: {preset: mc3_18_tiny}
data:
  train_list: $WORK/data/synth/train.txt
  val_list: $WORK/data/synth/val.txt
  batch_size: 3
  workers: 1
  sampler: {clip_len: 8, frame_interval: 1, num_clips: 1}
  train_pipeline:
    transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 56}}]
    normalization: kinetics
  test_pipeline: {transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 56}}], normalization: kinetics}
optimizer: {type: adamw, lr: 0.002}
schedule: {epochs: 12, policy: constant}
train: {seed: $1}
eval: {interval: 2}
YAML
}

start_daemon
echo "daemon on $BASE (state $WORK/state); queueing $JOBS jobs…"
for i in $(seq 1 "$JOBS"); do
  code=$(job_yaml "$i" | curl -sS --max-time 20 -o "$WORK/submit.$i.json" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/yaml' --data-binary @- "$BASE/v1/jobs")
  [ "$code" = 201 ] || { echo "FAIL: job $i was refused ($code): $(cat "$WORK/submit.$i.json")"; exit 1; }
done

# --- Predictions, meanwhile --------------------------------------------------------------------
# One client, at most 3000 requests, and no longer than the soak. One line per request:
# right, wrong, connection (no HTTP answer), timeout, or http_<status>.
prediction_loop() {
  local n=0 code rc label
  while [ $n -lt 3000 ] && [ ! -e "$WORK/stop-predictions" ] && [ "$(date +%s)" -lt "$DEADLINE" ]; do
    n=$((n + 1))
    rc=0
    code=$(curl -s --max-time 30 -o "$WORK/prediction.json" -w '%{http_code}' --data-binary "@$VIDEO" \
      -H 'Content-Type: video/mp4' "$BASE/v1/predict?top_k=1&model=default") || rc=$?
    if [ "$rc" = 28 ]; then echo timeout
    elif [ "$code" = 000 ] || [ "$rc" != 0 ]; then echo connection; sleep 0.2
    elif [ "$code" = 200 ]; then
      label=$(jq -r '.labels[0].label' "$WORK/prediction.json" 2>/dev/null || echo unreadable)
      if [ "$label" = zoom_in ]; then echo right; else echo "wrong $label"; fi
    else echo "http_$code $(head -c 200 "$WORK/prediction.json")"
    fi
  done > "$WORK/predictions.txt"
}
prediction_loop &
LOOP_PID=$!

# --- The kills ---------------------------------------------------------------------------------
echo "killing the daemon with SIGKILL $KILLS times, 1.5–10 s apart, restarting it each time…"
for k in $(seq 1 "$KILLS"); do
  delay_ms=$((1500 + RANDOM % 8500))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  before=$(states)
  kill_daemon
  start_daemon
  check_records
  echo "  kill $k after ${delay_ms} ms: $before"
done

echo "waiting for the jobs to finish…"
while [ "$(date +%s)" -lt "$DEADLINE" ]; do
  left=$(api "$BASE/v1/jobs" | jq '[.jobs[] | select(.state == "queued" or .state == "running")] | length')
  [ "$left" = 0 ] && break
  sleep 2
done
# One more kill once every job has ended: finished jobs and their models must come back.
kill_daemon
start_daemon
check_records
touch "$WORK/stop-predictions"; wait "$LOOP_PID" || true; LOOP_PID=""

# --- Verdict -----------------------------------------------------------------------------------
result=0
echo "jobs: $(states)"
api "$BASE/v1/jobs" | jq -r '.jobs[] | "  job \(.id): \(.state), \(.attempts) attempts\(if .error then ", error: \(.error)" else "" end)"'
succeeded=$(api "$BASE/v1/jobs" | jq '[.jobs[] | select(.state == "succeeded")] | length')
[ "$succeeded" = "$JOBS" ] || { echo "not every job succeeded"; result=1; }
# A succeeded job's record must hold its last epoch and that epoch's figures, even when the
# daemon was killed while the epoch was reported.
stale=$(api "$BASE/v1/jobs" | jq -r '[.jobs[] | select(.state == "succeeded" and (.epoch != .epochs or .last_epoch.epoch != .epochs)) | .id] | join(" ")')
[ -z "$stale" ] || { echo "succeeded jobs whose record misses their last epoch: $stale"; result=1; }
[ "$lost_or_duplicated" = 0 ] || { echo "job records lost or duplicated at $lost_or_duplicated restarts"; result=1; }
served=$(api "$BASE/v1/models" | jq -r '[.models[].name] | sort | join(" ")')
echo "served models: $served"
for i in $(seq 1 "$JOBS"); do
  name=$(jq -r '.model_name' "$WORK/submit.$i.json")
  grep -qw -- "$name" <<<"$served" || { echo "the model of job $i ($name) is not served"; result=1; }
done
right=$(grep -c '^right' "$WORK/predictions.txt" || true)
connection=$(grep -c '^connection' "$WORK/predictions.txt" || true)
bad=$(grep -cv '^right\|^connection' "$WORK/predictions.txt" || true)
echo "predictions: $(wc -l < "$WORK/predictions.txt") sent; $right right, $connection connection errors, $bad wrong, HTTP errors or timeouts"
if [ "$bad" -gt 0 ]; then grep -v '^right\|^connection' "$WORK/predictions.txt" | sort | uniq -c | head -n 10; result=1; fi
echo "daemon starts: $starts; time: $(( $(date +%s) - START )) s"
if [ "$result" = 0 ]; then
  echo "PASS: $JOBS jobs succeeded through $KILLS kills, records intact, models served, predictions right or refused"
else
  KEEP=1
  echo "FAIL"
  exit 1
fi

#!/usr/bin/env bash
# kill -9 soak for training: trains a tiny job once without interruption, then again while
# killing `motive train` with SIGKILL at KILLS random moments (some of them while a checkpoint is
# being written), resuming after each kill. After every kill each checkpoint must load, every
# log.jsonl line must parse, metrics.csv must be whole; at the end the interrupted run's
# last.safetensors and best.safetensors must hold the same tensors, bit for bit, and the same
# metadata as the uninterrupted run's, and its metrics.csv the same epochs and figures.
#
#   bash bench/soak_train.sh
#   KILLS=20 EPOCHS=40 SOAK_SEED=1 MOTIVE=.build/release/motive bash bench/soak_train.sh
#
# Environment: MOTIVE (default .build/release/motive), KILLS (20), EPOCHS (40), SOAK_SEED (1),
# KEEP (1 keeps the work folder), WORK (default: a new folder under TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTIVE=${MOTIVE:-.build/release/motive}
KILLS=${KILLS:-20}
EPOCHS=${EPOCHS:-40}
SOAK_SEED=${SOAK_SEED:-1}
KEEP=${KEEP:-0}
[ -x "$MOTIVE" ] || { echo "FAIL: no motive binary at $MOTIVE (run make release, or set MOTIVE)" >&2; exit 2; }
command -v jq >/dev/null || { echo "FAIL: this script needs jq (apt-get install jq)" >&2; exit 2; }
MOTIVE=$(realpath "$MOTIVE")
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/motive-soak-train.XXXXXX")}
TRAIN_PID=""
cleanup() {
  if [ -n "$TRAIN_PID" ] && kill -0 "$TRAIN_PID" 2>/dev/null; then kill -KILL "$TRAIN_PID"; wait "$TRAIN_PID" 2>/dev/null || true; fi
  if [ "$KEEP" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
START=$(date +%s)
RANDOM=$SOAK_SEED

# A small dataset and a job whose epochs take a second or two, checkpointing (and evaluating,
# so best.safetensors moves) after every epoch.
"$MOTIVE" dataset synth --out "$WORK/data" --classes 4 --per-class 5 --frames 16 --size 64 --val-fraction 0.2 --seed 5 >/dev/null
cat > "$WORK/job.yaml" <<YAML
model: {preset: mc3_18_tiny}
data:
  train_list: $WORK/data/train.txt
  val_list: $WORK/data/val.txt
  batch_size: 4
  workers: 2
  sampler: {clip_len: 8, frame_interval: 1, num_clips: 1}
  train_pipeline:
    transforms: [{resize_short_side: {side: 64}}, {multi_scale_crop: {input_size: 56, scales: [1, 0.875], random_crop: true}}, {resize: {size: 56}}]
    normalization: kinetics
  test_pipeline: {transforms: [{resize_short_side: {side: 64}}, {centre_crop: {size: 56}}], normalization: kinetics}
optimizer: {type: adamw, lr: 0.002}
schedule: {epochs: $EPOCHS, policy: cosine, warmup_epochs: 1}
train: {seed: 3, label_smoothing: 0.1}
eval: {interval: 1}
output: {dir: $WORK/unused, keep_last: 2}
YAML

echo "uninterrupted reference run ($EPOCHS epochs)…"
t0=$(date +%s.%N)
"$MOTIVE" train "$WORK/job.yaml" --out "$WORK/reference" > "$WORK/reference.out" 2>&1
REFERENCE_SECONDS=$(echo "$(date +%s.%N) - $t0" | bc)
echo "  ${REFERENCE_SECONDS%.*} s"

# --- Checks ------------------------------------------------------------------------------------
# Every file of a run directory must be whole: checkpoints load, log lines parse, metrics.csv rows
# have every column, curves.svg is a complete SVG. Prints the problems; returns non-zero on any.
check_run() {
  local dir=$1 bad=0 f
  for f in "$dir"/*.safetensors; do
    [ -e "$f" ] || continue
    "$MOTIVE" export "$f" --out "$WORK/export-check.safetensors" >/dev/null 2>"$WORK/export-check.err" \
      || { echo "  corrupt checkpoint $(basename "$f"): $(head -c 300 "$WORK/export-check.err")"; bad=1; }
  done
  if [ -f "$dir/log.jsonl" ]; then
    local n=0
    while IFS= read -r line; do
      n=$((n + 1))
      jq -e . >/dev/null 2>&1 <<<"$line" || { echo "  log.jsonl line $n does not parse: ${line:0:200}"; bad=1; }
    done < "$dir/log.jsonl"
    [ ! -s "$dir/log.jsonl" ] || [ "$(tail -c 1 "$dir/log.jsonl" | od -An -tx1 | tr -d ' ')" = 0a ] \
      || { echo "  log.jsonl ends inside a line"; bad=1; }
  fi
  if [ -f "$dir/metrics.csv" ]; then
    awk -F, 'NR == 1 && $1 != "epoch" { exit 1 } NF != 11 { exit 1 }' "$dir/metrics.csv" \
      || { echo "  metrics.csv is malformed"; bad=1; }
  fi
  if [ -f "$dir/curves.svg" ]; then
    grep -q '</svg>' "$dir/curves.svg" || { echo "  curves.svg is incomplete"; bad=1; }
  fi
  if [ -f "$dir/config.yaml" ]; then
    "$MOTIVE" config "$dir/config.yaml" >/dev/null 2>"$WORK/config-check.err" \
      || { echo "  config.yaml does not load: $(head -c 300 "$WORK/config-check.err")"; bad=1; }
  fi
  return $bad
}

# A safetensors file's parts: the tensor table (names, dtypes, shapes, offsets), the metadata
# with its JSON values parsed and keys sorted, and the raw tensor bytes.
header_length() { od -An -tu8 -N8 "$1" | tr -d ' '; }
tensor_table() { head -c $((8 + $(header_length "$1"))) "$1" | tail -c +9 | jq -S 'del(.__metadata__)'; }
metadata() { head -c $((8 + $(header_length "$1"))) "$1" | tail -c +9 | jq -S '.__metadata__ | to_entries | map({key, value: (.value as $v | try ($v | fromjson) catch $v)}) | from_entries'; }
tensor_bytes() { tail -c +$((9 + $(header_length "$1"))) "$1"; }
same_checkpoint() {
  cmp -s <(tensor_table "$1") <(tensor_table "$2") && cmp -s <(tensor_bytes "$1") <(tensor_bytes "$2") \
    && cmp -s <(metadata "$1") <(metadata "$2")
}

check_run "$WORK/reference" || { echo "FAIL: the uninterrupted run left a bad file"; exit 1; }

# --- The soak ----------------------------------------------------------------------------------
# Kill moments: a random delay after the start, up to twice the uninterrupted run's average
# epoch; every third kill instead waits for a checkpoint's temporary file to appear and kills
# while it is being written.
RUN=$WORK/soak
EPOCH_MS=$(echo "$REFERENCE_SECONDS * 1000 / $EPOCHS" | bc)
start_training() {
  local resume=()
  [ -e "$RUN/last.safetensors" ] && resume=(--resume "$RUN")
  "$MOTIVE" train "$WORK/job.yaml" --out "$RUN" "${resume[@]}" >> "$WORK/soak.out" 2>&1 &
  TRAIN_PID=$!
}
# Temporary files of checkpoints and links being written (hidden names in the run directory).
temp_files() { { find "$RUN" -maxdepth 1 \( -name '.*.tmp' -o -name '.*.link' \) 2>/dev/null || true; } | sort; }
new_temps() { comm -13 <(echo "$1") <(temp_files) | grep -c . || true; }
writes=0 failures=0
echo "soak: $KILLS kills with SIGKILL, resuming after each (random delays up to $((2 * EPOCH_MS + 3000)) ms; every third during a checkpoint write)"
for ((k = 1; k <= KILLS; k++)); do
  before=$(temp_files)
  start_training
  how=""
  if ((k % 3 == 0)); then
    # Wait (at most 60 s) for a new checkpoint or link being written, then kill at once.
    deadline=$(( $(date +%s) + 60 ))
    while kill -0 "$TRAIN_PID" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
      [ "$(new_temps "$before")" -gt 0 ] && { how="during a write"; break; }
      sleep 0.002
    done
  else
    delay_ms=$(( RANDOM % (2 * EPOCH_MS + 3000) + 300 ))
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    how="after ${delay_ms} ms"
  fi
  if ! kill -0 "$TRAIN_PID" 2>/dev/null; then
    wait "$TRAIN_PID" || true
    TRAIN_PID=""
    echo "  kill $k: the run finished first (raise EPOCHS); the soak ends here"
    break
  fi
  kill -KILL "$TRAIN_PID"
  temps=$(new_temps "$before")
  wait "$TRAIN_PID" 2>/dev/null || true
  TRAIN_PID=""
  [ "$temps" -gt 0 ] && writes=$((writes + 1))
  epoch=0
  [ -e "$RUN/last.safetensors" ] && epoch=$(metadata "$RUN/last.safetensors" | jq '.motive.epoch')
  printf '  kill %2d %-22s last checkpoint: epoch %2s%s\n' "$k" "$how" "$epoch" "$( [ "$temps" -gt 0 ] && echo "; killed while writing")"
  if ! check_run "$RUN"; then failures=$((failures + 1)); fi
done
KILLED=$((k - 1))
echo "finishing the run…"
start_training
wait "$TRAIN_PID" || { echo "FAIL: the resumed run did not finish:"; tail -n 5 "$WORK/soak.out"; TRAIN_PID=""; exit 1; }
TRAIN_PID=""
check_run "$RUN" || failures=$((failures + 1))

# --- Verdict -----------------------------------------------------------------------------------
result=0
for name in last.safetensors best.safetensors; do
  if same_checkpoint "$WORK/reference/$name" "$RUN/$name"; then
    echo "$name: tensors and metadata identical to the uninterrupted run's ($(stat -c %s "$RUN/$name") bytes)"
  else
    echo "$name: DIFFERS from the uninterrupted run's"; result=1
  fi
done
# Wall-clock columns (seconds, clips_per_s) differ between runs; every other one must agree.
if cmp -s <(cut -d, -f1-4,7-11 "$WORK/reference/metrics.csv") <(cut -d, -f1-4,7-11 "$RUN/metrics.csv"); then
  echo "metrics.csv: the same $(($(wc -l < "$RUN/metrics.csv") - 1)) epochs and figures as the uninterrupted run's"
else
  echo "metrics.csv differs from the uninterrupted run's:"; diff <(cut -d, -f1-4,7-11 "$WORK/reference/metrics.csv") <(cut -d, -f1-4,7-11 "$RUN/metrics.csv") | head -n 10; result=1
fi
leftovers=$(temp_files | grep -c . || true)
echo "kills: $KILLED ($writes while a checkpoint was being written); files found bad after a kill: $failures; temporary files left: $leftovers"
echo "time: $(( $(date +%s) - START )) s (uninterrupted run ${REFERENCE_SECONDS%.*} s)"
if [ "$result" = 0 ] && [ "$failures" = 0 ] && [ "$KILLED" -ge "$KILLS" ]; then
  echo "PASS: bit-exact resume after $KILLED kills, no corrupt file"
else
  KEEP=1
  echo "FAIL"
  exit 1
fi

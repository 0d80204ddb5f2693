#!/usr/bin/env bash
# Live labelling at real time: FFmpeg serves the synthetic sample video (Samples/zoom_in.mp4,
# 25 fps, looped) over TCP on loopback, paced at its frame rate (-re), for DURATION seconds, and
# `motive predict --stream` labels it. Reports the decision latency (p50, p99, max), the frames
# dropped, the decisions made, and the labeller's RSS (after WARMUP seconds, and at the end).
#
#   bash bench/live_stream.sh                                   # Models/default, window mode, 10 minutes
#   DURATION=60 MODEL=tsm_r50_tiny ARGS="--online" bash bench/live_stream.sh
#
# Environment: MOTIVE (default .build/release/motive), MODEL (default Models/default; a preset
# name labels with untrained weights, which costs the same), ARGS (extra `motive predict` flags;
# default "--window 2s --stride 0.5s"), DURATION (600), WARMUP (30), PORT (default: a free
# one), KEEP (1 keeps the work folder).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTIVE=${MOTIVE:-.build/release/motive}
MODEL=${MODEL:-Models/default}
ARGS=${ARGS:---window 2s --stride 0.5s}
DURATION=${DURATION:-600}
WARMUP=${WARMUP:-30}
KEEP=${KEEP:-0}
[ -x "$MOTIVE" ] || { echo "FAIL: no motive binary at $MOTIVE (run make release, or set MOTIVE)" >&2; exit 2; }
command -v ffmpeg >/dev/null && command -v jq >/dev/null || { echo "FAIL: this script needs ffmpeg and jq (make deps installs ffmpeg)" >&2; exit 2; }
[ "$DURATION" -gt "$WARMUP" ] || { echo "FAIL: DURATION must exceed WARMUP" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/motive-live.XXXXXX")
. bench/lib.sh
PORT=${PORT:-$(free_port)}
SERVER_PID="" LABELLER_PID=""
cleanup() {
  for pid in $LABELLER_PID $SERVER_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The source: the sample looped for DURATION seconds, at its frame rate, as MPEG-TS over TCP.
ffmpeg -v error -re -stream_loop -1 -i Samples/zoom_in.mp4 -t "$DURATION" -c copy -f mpegts "tcp://127.0.0.1:$PORT?listen=1" &
SERVER_PID=$!
sleep 0.5
# shellcheck disable=SC2086
"$MOTIVE" predict --model "$MODEL" --stream "tcp://127.0.0.1:$PORT" --top-k 1 $ARGS > "$WORK/decisions.jsonl" 2> "$WORK/labeller.err" &
LABELLER_PID=$!

rss() { awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$LABELLER_PID/status" 2>/dev/null || echo 0; }
START=$(date +%s)
RSS_WARM="" RSS_PEAK=0 RSS_END=0
while kill -0 "$LABELLER_PID" 2>/dev/null; do
  sleep 5
  now=$(( $(date +%s) - START ))
  r=$(rss)
  [ "$r" -gt 0 ] || continue
  RSS_END=$r
  [ "$r" -gt "$RSS_PEAK" ] && RSS_PEAK=$r
  [ -z "$RSS_WARM" ] && [ "$now" -ge "$WARMUP" ] && RSS_WARM=$r
  [ "$now" -gt $((DURATION + 60)) ] && { echo "FAIL: the labeller outlived its source by a minute" >&2; exit 1; }
done
wait "$LABELLER_PID" || { echo "FAIL: the labeller exited with an error:" >&2; cat "$WORK/labeller.err" >&2; exit 1; }
LABELLER_PID=""

N=$(wc -l < "$WORK/decisions.jsonl")
[ "$N" -gt 0 ] || { echo "FAIL: no decisions" >&2; cat "$WORK/labeller.err" >&2; exit 1; }
jq -r '.latency_ms' "$WORK/decisions.jsonl" | sort -g > "$WORK/latency.txt"
pct() { sed -n "$(( ( $1 * N + 99 ) / 100 ))p" "$WORK/latency.txt"; }
LAST=$(tail -n 1 "$WORK/decisions.jsonl")
TOP=$(jq -r '.labels[0].label' "$WORK/decisions.jsonl" | sort | uniq -c | sort -rn | head -n 1 | awk '{ print $2 " (" $1 ")" }')
printf 'model %s, %s, %s s of a 25 fps stream\n' "$MODEL" "$ARGS" "$DURATION"
printf 'decisions %d, stream time %.1f s, frames dropped %d\n' "$N" "$(jq -r '.t_end' <<< "$LAST")" "$(jq -r '.dropped' <<< "$LAST")"
printf 'latency ms: p50 %.1f, p99 %.1f, max %.1f\n' "$(pct 50)" "$(pct 99)" "$(tail -n 1 "$WORK/latency.txt")"
printf 'RSS MiB: after %d s %s, peak %d, at the end %d\n' "$WARMUP" "${RSS_WARM:-?}" "$RSS_PEAK" "$RSS_END"
printf 'most frequent top label: %s\n' "$TOP"

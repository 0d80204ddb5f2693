#!/usr/bin/env bash
# Memory soak for the daemon: REQUESTS predictions against a `motive serve` on loopback, one in
# five of them hostile (garbage bytes, a truncated video, an empty body, wrong content types, an
# oversized Content-Length, broken multipart bodies, bad query parameters), from CONCURRENCY
# clients. The daemon's RSS after all of them must stay within 10% of its RSS after the first
# 100; every good request must get the right label (zoom_in) and no request may get a 5xx or no
# answer.
#
#   bash bench/soak_memory.sh
#   REQUESTS=2000 CONCURRENCY=4 MOTIVE=.build/release/motive bash bench/soak_memory.sh
#
# Environment: MOTIVE (default .build/release/motive), REQUESTS (2000), CONCURRENCY (4),
# GROWTH_LIMIT (percent, 10), MAX_SECONDS (1200: the whole soak's limit), PORT (default: a free
# one), KEEP (1 keeps the work folder), WORK (default: a new folder under TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTIVE=${MOTIVE:-.build/release/motive}
REQUESTS=${REQUESTS:-2000}
CONCURRENCY=${CONCURRENCY:-4}
GROWTH_LIMIT=${GROWTH_LIMIT:-10}
MAX_SECONDS=${MAX_SECONDS:-1200}
KEEP=${KEEP:-0}
WARMUP=100
[ -x "$MOTIVE" ] || { echo "FAIL: no motive binary at $MOTIVE (run make release, or set MOTIVE)" >&2; exit 2; }
command -v jq >/dev/null && command -v curl >/dev/null || { echo "FAIL: this script needs jq and curl" >&2; exit 2; }
[ "$REQUESTS" -gt "$WARMUP" ] || { echo "FAIL: REQUESTS must exceed $WARMUP" >&2; exit 2; }
MOTIVE=$(realpath "$MOTIVE")
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/motive-soak-memory.XXXXXX")}
START=$(date +%s)
. bench/lib.sh
PORT=${PORT:-$(free_port)}
BASE="http://127.0.0.1:$PORT"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "$KEEP" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- Payloads ----------------------------------------------------------------------------------
P=$WORK/payloads
mkdir -p "$P"
cp Samples/zoom_in.mp4 "$P/video.mp4"
# 64 KB of fixed pseudo-random bytes (awk's generator with a fixed seed).
LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 65536; i++) printf "%c", int(rand() * 256) }' > "$P/garbage.bin"
head -c $(( $(stat -c %s "$P/video.mp4") / 2 )) "$P/video.mp4" > "$P/truncated.mp4"
: > "$P/empty.bin"
{ printf -- '--XyZ\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
  head -c 6000 "$P/video.mp4"; } > "$P/multipart_truncated.bin"
{ printf -- '--XyZ\r\nContent-Disposition: form-data; name="other"\r\n\r\nhello\r\n--XyZ--\r\n'; } > "$P/multipart_no_video.bin"
{ printf -- 'no boundary here at all\r\n'; cat "$P/garbage.bin"; } > "$P/multipart_garbage.bin"

# request N: sends request N and prints "N KIND STATUS VERDICT". Every fifth request is hostile,
# cycling through the kinds below; the others are the sample video, which must come back zoom_in.
HOSTILE=(garbage truncated empty text_plain form_urlencoded oversized_length multipart_truncated multipart_no_video
         multipart_garbage multipart_no_boundary top_k_zero top_k_text views_bad window_negative unknown_model stride_tiny)
request() {
  local n=$1 kind args=() code rc=0 verdict url="$BASE/v1/predict?top_k=1"
  if [ $((n % 5)) = 0 ]; then kind=${HOSTILE[$(( (n / 5) % ${#HOSTILE[@]} ))]}; else kind=good; fi
  local video=(-H 'Content-Type: video/mp4' --data-binary "@$P/video.mp4")
  case $kind in
    good) args=("${video[@]}") ;;
    garbage) args=(-H 'Content-Type: video/mp4' --data-binary "@$P/garbage.bin") ;;
    truncated) args=(-H 'Content-Type: video/mp4' --data-binary "@$P/truncated.mp4") ;;
    empty) args=(-H 'Content-Type: video/mp4' --data-binary "@$P/empty.bin") ;;
    text_plain) args=(-H 'Content-Type: text/plain' --data-binary "@$P/video.mp4") ;;
    form_urlencoded) args=(--data-binary "@$P/video.mp4") ;;
    oversized_length) args=(-H 'Content-Type: video/mp4' -H 'Content-Length: 99999999999' --data-binary "@$P/garbage.bin") ;;
    multipart_truncated) args=(-H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary "@$P/multipart_truncated.bin") ;;
    multipart_no_video) args=(-H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary "@$P/multipart_no_video.bin") ;;
    multipart_garbage) args=(-H 'Content-Type: multipart/form-data; boundary=XyZ' --data-binary "@$P/multipart_garbage.bin") ;;
    multipart_no_boundary) args=(-H 'Content-Type: multipart/form-data' --data-binary "@$P/multipart_truncated.bin") ;;
    top_k_zero) args=("${video[@]}"); url="$BASE/v1/predict?top_k=0" ;;
    top_k_text) args=("${video[@]}"); url="$BASE/v1/predict?top_k=abc" ;;
    views_bad) args=("${video[@]}"); url="$BASE/v1/predict?views=99x7" ;;
    window_negative) args=("${video[@]}"); url="$BASE/v1/predict?window=-1s" ;;
    unknown_model) args=("${video[@]}"); url="$BASE/v1/predict?model=no-such-model" ;;
    stride_tiny) args=("${video[@]}"); url="$BASE/v1/predict?window=1s&stride=1e-300s" ;;
  esac
  code=$(curl -s --max-time 30 -o "$WORK/body.$n" -w '%{http_code}' "${args[@]}" "$url") || rc=$?
  if [ "$kind" = good ]; then
    if [ "$code" = 200 ] && [ "$(jq -r '.labels[0].label' "$WORK/body.$n" 2>/dev/null)" = zoom_in ]; then verdict=ok; else verdict=bad; fi
  elif [ "$rc" = 0 ] && [[ "$code" == 4* ]]; then verdict=ok
  elif [ "$rc" = 0 ] && [ "$code" = 200 ] && [ "$kind" = truncated ]; then verdict=ok     # half a video may still decode
  else verdict=bad
  fi
  [ "$verdict" = ok ] || cp "$WORK/body.$n" "$WORK/bad.$n" 2>/dev/null || true
  rm -f "$WORK/body.$n"
  echo "$n $kind ${code:-000} $verdict"
}
export -f request
export BASE P WORK
export HOSTILE_LIST="${HOSTILE[*]}"

# --- The soak ----------------------------------------------------------------------------------
"$MOTIVE" serve --host 127.0.0.1 --port "$PORT" --models Models --state-dir "$WORK/state" --data-root "$WORK" \
  --max-upload-mb 20 --request-timeout 10 --log-level error > "$WORK/serve.out" 2> "$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 600); do grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$WORK/serve.out" || { echo "FAIL: the daemon did not start:"; tail -n 5 "$WORK/serve.log"; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
echo "daemon on $BASE, RSS at start $(rss_kb) kB; $REQUESTS requests ($((REQUESTS / 5)) hostile) from $CONCURRENCY clients"
# Each batch of requests runs under `timeout`, so that the whole soak stays within MAX_SECONDS.
run_requests() {
  seq "$1" "$2" | timeout $((START + MAX_SECONDS - $(date +%s))) xargs -P "$CONCURRENCY" -I{} \
    bash -c 'HOSTILE=($HOSTILE_LIST); request "$1"' _ {} >> "$WORK/results.txt"
}
: > "$WORK/results.txt"
run_requests 1 "$WARMUP"
RSS_WARM=$(rss_kb)
echo "RSS after the first $WARMUP: $RSS_WARM kB"
for from in $(seq $((WARMUP + 1)) 500 "$REQUESTS"); do
  to=$((from + 499 < REQUESTS ? from + 499 : REQUESTS))
  run_requests "$from" "$to"
  echo "RSS after $to: $(rss_kb) kB"
done
RSS_END=$(rss_kb)
HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
kill -0 "$SERVER_PID" 2>/dev/null || { echo "FAIL: the daemon died"; exit 1; }

# --- Verdict -----------------------------------------------------------------------------------
echo
echo "outcomes (kind, status, count):"
awk '{ print $2, $3 }' "$WORK/results.txt" | sort | uniq -c | awk '{ printf "  %-24s %s %6d\n", $2, $3, $1 }'
done_count=$(wc -l < "$WORK/results.txt")
bad=$(awk '$4 != "ok"' "$WORK/results.txt" | wc -l)
hostile=$(awk '$2 != "good"' "$WORK/results.txt" | wc -l)
growth=$(echo "scale=2; ($RSS_END - $RSS_WARM) * 100 / $RSS_WARM" | bc)
echo "requests: $done_count ($hostile hostile); wrong answers, 5xx or no answer: $bad"
echo "RSS: $RSS_WARM kB after the first $WARMUP, $RSS_END kB after $done_count ($growth%); peak $HWM kB"
echo "time: $(( $(date +%s) - START )) s"
result=0
[ "$done_count" = "$REQUESTS" ] || { echo "only $done_count of $REQUESTS requests ran within ${MAX_SECONDS} s"; result=1; }
[ "$bad" = 0 ] || { awk '$4 != "ok"' "$WORK/results.txt" | head -n 10; result=1; }
[ "$(echo "$growth <= $GROWTH_LIMIT" | bc)" = 1 ] || { echo "RSS grew by more than $GROWTH_LIMIT%"; result=1; }
if [ "$result" = 0 ]; then
  echo "PASS: RSS within $GROWTH_LIMIT% of its level after $WARMUP requests, every answer right or a clean 4xx"
else
  KEEP=1
  echo "FAIL"
  exit 1
fi

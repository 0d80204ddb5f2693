#!/usr/bin/env bash
# Two `motive serve` replicas behind Debian's nginx on loopback, with a config made from
# docker/nginx.conf (the upstream addresses, the listen port and nginx's own folders substituted):
#   1. predictions through nginx reach both replicas (each one's /metrics count of answered
#      predictions grows), and the client's X-Request-Id reaches the replica and comes back;
#   2. CLIENTS clients post Samples/zoom_in.mp4 PER_CLIENT times each through nginx, and the second
#      replica is killed with SIGKILL once a third of them are answered: every request must still
#      be answered 200 with the sample's label (nginx resends the failed ones to the first replica,
#      proxy_next_upstream), and nginx must have resent at least one;
#   3. the killed replica restarts on its port and state folder, and nginx sends it predictions again.
# Prints requests, errors, p50 and p99 latency of the load. Exits non-zero on any failure.
#
#   bash Tests/Scripts/replicas.sh                  # make test-replicas builds first, then runs this
#   MOTIVE=.build/release/motive CLIENTS=16 PER_CLIENT=12 bash Tests/Scripts/replicas.sh
#
# Environment: MOTIVE (default: the release build's bin path, as `make test` builds it), CLIENTS
# (16), PER_CLIENT (12), MAX_SECONDS (150: the whole run's limit), KEEP (1 keeps the work folder).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/lib.sh

CLIENTS=${CLIENTS:-16}
PER_CLIENT=${PER_CLIENT:-12}
MAX_SECONDS=${MAX_SECONDS:-150}
KEEP=${KEEP:-0}
MOTIVE=${MOTIVE:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/motive}
[ -x "$MOTIVE" ] || { echo "FAIL: no motive binary at $MOTIVE (make test builds it; or set MOTIVE)" >&2; exit 2; }
for tool in nginx curl ss; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "FAIL: this test needs $tool (make deps installs it)" >&2; exit 2; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
MOTIVE=$(realpath "$MOTIVE")
VIDEO=$(realpath Samples/zoom_in.mp4)
MODELS=$(realpath Models)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/motive-replicas.XXXXXX")
DEADLINE=$(($(date +%s) + MAX_SECONDS))
PIDS=()                   # replica pids by number (1, 2)
NGINX_PID=""
CLIENT_PIDS=()            # each client leads a process group of its own (its curl included)
cleanup() {
  local pid
  for pid in "${CLIENT_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}" $NGINX_PID; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${PIDS[@]}" $NGINX_PID; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$WORK/nginx/error.log" ] && tail -n 5 "$WORK/nginx/error.log" >&2; exit 1; }
now() { date +%s; }

# --- Replicas ----------------------------------------------------------------------------------
PORTS=("" "$(free_port)" "$(free_port)")
[ "${PORTS[1]}" != "${PORTS[2]}" ] || fail "free_port gave the same port twice"
start_replica() {  # $1: replica number; its own state folder, the shared models folder
  local n=$1 log
  log="$WORK/replica-$n.$(date +%s%N).out"
  mkdir -p "$WORK/state-$n" "$WORK/data"
  "$MOTIVE" serve --host 127.0.0.1 --port "${PORTS[$n]}" --models "$MODELS" --state-dir "$WORK/state-$n" \
    --data-root "$WORK/data" --inference-threads 1 --log-level warning > "$log" 2> "$WORK/replica-$n.log" &
  PIDS[n]=$!
  for _ in $(seq 1 600); do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    kill -0 "${PIDS[n]}" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 5 "$WORK/replica-$n.log" >&2
  fail "replica $n did not start"
}
# Predictions a replica has answered 200 since it started, from its own /metrics.
answered() {
  { curl -s --max-time 5 "http://127.0.0.1:${PORTS[$1]}/metrics" || true; } |
    awk '/^motive_http_requests_total\{/ && /route="\/v1\/predict"/ && /status="200"/ { n += $NF } END { print n + 0 }'
}

# --- nginx -------------------------------------------------------------------------------------
PROXY_PORT=$(free_port)
for _ in $(seq 1 10); do
  case "$PROXY_PORT" in "${PORTS[1]}" | "${PORTS[2]}") PROXY_PORT=$(free_port) ;; *) break ;; esac
done
BASE="http://127.0.0.1:$PROXY_PORT"
start_nginx() {
  local dir="$WORK/nginx"
  mkdir -p "$dir"
  # The server blocks of docker/nginx.conf, pointed at the loopback replicas.
  sed -e "s/motive-1:8080/127.0.0.1:${PORTS[1]}/" -e "s/motive-2:8080/127.0.0.1:${PORTS[2]}/" \
      -e "s/listen 80;/listen 127.0.0.1:$PROXY_PORT;/" docker/nginx.conf > "$dir/motive.conf"
  for want in "127.0.0.1:${PORTS[1]}" "127.0.0.1:${PORTS[2]}" "listen 127.0.0.1:$PROXY_PORT;"; do
    grep -qF "$want" "$dir/motive.conf" || fail "docker/nginx.conf no longer has what this script substitutes ($want)"
  done
  # nginx's own files in the work folder. Run by root (as in CI), its workers would drop to
  # `nobody`, who cannot use the work folder; `user` only means anything to a root master.
  {
    [ "$(id -u)" = 0 ] && echo "user root;"
    echo "worker_processes 2;"
    echo "pid $dir/nginx.pid;"
    echo "error_log $dir/error.log error;"
    echo "events { worker_connections 512; }"
    echo "http {"
    echo "  log_format replicas '\$status \$upstream_addr \$upstream_status \$request_time';"
    echo "  access_log $dir/access.log replicas;"
    for temp in client_body proxy fastcgi uwsgi scgi; do echo "  ${temp}_temp_path $dir/$temp;"; done
    echo "  include $dir/motive.conf;"
    echo "}"
  } > "$dir/nginx.conf"
  "$NGINX" -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" || fail "nginx refuses the generated config ($dir/nginx.conf)"
  "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$BASE/healthz")" = 200 ] && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail "nginx did not answer on $BASE"
}

# One prediction through nginx: prints "STATUS SECONDS LABEL" (STATUS 000 when nothing answered).
predict() {
  local body line label=""
  body=$(mktemp "$WORK/body.XXXXXX")
  line=$(curl -s --max-time 60 -o "$body" -w '%{http_code} %{time_total}' --data-binary "@$VIDEO" \
    -H 'Content-Type: video/mp4' "$BASE/v1/predict?top_k=1") || true
  label=$(grep -o '"label":"[^"]*"' "$body" | head -n 1 | cut -d'"' -f4 || true)
  rm -f "$body"
  echo "${line:-000 0} ${label:-none}"
}

start_replica 1
start_replica 2
start_nginx
echo "replicas on 127.0.0.1:${PORTS[1]} and :${PORTS[2]}, nginx on $BASE (work folder $WORK)"

# --- 1. Spread -------------------------------------------------------------------------------
for _ in $(seq 1 8); do
  read -r code _ label <<<"$(predict)"
  [ "$code" = 200 ] && [ "$label" = zoom_in ] || fail "a prediction through nginx answered $code ($label)"
done
one=$(answered 1) two=$(answered 2)
echo "spread: 8 predictions through nginx, replica 1 answered $one, replica 2 answered $two"
[ "$one" -ge 1 ] && [ "$two" -ge 1 ] || fail "predictions were not spread over both replicas"
# nginx passes the client's X-Request-Id on, and makes one when there is none.
sent_id=$(curl -s --max-time 10 -H 'X-Request-Id: replicas-test-1' "$BASE/healthz" -D - -o /dev/null | tr -d '\r' |
  awk -F': ' 'tolower($1) == "x-request-id" { print $2 }')
made_id=$(curl -s --max-time 10 "$BASE/healthz" -D - -o /dev/null | tr -d '\r' | awk -F': ' 'tolower($1) == "x-request-id" { print $2 }')
echo "request ids: sent replicas-test-1, answered $sent_id; sent none, answered $made_id"
[ "$sent_id" = replicas-test-1 ] || fail "nginx replaced the client's X-Request-Id with '$sent_id'"
[[ "$made_id" =~ ^[0-9a-f]{32}$ ]] || fail "a request without X-Request-Id came back with '$made_id'"

# --- 2. Load, and a replica killed in the middle ------------------------------------------------
TOTAL=$((CLIENTS * PER_CLIENT))
client() {  # $1: client number; one line per request in $WORK/client.$1
  for _ in $(seq 1 "$PER_CLIENT"); do
    [ "$(now)" -lt "$DEADLINE" ] || break
    predict >> "$WORK/client.$1"
  done
}
done_so_far() { cat "$WORK"/client.* 2>/dev/null | wc -l; }
set -m                    # job control: every client a process group, which cleanup can end whole
for c in $(seq 1 "$CLIENTS"); do
  client "$c" &
  CLIENT_PIDS+=($!)
done
set +m
while [ "$(done_so_far)" -lt $((TOTAL / 3)) ] && [ "$(now)" -lt "$DEADLINE" ]; do sleep 0.1; done
killed_after=$(done_so_far)
kill -KILL "${PIDS[2]}"
wait "${PIDS[2]}" 2>/dev/null || true
echo "load: $CLIENTS clients × $PER_CLIENT predictions; replica 2 killed (SIGKILL) after $killed_after answers"
for pid in "${CLIENT_PIDS[@]}"; do wait "$pid"; done
answers=$(cat "$WORK"/client.*)
requests=$(wc -l <<<"$answers")
errors=$(awk '$1 != 200 || $3 != "zoom_in"' <<<"$answers" | wc -l)
after_kill=$((requests - killed_after))
resent=$(awk '$2 ~ /,/' "$WORK/nginx/access.log" | wc -l)
read -r p50 p99 < <(awk '{ print $2 }' <<<"$answers" | sort -n |
  awk '{ t[NR] = $1 } END { i50 = int(NR * 0.50 + 0.999); i99 = int(NR * 0.99 + 0.999); printf "%.3f %.3f\n", t[i50], t[i99] }')
echo "summary: requests $requests, errors $errors, p50 ${p50} s, p99 ${p99} s, answered after the kill $after_kill," \
  "resent by nginx to the other replica $resent"
awk '$1 != 200 || $3 != "zoom_in"' <<<"$answers" | sort | uniq -c | head -n 5
[ "$requests" = "$TOTAL" ] || fail "only $requests of $TOTAL requests were sent within ${MAX_SECONDS} s"
[ "$errors" = 0 ] || fail "$errors requests failed or were mislabelled"
[ "$after_kill" -gt 0 ] || fail "the load ended before the kill"
[ "$resent" -ge 1 ] || fail "nginx resent no request, so the kill tested nothing"

# --- 3. The killed replica rejoins ---------------------------------------------------------------
start_replica 2
[ "$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "http://127.0.0.1:${PORTS[2]}/healthz")" = 200 ] ||
  fail "the restarted replica is not healthy"
sent=0
while [ "$(answered 2)" -lt 2 ] && [ "$sent" -lt 60 ] && [ "$(now)" -lt "$DEADLINE" ]; do
  read -r code _ label <<<"$(predict)"
  [ "$code" = 200 ] && [ "$label" = zoom_in ] || fail "a prediction after the restart answered $code ($label)"
  sent=$((sent + 1))
  sleep 0.2
done
two=$(answered 2)
echo "rejoin: after $sent predictions through nginx, the restarted replica answered $two"
[ "$two" -ge 2 ] || fail "the restarted replica got no predictions from nginx"
echo "PASS"

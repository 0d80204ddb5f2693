#!/usr/bin/env bash
# Two hosts on one machine: two network namespaces joined by a veth pair, `mpirun` across them
# with a hostfile, so that MPI's traffic crosses a real network interface. Trains the same job
# as one process and as two (one per namespace) at the same per-process batch, and reports
# clips/s, the scaling efficiency, the bytes that crossed the veth per step against the
# gradient's bytes, and the per-step compute and communication times (docs/scaling.md).
#
#   bash bench/mpi_two_hosts.sh                  # as root: namespaces need CAP_NET_ADMIN
#   MODEL=r2plus1d_34_tiny EPOCHS=4 bash bench/mpi_two_hosts.sh
#
# There is no ssh: mpirun reaches the second namespace through a launch agent this script
# writes (`--mca plm_rsh_agent`), which runs the command with `ip netns exec`. Both namespaces
# share this machine's cores, so every measured process is pinned to one core and sees one core
# (`taskset`, and /sys/devices/system/cpu/online bound over with "N" in a private mount
# namespace, so that Motive's kernel threads = 1): one core stands for one machine.
#
# Environment: MOTIVE (default .build/release/motive), MODEL (r2plus1d_18_tiny), EPOCHS (4;
# the first is skipped in the medians), BATCH (4, per process), VIDEOS (16 per class, 10
# classes, a fifth held out), SIZE (64: the crop's side; the videos are 5/4 of it), REPEATS (20
# timed allreduces), FULL (tsn_r50 r2plus1d_18: presets whose gradient's allreduce alone is also
# timed; empty for none), KEEP (1 keeps the work folder), WORK (default: a new folder under TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTIVE=${MOTIVE:-.build/release/motive}
MODEL=${MODEL:-r2plus1d_18_tiny}
EPOCHS=${EPOCHS:-4}
BATCH=${BATCH:-4}
VIDEOS=${VIDEOS:-16}
REPEATS=${REPEATS:-20}
FULL=${FULL-tsn_r50 r2plus1d_18}
SIZE=${SIZE:-64}
KEEP=${KEEP:-0}
[ "$(id -u)" = 0 ] || { echo "FAIL: network namespaces need root" >&2; exit 2; }
[ -x "$MOTIVE" ] || { echo "FAIL: no motive binary at $MOTIVE (run make release, or set MOTIVE)" >&2; exit 2; }
for tool in mpirun mpicc ip jq taskset unshare; do
  command -v "$tool" >/dev/null || { echo "FAIL: this script needs $tool (make deps; apt-get install iproute2 jq)" >&2; exit 2; }
done
[ "$EPOCHS" -ge 2 ] || { echo "FAIL: EPOCHS must be at least 2 (the first is skipped)" >&2; exit 2; }
MOTIVE=$(realpath "$MOTIVE")
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/motive-mpi-two-hosts.XXXXXX")}
mkdir -p "$WORK"

# Names carry this shell's pid, so that two runs (or a leftover) never collide.
NS_A=motive-a-$$ NS_B=motive-b-$$ VETH_A=mva$$ VETH_B=mvb$$
NET=10.77.$(($$ % 250)) ADDR_A=$NET.1 ADDR_B=$NET.2
CREATED=0
RUN_PID=""

cleanup() {
  local rc=$? ns pid
  if [ -n "$RUN_PID" ] && kill -0 "$RUN_PID" 2>/dev/null; then kill -KILL "$RUN_PID" 2>/dev/null || true; wait "$RUN_PID" 2>/dev/null || true; fi
  if [ "$CREATED" = 1 ]; then
    # mpirun's daemon (orted) daemonizes in the second namespace; anything still in either
    # namespace was started by this script.
    for ns in "$NS_A" "$NS_B"; do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns delete "$ns" 2>/dev/null || true
    done
    ip link delete "$VETH_A" 2>/dev/null || true   # gone with its namespace; this is in case it never moved
  fi
  if [ "$KEEP" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk '$1 > 0.5 { print "warning: the load average is " $1 " before the bench starts; another job shares the cores, so the figures will be noisy" }' /proc/loadavg
echo "model $MODEL, batch $BATCH per process, $EPOCHS epochs (medians skip the first)"

# --- Two hosts ---------------------------------------------------------------------------------
CREATED=1
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "$VETH_A" type veth peer name "$VETH_B"
ip link set "$VETH_A" netns "$NS_A"
ip link set "$VETH_B" netns "$NS_B"
ip -n "$NS_A" addr add "$ADDR_A/24" dev "$VETH_A"
ip -n "$NS_B" addr add "$ADDR_B/24" dev "$VETH_B"
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
ip -n "$NS_A" link set "$VETH_A" up
ip -n "$NS_B" link set "$VETH_B" up
echo "hosts: $NS_A $ADDR_A ($VETH_A) <-> $NS_B $ADDR_B ($VETH_B), MTU $(ip -n "$NS_A" -o link show "$VETH_A" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"

# The launch agent: mpirun calls it as `AGENT [options] HOST COMMAND...`, as it would call ssh.
cat > "$WORK/agent.sh" <<AGENT
#!/bin/sh
while [ "\${1#-}" != "\$1" ]; do shift; done
host=\$1; shift
case \$host in
  $ADDR_A) ns=$NS_A ;;
  $ADDR_B) ns=$NS_B ;;
  *) echo "agent: no namespace for host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
# One core per process: pinned to core CPU (default: the MPI rank), and seeing one core online.
echo 0 > "$WORK/one-core"
cat > "$WORK/one_core.sh" <<WRAP
#!/bin/sh
cpu=\${CPU:-\${OMPI_COMM_WORLD_RANK:-0}}
exec unshare -m /bin/sh -c 'mount --bind "\$0" /sys/devices/system/cpu/online && cpu=\$1 && shift && exec taskset -c "\$cpu" "\$@"' "$WORK/one-core" "\$cpu" "\$@"
WRAP
chmod +x "$WORK/agent.sh" "$WORK/one_core.sh"
printf '%s slots=1\n%s slots=1\n' "$ADDR_A" "$ADDR_B" > "$WORK/hosts"
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none --hostfile "$WORK/hosts"
  --mca plm_rsh_agent "$WORK/agent.sh" --mca plm_rsh_no_tree_spawn 1
  --mca btl tcp,self --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24")

veth_bytes() { echo $(( $(ip netns exec "$NS_A" cat "/sys/class/net/$VETH_A/statistics/tx_bytes") + $(ip netns exec "$NS_A" cat "/sys/class/net/$VETH_A/statistics/rx_bytes") )); }

# --- Data and job ------------------------------------------------------------------------------
"$MOTIVE" dataset synth --out "$WORK/data" --per-class "$VIDEOS" --frames 16 --size $((SIZE * 5 / 4)) --seed 5 >/dev/null
TRAIN_VIDEOS=$(wc -l < "$WORK/data/train.txt")
cat > "$WORK/job.yaml" <<YAML
model: {preset: $MODEL}
data:
  train_list: $WORK/data/train.txt
  batch_size: $BATCH
  workers: 2
  train_pipeline:
    transforms: [{resize_short_side: {side: $((SIZE * 8 / 7))}}, {multi_scale_crop: {input_size: $SIZE, scales: [1, 0.875], random_crop: true}}, {resize: {size: $SIZE}}]
    normalization: kinetics
optimizer: {type: adamw, lr: 0.001}
schedule: {epochs: $EPOCHS, policy: cosine}
train: {seed: 0}
output: {dir: $WORK/unused, keep_last: 1}
YAML
"$MOTIVE" models > "$WORK/models.txt"
# gradient_bytes PRESET: parameters × 4 (float32), from motive models' millions.
gradient_bytes() {
  local m; m=$(awk -v m="$1" '$1 == m { print $2 }' "$WORK/models.txt")
  [ -n "$m" ] || { echo "FAIL: motive models does not list $1" >&2; exit 2; }
  echo "$m * 1000000 * 4 / 1" | bc
}
PARAMS_M=$(awk -v m="$MODEL" '$1 == m { print $2 }' "$WORK/models.txt")
GRAD_BYTES=$(gradient_bytes "$MODEL")

# --- Runs --------------------------------------------------------------------------------------
# run NAME COMMAND...: trains in the background (so that the trap can end it), fails loudly.
run() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  "$@" > "$WORK/$name.out" 2>&1 &
  RUN_PID=$!
  wait "$RUN_PID" || { echo "FAIL: $name exited with $?; its output ends:" >&2; tail -20 "$WORK/$name.out" >&2; exit 1; }
  RUN_PID=""
  echo "  $name: $(( $(date +%s) - t0 )) s"
}
# median_epoch RUN FIELD: the median of FIELD over the epoch events after the first.
median_epoch() {
  jq -s --arg f "$2" '[.[] | select(.event == "epoch" and .epoch > 1) | .[$f]] | sort
    | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end' "$WORK/$1/log.jsonl"
}
# batches RUN: one process's optimizer steps per epoch.
batches() { jq -s '[.[] | select(.event == "step") | .batches] | max' "$WORK/$1/log.jsonl"; }

echo "training ($TRAIN_VIDEOS train videos, gradient $PARAMS_M M parameters = $GRAD_BYTES bytes)…"
run one_2cores ip netns exec "$NS_A" "$MOTIVE" train "$WORK/job.yaml" --out "$WORK/one_2cores"
run one_1core ip netns exec "$NS_A" env CPU=0 "$WORK/one_core.sh" "$MOTIVE" train "$WORK/job.yaml" --out "$WORK/one_1core"
before=$(veth_bytes)
run two_hosts ip netns exec "$NS_A" "${MPIRUN[@]}" -np 2 "$WORK/one_core.sh" "$MOTIVE" train "$WORK/job.yaml" --out "$WORK/two_hosts"
TRAIN_VETH=$(( $(veth_bytes) - before ))
grep -q "2 processes" "$WORK/two_hosts/log.jsonl" || { echo "FAIL: the two-host run did not train on 2 processes" >&2; exit 1; }

# An allreduce of the gradient's size alone, as Motive sends it (16 MB buckets, all started
# before the first is waited for), over the same veth: the communication time without compute.
cat > "$WORK/allreduce.c" <<'C'
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  long n = atol(argv[1]) / 4, bucket = 16L * 1024 * 1024 / 4; int repeats = atoi(argv[2]), rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  float *g = calloc(n, sizeof(float)); long buckets = (n + bucket - 1) / bucket;
  MPI_Request *req = malloc(buckets * sizeof(MPI_Request)); double *t = malloc(repeats * sizeof(double));
  for (int r = -3; r < repeats; r++) {
    MPI_Barrier(MPI_COMM_WORLD); double t0 = MPI_Wtime();
    for (long b = 0; b < buckets; b++) {
      long lo = b * bucket, len = (lo + bucket < n ? bucket : n - lo);
      MPI_Iallreduce(MPI_IN_PLACE, g + lo, (int)len, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req[b]);
    }
    MPI_Waitall((int)buckets, req, MPI_STATUSES_IGNORE);
    if (r >= 0) t[r] = MPI_Wtime() - t0;
  }
  qsort(t, repeats, sizeof(double), cmp);
  if (rank == 0) printf("%.6f\n", t[repeats / 2]);
  MPI_Finalize(); return 0;
}
C
mpicc -O2 -o "$WORK/allreduce" "$WORK/allreduce.c"
before=$(veth_bytes)
run allreduce ip netns exec "$NS_A" "${MPIRUN[@]}" -np 2 "$WORK/one_core.sh" "$WORK/allreduce" "$GRAD_BYTES" "$REPEATS"
ALLREDUCE_VETH=$(( $(veth_bytes) - before ))
ALLREDUCE_S=$(tail -1 "$WORK/allreduce.out")
FULL_ROWS=""
for preset in $FULL; do
  bytes=$(gradient_bytes "$preset")
  run "allreduce_$preset" ip netns exec "$NS_A" "${MPIRUN[@]}" -np 2 "$WORK/one_core.sh" "$WORK/allreduce" "$bytes" 5
  s=$(tail -1 "$WORK/allreduce_$preset.out")
  FULL_ROWS+="| $preset | $bytes | $(printf %.3f "$s") | $(printf %.2f "$(echo "$bytes * 8 / $s / 1000000000" | bc -l)") |"$'\n'
done

# --- Figures -----------------------------------------------------------------------------------
C2=$(median_epoch one_2cores clips_per_s)
C1=$(median_epoch one_1core clips_per_s)
CM=$(median_epoch two_hosts clips_per_s)
S1=$(median_epoch one_1core seconds)
SM=$(median_epoch two_hosts seconds)
B1=$(batches one_1core)
BM=$(batches two_hosts)
STEPS=$(( EPOCHS * BM ))
f() { printf "%.${2:-3}f" "$1"; }
STEP1=$(echo "$S1 / $B1" | bc -l)
STEP2=$(echo "$(median_epoch one_2cores seconds) / $(batches one_2cores)" | bc -l)
STEPM=$(echo "$SM / $BM" | bc -l)
COMM=$(echo "$STEPM - $STEP1" | bc -l)
EFF=$(echo "$CM / (2 * $C1)" | bc -l)
PER_STEP=$(echo "$TRAIN_VETH / $STEPS" | bc -l)
PER_ALLREDUCE=$(echo "$ALLREDUCE_VETH / ($REPEATS + 3)" | bc -l)

echo
echo "| run | processes × cores | clips/s | s per step (one process, batch $BATCH) |"
echo "|---|---|---|---|"
echo "| one process, one core (the per-machine baseline) | 1 × 1 | $(f "$C1" 1) | $(f "$STEP1") |"
echo "| two namespaces over the veth | 2 × 1 | $(f "$CM" 1) | $(f "$STEPM") |"
echo "| one process, both cores (for reference) | 1 × 2 | $(f "$C2" 1) | $(f "$STEP2") |"
echo
echo "scaling efficiency = clips/s(2 × 1 core) / (2 × clips/s(1 × 1 core)) = $(f "$CM" 1) / (2 × $(f "$C1" 1)) = $(f "$EFF" 2)"
echo "two processes against one process on the same two cores: $(f "$(echo "$CM / $C2" | bc -l)" 2)×"
echo "per step: compute $(f "$STEP1") s (one core, batch $BATCH); communication $(f "$COMM") s (two-process step − one-process step)"
echo "allreduce of the gradient alone over the veth: $(f "$ALLREDUCE_S" 4) s for $GRAD_BYTES bytes ($(f "$(echo "$GRAD_BYTES * 8 / $ALLREDUCE_S / 1000000000" | bc -l)" 2) Gbit/s of gradient)"
echo "veth bytes (both directions) per training step: $(f "$PER_STEP" 0) = $(f "$(echo "$PER_STEP / $GRAD_BYTES" | bc -l)" 2) × the gradient's $GRAD_BYTES bytes (a 2-process allreduce sends G each way);"
echo "  per allreduce alone: $(f "$PER_ALLREDUCE" 0) = $(f "$(echo "$PER_ALLREDUCE / $GRAD_BYTES" | bc -l)" 2) × G"
if [ -n "$FULL_ROWS" ]; then
  echo
  echo "| allreduce alone, 2 processes over the veth | gradient bytes | s (median of 5) | Gbit/s of gradient |"
  echo "|---|---|---|---|"
  printf '| %s (trained above) | %s | %.3f | %.2f |\n' "$MODEL" "$GRAD_BYTES" "$ALLREDUCE_S" "$(echo "$GRAD_BYTES * 8 / $ALLREDUCE_S / 1000000000" | bc -l)"
  printf '%s' "$FULL_ROWS"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "note: both namespaces share this machine's $(nproc) cores; each measured process has one, so one core stands for one machine"

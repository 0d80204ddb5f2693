#!/usr/bin/env bash
# Runs fuzz targets built by `make fuzz`, one after another, each for SECONDS under ASan, from its
# committed seeds (Tests/Fuzz/<target>, read only) plus the inputs earlier runs found
# (.build-fuzz/corpus/<target>, where new ones are written). Every target runs even after one
# fails; the run fails if any crashed, hung or ran out of memory, and prints the reproducers
# (.build-fuzz/artifacts/<target>/…) and the end of each failing log.
# Usage: Fuzz/run.sh SECONDS TARGET…
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=$1
shift
scratch=.build-fuzz
bin=$scratch/debug
mkdir -p "$scratch/logs"
# Swift's backtracer would wait on a process libFuzzer is already tearing down, so it is off: the
# sanitizer prints the stack. Leaks are not checked: the Swift runtime's caches look like leaks.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=detect_leaks=0:handle_abort=1:handle_sigill=1
failed=()
for target in "$@"; do
    corpus=$scratch/corpus/$target artifacts=$scratch/artifacts/$target log=$scratch/logs/$target.log
    mkdir -p "$corpus" "$artifacts"
    # -timeout: one input that runs longer is a hang. The outer timeout only guards the driver.
    timeout -k 10 $((seconds + 120)) "$bin/fuzz-$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "Tests/Fuzz/$target" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "fuzz-$target: ${runs:-?} runs, ${speed:-?}/s, ${coverage:-cov: ?}, exit $status"
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        tail -n 40 "$log"
        grep -o 'Test unit written to .*' "$log" | sed 's/^Test unit written to /reproducer: /'
        [ "$status" -eq 124 ] && echo "fuzz-$target did not stop: see $log"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]} (logs in $scratch/logs)"
    exit 1
fi

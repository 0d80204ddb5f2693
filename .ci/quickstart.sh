#!/usr/bin/env bash
# Runs the README's quickstart as written: the fenced `sh` block under "## Quickstart". A line
# that starts the daemon (`make serve`) runs in the background until it listens; every other line
# runs in order and must succeed; `make test` is skipped (CI has just run it). A `curl` on a
# sample video must answer with that sample's own class (Samples/NAME.mp4 is of class NAME) as its
# best label. Bounded: the daemon gets 30 minutes to build and listen, each command 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
block=$(awk '/^## Quickstart/ {q = 1; next} q && /^```sh/ {b = 1; next} b && /^```/ {exit} b' README.md)
[ -n "$block" ] || { echo "quickstart: no sh block under ## Quickstart in README.md" >&2; exit 1; }
log=$(mktemp -t motive-quickstart.XXXXXX)
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill -TERM -- "-$server" 2>/dev/null || true      # the daemon's whole process group (setsid)
        wait "$server" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap cleanup EXIT
ran=0
while IFS= read -r line; do
    [ -n "$line" ] || continue
    case "$line" in
    "make test") echo "quickstart: skipping '$line' (CI runs it)"; continue ;;
    "make serve")
        echo "quickstart: $line (background)"
        setsid bash -c "$line" >"$log" 2>&1 &
        server=$!
        for _ in $(seq 1 1800); do
            grep -q "listening on" "$log" && break
            kill -0 "$server" 2>/dev/null || { cat "$log" >&2; echo "quickstart: '$line' exited before listening" >&2; exit 1; }
            sleep 1
        done
        grep -q "listening on" "$log" || { tail -20 "$log" >&2; echo "quickstart: '$line' did not listen within 30 minutes" >&2; exit 1; }
        ;;
    *)
        echo "quickstart: $line"
        out=$(timeout 120 bash -c "$line")
        echo "$out"
        sample=$(grep -o 'Samples/[A-Za-z0-9_]*\.mp4' <<<"$line" | head -n 1 || true)
        if [ -n "$sample" ]; then
            want=$(basename "$sample" .mp4)
            # Labels come best first, and the daemon writes each label's keys sorted.
            got=$(grep -o '"label":"[^"]*"' <<<"$out" | head -n 1 | cut -d'"' -f4)
            [ "$got" = "$want" ] || { echo "quickstart: $sample labelled '$got', expected '$want'" >&2; exit 1; }
        fi
        ;;
    esac
    ran=$((ran + 1))
done <<<"$block"
[ "$ran" -ge 2 ] || { echo "quickstart: ran only $ran commands" >&2; exit 1; }
echo "quickstart: all $ran commands succeeded"

#!/usr/bin/env bash
# Mutation fuzzing of whole videos: makes COUNT mutated videos from seeds of every supported codec
# and container (bit flips, truncations, duplicated chunks, zeroed ranges; deterministic for a
# given FUZZ_SEED), runs `motive probe`, `motive frames` and `motive predict --model
# Models/default` on each under a timeout and an RSS watch, and counts the outcomes: clean
# success, clean error (non-zero exit with a message), crash (killed by a signal), hang
# (timeout) and memory over the limit. PASS means no crash, no hang, no memory blow-up and no
# error without a message.
#
#   bash bench/fuzz_videos.sh
#   COUNT=1000 JOBS=2 TIMEOUT=60 FUZZ_SEED=1 MOTIVE=.build/release/motive bash bench/fuzz_videos.sh
#
# Seeds come from the `ffmpeg` CLI (installed with apt-get when missing and we are root; set
# INSTALL_FFMPEG=0 not to), else from `motive dataset synth --codec …` alone, which is said.
# Environment: MOTIVE (default .build/release/motive), COUNT (1000), JOBS (parallel videos, 2),
# TIMEOUT (seconds per command, 60), MEM_LIMIT_MB (2048), FUZZ_SEED (1), KEEP (1 keeps the work
# folder), WORK (the work folder; default a new one under TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTIVE=${MOTIVE:-.build/release/motive}
COUNT=${COUNT:-1000}
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-60}
MEM_LIMIT_MB=${MEM_LIMIT_MB:-2048}
FUZZ_SEED=${FUZZ_SEED:-1}
INSTALL_FFMPEG=${INSTALL_FFMPEG:-1}
KEEP=${KEEP:-0}
MODEL=${MODEL:-Models/default}
[ -x "$MOTIVE" ] || { echo "FAIL: no motive binary at $MOTIVE (run make release, or set MOTIVE)" >&2; exit 2; }
MOTIVE=$(realpath "$MOTIVE")
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/motive-fuzz.XXXXXX")}
mkdir -p "$WORK/seeds" "$WORK/mutants" "$WORK/results"
cleanup() { if [ "$KEEP" = 1 ]; then echo "work folder kept: $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
START=$(date +%s)

# --- Seeds -------------------------------------------------------------------------------------
if ! command -v ffmpeg >/dev/null && [ "$INSTALL_FFMPEG" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing the ffmpeg CLI for the seeds (apt-get)…"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg; } >/dev/null 2>&1 || echo "  apt-get could not install ffmpeg"
fi

# seed NAME FFMPEG-ARGS…: one generated clip; a seed the local ffmpeg cannot make is skipped, and said.
seed() {
  local name=$1; shift
  if ffmpeg -hide_banner -loglevel error -y "$@" "$WORK/seeds/$name" </dev/null 2>"$WORK/seeds/$name.err"; then
    rm -f "$WORK/seeds/$name.err"
  else
    echo "  seed $name skipped: $(head -c 200 "$WORK/seeds/$name.err")"; rm -f "$WORK/seeds/$name" "$WORK/seeds/$name.err"
  fi
}
SRC=(-f lavfi -i "testsrc2=size=96x64:rate=25:duration=1.6")
if command -v ffmpeg >/dev/null; then
  echo "seeds from $(ffmpeg -version | head -n 1)"
  seed h264_bframes.mp4 "${SRC[@]}" -c:v libx264 -bf 3 -g 12 -pix_fmt yuv420p
  seed h264_bframes.mkv "${SRC[@]}" -c:v libx264 -bf 2 -g 8 -pix_fmt yuv420p
  seed h264.mov "${SRC[@]}" -c:v libx264 -bf 0 -pix_fmt yuv420p
  seed h264_high444.mp4 "${SRC[@]}" -c:v libx264 -pix_fmt yuv444p
  seed h264_audio.mp4 "${SRC[@]}" -f lavfi -i "sine=frequency=440:duration=1.6" -c:v libx264 -c:a aac -shortest
  seed hevc.mp4 "${SRC[@]}" -c:v libx265 -x265-params log-level=error -tag:v hvc1 -pix_fmt yuv420p
  seed hevc.mkv "${SRC[@]}" -c:v libx265 -x265-params log-level=error:bframes=3 -pix_fmt yuv420p
  seed vp9.webm "${SRC[@]}" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 200k
  seed vp9.mkv "${SRC[@]}" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 200k
  seed mpeg4.avi "${SRC[@]}" -c:v mpeg4 -bf 2 -q:v 5
  seed mpeg4.mp4 "${SRC[@]}" -c:v mpeg4 -q:v 5
  seed mjpeg.avi "${SRC[@]}" -c:v mjpeg -q:v 5 -pix_fmt yuvj420p
  seed mjpeg.mov "${SRC[@]}" -c:v mjpeg -q:v 5 -pix_fmt yuvj420p
  seed rotated.mp4 "${SRC[@]}" -c:v libx264 -metadata:s:v:0 rotate=90
  seed three_frames.mp4 -f lavfi -i "testsrc2=size=64x64:rate=25" -frames:v 3 -c:v libx264
  seed tiny_16x16.mp4 -f lavfi -i "testsrc2=size=16x16:rate=25:duration=1" -c:v libx264
  seed odd_size.mkv -f lavfi -i "testsrc2=size=97x61:rate=25:duration=1" -c:v libx264 -pix_fmt yuv444p
  seed vfr.mkv -f lavfi -i "testsrc2=size=96x64:rate=25:duration=2" -vf "select='not(mod(n\,3))+lt(n\,10)'" -fps_mode vfr -c:v libx264
  seed large_1920x1080.mp4 -f lavfi -i "testsrc2=size=1920x1080:rate=25" -frames:v 8 -c:v libx264 -preset ultrafast
  seed audio_only.m4a -f lavfi -i "sine=frequency=440:duration=1" -c:a aac
else
  echo "NOTE: no ffmpeg CLI (install it, or allow INSTALL_FFMPEG=1 as root): seeds come from motive dataset synth only,"
  echo "      so only the containers motive writes are covered"
fi
for codec in h264 hevc vp9 mpeg4 mjpeg; do
  "$MOTIVE" dataset synth --out "$WORK/synth_$codec" --classes 1 --per-class 1 --frames 16 --size 64 --val-fraction 0 \
    --seed 3 --codec "$codec" >/dev/null 2>&1 || { echo "  synth seed $codec skipped"; continue; }
  f=$(find "$WORK/synth_$codec/videos" -type f | head -n 1)
  cp "$f" "$WORK/seeds/synth_$codec.${f##*.}"
done
cp Samples/zoom_in.mp4 "$WORK/seeds/sample_zoom_in.mp4"
mapfile -t SEEDS < <(find "$WORK/seeds" -type f ! -name '*.err' | sort)
echo "${#SEEDS[@]} seeds: $(for s in "${SEEDS[@]}"; do printf '%s ' "$(basename "$s")"; done)"
[ "${#SEEDS[@]}" -gt 0 ] || { echo "FAIL: no seed video could be made" >&2; exit 2; }

# --- Mutations ---------------------------------------------------------------------------------
# bash's RANDOM is a deterministic generator once seeded, so FUZZ_SEED fixes every mutation. The
# helpers set R instead of printing: a $(…) subshell would reseed RANDOM.
RANDOM=$FUZZ_SEED
rnd() { R=$(( (RANDOM << 15 | RANDOM) % $1 )); }                 # R in 0 ..< $1 (up to 2^30)
# An offset in R, half the time inside the first 4 KB, where the container headers are.
offset() { if [ $((RANDOM % 2)) = 0 ] && [ "$1" -gt 4096 ]; then rnd 4096; else rnd "$1"; fi; }
flip_bits() {
  local f=$1 n=$((1 + RANDOM % 16)) size byte i
  size=$(stat -c %s "$f")
  for ((i = 0; i < n; i++)); do
    offset "$size"
    byte=$(od -An -tu1 -j "$R" -N1 "$f" | tr -d ' ')
    printf "\\x$(printf %02x $((byte ^ (1 << (RANDOM % 8)))))" | dd of="$f" bs=1 seek="$R" conv=notrunc status=none
  done
}
truncate_file() { rnd "$(stat -c %s "$1")"; truncate -s "$R" "$1"; }
duplicate_chunk() {
  local f=$1 off len
  offset "$(stat -c %s "$f")"; off=$R; rnd 2048; len=$((1 + R))
  { head -c $((off + len)) "$f"; tail -c +$((off + 1)) "$f"; } > "$f.dup" && mv "$f.dup" "$f"
}
zero_range() {
  local f=$1 off
  offset "$(stat -c %s "$f")"; off=$R; rnd 4096
  dd if=/dev/zero of="$f" bs=1 seek="$off" count=$((1 + R)) conv=notrunc status=none
}
MUTATIONS=(flip_bits truncate_file duplicate_chunk zero_range)
echo "making $COUNT mutants (FUZZ_SEED=$FUZZ_SEED)…"
: > "$WORK/mutants.txt"
for ((i = 0; i < COUNT; i++)); do
  src=${SEEDS[$((i % ${#SEEDS[@]}))]}
  base=$(basename "$src")
  out=$(printf '%s/mutants/%05d_%s' "$WORK" "$i" "$base")
  cp "$src" "$out"
  applied=""
  rounds=$((1 + RANDOM % 3))                          # one to three mutations per video
  for ((k = 0; k < rounds; k++)); do
    m=${MUTATIONS[$((RANDOM % ${#MUTATIONS[@]}))]}
    [ -s "$out" ] || break
    "$m" "$out"; applied="$applied$m,"
  done
  echo "$out ${applied%,}" >> "$WORK/mutants.txt"
done

# --- Running -----------------------------------------------------------------------------------
# One line per command: VIDEO TOOL OUTCOME EXIT RSS_KB. Outcomes: success, error, crash, hang,
# memory, silent (non-zero exit without any message).
run_video() {
  local video=$1 name tool rc rss outcome
  name=$(basename "$video")
  for tool in probe frames predict; do
    local dir="$WORK/results/$name.$tool"
    mkdir -p "$dir"
    local cmd=()
    case $tool in
      probe) cmd=("$MOTIVE" probe "$video") ;;
      frames) cmd=("$MOTIVE" frames "$video" --indices 0,7,15 --out "$dir/frames") ;;
      predict) cmd=("$MOTIVE" predict --model "$MODEL" "$video") ;;
    esac
    rc=0
    /usr/bin/time -f 'rss %M' -o "$dir/time" timeout -s KILL "$TIMEOUT" "${cmd[@]}" >"$dir/out" 2>"$dir/err" || rc=$?
    rss=$(awk '/^rss/ {print $2}' "$dir/time"); rss=${rss:-0}
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then outcome=hang
    elif grep -q "terminated by signal" "$dir/time" || [ "$rc" -gt 128 ]; then outcome=crash
    elif [ "$rss" -gt $((MEM_LIMIT_MB * 1024)) ]; then outcome=memory
    elif [ "$rc" = 0 ]; then outcome=success
    elif [ -s "$dir/err" ] || grep -q '"error"' "$dir/out"; then outcome=error
    else outcome=silent
    fi
    echo "$video $tool $outcome $rc $rss"
    [ "$outcome" = success ] || [ "$outcome" = error ] || cp -r "$dir" "$WORK/results/KEEP_$name.$tool" 2>/dev/null || true
    rm -rf "$dir"
  done
}
export -f run_video
export MOTIVE MODEL TIMEOUT MEM_LIMIT_MB WORK
echo "running probe, frames and predict on each (JOBS=$JOBS, TIMEOUT=${TIMEOUT}s, memory limit ${MEM_LIMIT_MB} MB)…"
cut -d' ' -f1 "$WORK/mutants.txt" | xargs -P "$JOBS" -I{} bash -c 'run_video "$1"' _ {} > "$WORK/outcomes.txt"

# --- Summary -----------------------------------------------------------------------------------
echo
echo "videos: $(wc -l < "$WORK/mutants.txt") mutants of ${#SEEDS[@]} seeds; $(( $(date +%s) - START )) s"
printf '%-8s %8s %8s %8s %8s %8s %8s %12s\n' tool success error crash hang memory silent max_rss_mb
for tool in probe frames predict all; do
  awk -v t="$tool" -v limit="$MEM_LIMIT_MB" '
    t == "all" || $2 == t { n[$3]++; if ($5 > max) max = $5 }
    END { printf "%-8s %8d %8d %8d %8d %8d %8d %12.1f\n", t, n["success"], n["error"], n["crash"], n["hang"], n["memory"], n["silent"], max / 1024 }
  ' "$WORK/outcomes.txt"
done
BAD=$(awk '$3 != "success" && $3 != "error"' "$WORK/outcomes.txt" | wc -l)
if [ "$BAD" -gt 0 ]; then
  echo "failures (video tool outcome exit rss_kb; mutations in $WORK/mutants.txt):"
  awk '$3 != "success" && $3 != "error"' "$WORK/outcomes.txt" | head -n 30
  for f in $(awk '$3 != "success" && $3 != "error" {print $1}' "$WORK/outcomes.txt" | sort -u | head -n 30); do grep -F "$f " "$WORK/mutants.txt"; done
  KEEP=1
  echo "FAIL: $BAD commands crashed, hung, blew up memory or failed silently"
  exit 1
fi
echo "PASS: 0 crashes, 0 hangs, 0 memory blow-ups over $(wc -l < "$WORK/outcomes.txt") commands"

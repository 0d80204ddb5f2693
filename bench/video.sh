#!/usr/bin/env bash
# Decode benchmark: Motive against decord and PyAV on the same generated videos and clips.
# Usage: bench/video.sh [DIR] [REPEATS]   (needs `pip install decord av numpy`; not part of CI)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/motive-video-bench}
repeats=${2:-3}
swift run -c release motive-bench video --out "$dir" --repeats "$repeats"
python3 bench/video_decode.py "$dir" "$repeats"

#!/usr/bin/env bash
# TV-L1 benchmark: Motive against OpenCV-contrib's DualTVL1OpticalFlow on the same 340×256 frame
# pairs of a real video (OpenCV's vtest.avi, from Debian's opencv-doc package), same parameters,
# two threads each, in one run. Reports pairs per second for both and the mean end-point error
# between the two flows. Not part of CI; needs `pip install opencv-contrib-python-headless numpy`.
#   bash bench/tvl1.sh [DIR] [PAIRS] [SCALE_STEP]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/motive-tvl1-bench}
pairs=${2:-8}
step=${3:-0.8}
python=${PYTHON:-python3}
mkdir -p "$dir"
"$python" bench/tvl1_opencv.py prepare "$dir" --pairs "$pairs" --scale-step "$step"
swift build -c release --product motive-bench > /dev/null
.build/release/motive-bench flow "$dir" --threads 2
"$python" bench/tvl1_opencv.py compare "$dir" --threads 2

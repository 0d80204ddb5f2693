#!/usr/bin/env bash
# Two-stream acceptance on the synthetic motion dataset at 112×112: single-frame RGB TSN, the
# TV-L1 flow stream, and their late fusion, each on the validation videos (top-1 and the
# direction pairs, see bench/pair_accuracy.py). Not a test: about 40 minutes on two cores.
#   bash bench/two_stream.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/two-stream}
data=data/synth112
motive=.build/release/motive
swift build -c release --product motive > /dev/null
mkdir -p "$out"
start=$(date +%s)
[ -f $data/train.txt ] || $motive dataset synth --out $data --size 112
$motive flow --list $data/train.txt --out $data/flow --jobs 2
$motive flow --list $data/val.txt --out $data/flow --jobs 2
echo "data and flow: $(( $(date +%s) - start )) s"

train() {  # NAME CONFIG LIST_FOLDER
  local t=$(date +%s)
  $motive train "Models/tiny/$2.yaml" --out "$out/$1" --set "data.train_list=$3/train.txt" --set "data.val_list=$3/val.txt" > "$out/$1.log"
  echo "$1: trained in $(( $(date +%s) - t )) s"
}
train rgb tsn_r18_tiny $data
train flow tsn_r18_flow_tiny $data/flow
# Fused two ways: raw scores (TSN's evaluation, the default) and softmax probabilities.
$motive two-stream "$out/rgb" "$out/flow" --out "$out/two_stream.safetensors"
$motive two-stream "$out/rgb" "$out/flow" --softmax --out "$out/two_stream_softmax.safetensors"
$motive eval "$out/rgb" --flow "$out/flow" --data $data/val.txt --out "$out/eval" | tail -4

mapfile -t videos < <(awk -v d="$data" '{print d "/" $1}' $data/val.txt)
printf '| model | val top-1 | direction pairs |\n|---|---|---|\n'
for m in rgb flow two_stream two_stream_softmax; do
  model="$out/$m"; [ -d "$model" ] || model="$out/$m.safetensors"
  $motive predict --model "$model" --top-k 10 "${videos[@]}" > "$out/$m.predictions.jsonl"
  python3 bench/pair_accuracy.py $data/val.txt $data/classes.txt "$out/$m.predictions.jsonl" \
    | awk -v m="$m" '{ printf "| %s | %s | %s |\n", m, $1, $2 }'
done
echo "total: $(( $(date +%s) - start )) s"

#!/bin/bash
# Regenerates the Swift message types in this folder; run by hand, never by the build or CI.
#   onnx.pb.swift           from ONNX's onnx.proto (the Python `onnx` package ships it)
#   tensorboard/*.pb.swift  TensorBoard's Event and Summary with their imports (the Python
#                           `tensorboard` package ships them compiled; protoc reads those descriptors)
# Needs protoc (Debian: protobuf-compiler), python3 with onnx and tensorboard, and protoc-gen-swift
# at the swift-protobuf version Package.swift names (built here from the package mirror unless
# PROTOC_GEN_SWIFT points at one; the build takes a few minutes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(grep -o 'swift-protobuf", from: "[0-9.]*"' "$here/../../Package.swift" | grep -o '[0-9][0-9.]*')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
  git clone -q --depth 1 -b "$version" https://github.com/apple/swift-protobuf "$work/swift-protobuf"
  (cd "$work/swift-protobuf" && swift build -c release --product protoc-gen-swift >&2)
  plugin="$work/swift-protobuf/.build/release/protoc-gen-swift"
fi

onnx_dir=$(python3 -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out="$here" \
  --proto_path="$onnx_dir" "$onnx_dir/onnx.proto"

python3 - "$work/tensorboard.desc" <<'PY'
import sys
from google.protobuf import descriptor_pb2
from tensorboard.compat.proto import event_pb2
files, seen = descriptor_pb2.FileDescriptorSet(), set()
def add(fd):
    for dep in fd.dependencies: add(dep)
    if fd.name in seen: return
    seen.add(fd.name)
    proto = descriptor_pb2.FileDescriptorProto()
    fd.CopyToProto(proto)
    files.file.append(proto)
add(event_pb2.DESCRIPTOR)
open(sys.argv[1], "wb").write(files.SerializeToString())
PY
mkdir -p "$here/tensorboard"
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
  --swift_out="$here/tensorboard" --descriptor_set_in="$work/tensorboard.desc" \
  tensorboard/compat/proto/event.proto tensorboard/compat/proto/summary.proto tensorboard/compat/proto/histogram.proto \
  tensorboard/compat/proto/tensor.proto tensorboard/compat/proto/tensor_shape.proto tensorboard/compat/proto/types.proto \
  tensorboard/compat/proto/resource_handle.proto
echo "generated with protoc $(protoc --version | cut -d' ' -f2) and swift-protobuf $version" >&2

#!/usr/bin/env bash
# Regenerates Sources/RecurrentONNX/Generated/onnx.pb.swift from Scripts/onnx/onnx.proto.
#
# Needs protoc (Debian: apt-get install protobuf-compiler) and protoc-gen-swift built from
# swift-protobuf 1.39.0, the version Package.swift depends on:
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   git -C /tmp/swift-protobuf checkout 1.39.0
#   (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift Scripts/generate-onnx-swift.sh
#
# Visibility=Public so that users of RecurrentONNX can inspect or edit the ModelProto that
# ONNXExporter returns; the type names get the default prefix from the proto package (Onnx_).
set -euo pipefail
cd "$(dirname "$0")/.."
PLUGIN="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
if [[ -z "$PLUGIN" || ! -x "$PLUGIN" ]]; then
  echo "protoc-gen-swift not found: set PROTOC_GEN_SWIFT or put it on PATH (see the comment at the top)" >&2
  exit 1
fi
command -v protoc >/dev/null || { echo "protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
mkdir -p Sources/RecurrentONNX/Generated
protoc --plugin=protoc-gen-swift="$PLUGIN" \
  --proto_path=Scripts/onnx \
  --swift_opt=Visibility=Public \
  --swift_out=Sources/RecurrentONNX/Generated \
  Scripts/onnx/onnx.proto
echo "wrote Sources/RecurrentONNX/Generated/onnx.pb.swift ($(wc -l < Sources/RecurrentONNX/Generated/onnx.pb.swift) lines)"

#!/bin/sh
# Fetches the official OpenTelemetry .proto files (npm package
# @opentelemetry/otlp-grpc-exporter-base@0.36.1, folder build/protos) and
# compiles them for python3-protobuf. Never committed: fetched at test time.
#   fetch_protos.sh CACHE_DIR OUT_DIR
set -eu
cache=$1
out=$2
package=@opentelemetry/otlp-grpc-exporter-base@0.36.1
tarball=opentelemetry-otlp-grpc-exporter-base-0.36.1.tgz

mkdir -p "$cache" "$out"
if [ ! -f "$cache/$tarball" ]; then
  (cd "$cache" && npm pack --silent "$package" >/dev/null)
fi
if [ ! -f "$out/opentelemetry/proto/collector/trace/v1/trace_service_pb2.py" ] ||
   [ ! -f "$out/opentelemetry/proto/collector/metrics/v1/metrics_service_pb2.py" ]; then
  rm -rf "$cache/package"
  tar -xzf "$cache/$tarball" -C "$cache" package/build/protos
  protos="$cache/package/build/protos"
  protoc -I"$protos" --python_out="$out" \
    "$protos/opentelemetry/proto/common/v1/common.proto" \
    "$protos/opentelemetry/proto/resource/v1/resource.proto" \
    "$protos/opentelemetry/proto/trace/v1/trace.proto" \
    "$protos/opentelemetry/proto/collector/trace/v1/trace_service.proto" \
    "$protos/opentelemetry/proto/metrics/v1/metrics.proto" \
    "$protos/opentelemetry/proto/collector/metrics/v1/metrics_service.proto"
  # python3-protobuf finds the generated modules as packages.
  find "$out/opentelemetry" -type d -exec touch {}/__init__.py \;
fi

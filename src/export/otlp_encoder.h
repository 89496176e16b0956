#pragma once
// ExportTraceServiceRequest encoders, straight from span records to bytes:
// no message tree, and no allocation once `out` has grown to the batch size
// (callers keep one buffer per exporter). One ResourceSpans per resource in
// the batch (per traced process; spans naming none share `resource`, the
// exporter's own), each with one ScopeSpans.

#include <span>
#include <string>

#include "export/span_exporter.h"

namespace bto {

// Protobuf wire format; nested lengths are computed by a sizing pass first, so
// the output is canonical (minimal varints) and written without memmove.
void encode_otlp_protobuf(const ResourceInfo& resource, std::span<const SpanRecord* const> spans,
                          std::string& out);

// OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// lowerCamelCase names, hex trace/span ids, enums as integers, 64-bit integers
// as decimal strings, fields with default values left out.
void encode_otlp_json(const ResourceInfo& resource, std::span<const SpanRecord* const> spans,
                      std::string& out);

// OTLP/JSON pieces the metrics encoder shares: a KeyValue array, and a
// resource + scope opening ({"resource":{...},"scope...":[{"scope":{...},).
void append_otlp_json_attributes(std::string& out, const AttributeList& attributes);
void append_otlp_json_string(std::string& out, std::string_view text);

}  // namespace bto

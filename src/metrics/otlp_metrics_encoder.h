#pragma once
// ExportMetricsServiceRequest (opentelemetry/proto/collector/metrics/v1) in
// the protobuf wire format, straight from a snapshot: one ResourceMetrics per
// resource (traced process, or `resource`, the exporter's own), each with one ScopeMetrics; histograms and monotonic sums, cumulative temporality.
// Canonical output (fields in number order, minimal varints, packed repeated
// scalars), so the official library re-serializes it to the same bytes. No
// allocation once `out` has grown.

#include <string>

#include "export/span_exporter.h"
#include "metrics/span_metrics.h"

namespace bto {

void encode_otlp_metrics_protobuf(const ResourceInfo& resource, const MetricsSnapshot& snapshot, std::string& out);

// The same request in OTLP/JSON, for --metrics-exporter file
// (otlp_metrics_json_encoder.cpp).
void encode_otlp_metrics_json(const ResourceInfo& resource, const MetricsSnapshot& snapshot, std::string& out);

}  // namespace bto

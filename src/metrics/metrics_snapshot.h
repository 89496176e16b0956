#pragma once
// What the metrics exporter encodes: the cumulative totals of every metric,
// copied out of the aggregator by SpanMetrics::collect().

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spans/span_record.h"

namespace bto {

enum class MetricKind : uint8_t { kHistogram, kCounter };

struct MetricPoint {
  AttributeList attributes;
  uint64_t start_time_unix_ns = 0;  // when the attribute set was first seen
  uint64_t count = 0;
  double sum = 0, min = 0, max = 0;      // histograms
  std::vector<uint64_t> bucket_counts;  // histograms: bounds.size() + 1
};

struct MetricStream {
  std::string name, description, unit;
  MetricKind kind = MetricKind::kHistogram;
  std::vector<double> bounds;  // histograms
  std::vector<MetricPoint> points;
};

// The metrics of one resource: a traced process, or the exporter's own
// resource (empty `resource`) for spans that name no process.
struct ResourceMetrics {
  ResourceRef resource;
  std::vector<MetricStream> metrics;  // metrics without points are left out
};

// Cumulative temporality: every collection carries every attribute set seen
// since start, until the process it belongs to has exited (and its last
// totals were collected once). Reused between collections.
struct MetricsSnapshot {
  uint64_t time_unix_ns = 0;
  std::vector<ResourceMetrics> resources;  // resources without points are left out
  size_t data_points() const noexcept;
};

}  // namespace bto

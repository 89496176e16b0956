#include "metrics/otlp_metrics_encoder.h"

#include <cassert>
#include <vector>

#include "export/protobuf_writer.h"

namespace bto {
namespace {

using namespace protobuf;

// Field numbers from opentelemetry/proto (collector/metrics/v1, metrics/v1,
// common/v1, resource/v1).
namespace request { constexpr uint32_t kResourceMetrics = 1; }
namespace resource_metrics { constexpr uint32_t kResource = 1, kScopeMetrics = 2; }
namespace scope_metrics { constexpr uint32_t kScope = 1, kMetrics = 2; }
namespace metric { constexpr uint32_t kName = 1, kDescription = 2, kUnit = 3, kSum = 7, kHistogram = 9; }
namespace sum { constexpr uint32_t kDataPoints = 1, kTemporality = 2, kIsMonotonic = 3; }
namespace histogram { constexpr uint32_t kDataPoints = 1, kTemporality = 2; }
namespace number_point { constexpr uint32_t kStartTime = 2, kTime = 3, kAsInt = 6, kAttributes = 7; }
namespace histogram_point {
constexpr uint32_t kStartTime = 2, kTime = 3, kCount = 4, kSum = 5, kBucketCounts = 6, kExplicitBounds = 7,
                   kAttributes = 9, kMin = 11, kMax = 12;
}

constexpr uint64_t kCumulative = 2;  // AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE

// ---- sizing pass ----------------------------------------------------------

size_t number_point_size(const MetricPoint& p) noexcept {
  size_t n = 0;
  if (p.start_time_unix_ns != 0) n += fixed64_size(number_point::kStartTime);
  n += fixed64_size(number_point::kTime);  // the snapshot time is never 0
  if (p.count != 0) n += fixed64_size(number_point::kAsInt);
  n += attributes_size(number_point::kAttributes, p.attributes);
  return n;
}

size_t histogram_point_size(const MetricPoint& p, size_t bound_count) noexcept {
  size_t n = 0;
  if (p.start_time_unix_ns != 0) n += fixed64_size(histogram_point::kStartTime);
  n += fixed64_size(histogram_point::kTime);
  if (p.count != 0) n += fixed64_size(histogram_point::kCount);
  n += fixed64_size(histogram_point::kSum);  // optional: present even when 0
  if (!p.bucket_counts.empty()) n += ld_size(histogram_point::kBucketCounts, 8 * p.bucket_counts.size());
  if (bound_count != 0) n += ld_size(histogram_point::kExplicitBounds, 8 * bound_count);
  n += attributes_size(histogram_point::kAttributes, p.attributes);
  if (p.count != 0) n += fixed64_size(histogram_point::kMin) + fixed64_size(histogram_point::kMax);
  return n;
}

size_t data_size(const MetricStream& m) noexcept {
  size_t n = 0;
  if (m.kind == MetricKind::kHistogram) {
    for (const MetricPoint& p : m.points) n += ld_size(histogram::kDataPoints, histogram_point_size(p, m.bounds.size()));
    n += tag_size(histogram::kTemporality) + varint_size(kCumulative);
  } else {
    for (const MetricPoint& p : m.points) n += ld_size(sum::kDataPoints, number_point_size(p));
    n += tag_size(sum::kTemporality) + varint_size(kCumulative);
    n += tag_size(sum::kIsMonotonic) + 1;
  }
  return n;
}

size_t metric_size(const MetricStream& m) noexcept {
  size_t n = 0;
  if (!m.name.empty()) n += ld_size(metric::kName, m.name.size());
  if (!m.description.empty()) n += ld_size(metric::kDescription, m.description.size());
  if (!m.unit.empty()) n += ld_size(metric::kUnit, m.unit.size());
  n += ld_size(m.kind == MetricKind::kHistogram ? metric::kHistogram : metric::kSum, data_size(m));
  return n;
}

// ---- writing pass ---------------------------------------------------------

void write_number_point(Writer& w, const MetricPoint& p, uint64_t time) noexcept {
  w.begin_message(sum::kDataPoints, number_point_size(p));
  if (p.start_time_unix_ns != 0) w.fixed64(number_point::kStartTime, p.start_time_unix_ns);
  w.fixed64(number_point::kTime, time);
  if (p.count != 0) w.fixed64(number_point::kAsInt, p.count);  // sfixed64: same bytes for counts < 2^63
  write_attributes(w, number_point::kAttributes, p.attributes);
}

void write_histogram_point(Writer& w, const MetricPoint& p, const std::vector<double>& bounds,
                           uint64_t time) noexcept {
  w.begin_message(histogram::kDataPoints, histogram_point_size(p, bounds.size()));
  if (p.start_time_unix_ns != 0) w.fixed64(histogram_point::kStartTime, p.start_time_unix_ns);
  w.fixed64(histogram_point::kTime, time);
  if (p.count != 0) w.fixed64(histogram_point::kCount, p.count);
  w.double_field(histogram_point::kSum, p.sum);
  if (!p.bucket_counts.empty()) {
    w.begin_message(histogram_point::kBucketCounts, 8 * p.bucket_counts.size());
    for (const uint64_t c : p.bucket_counts) w.raw64(c);
  }
  if (!bounds.empty()) {
    w.begin_message(histogram_point::kExplicitBounds, 8 * bounds.size());
    for (const double b : bounds) w.raw64(Writer::bits(b));
  }
  write_attributes(w, histogram_point::kAttributes, p.attributes);
  if (p.count != 0) {
    w.double_field(histogram_point::kMin, p.min);
    w.double_field(histogram_point::kMax, p.max);
  }
}

void write_metric(Writer& w, const MetricStream& m, uint64_t time) noexcept {
  w.begin_message(scope_metrics::kMetrics, metric_size(m));
  [[maybe_unused]] const char* start = w.position();
  if (!m.name.empty()) w.string(metric::kName, m.name);
  if (!m.description.empty()) w.string(metric::kDescription, m.description);
  if (!m.unit.empty()) w.string(metric::kUnit, m.unit);
  if (m.kind == MetricKind::kHistogram) {
    w.begin_message(metric::kHistogram, data_size(m));
    for (const MetricPoint& p : m.points) write_histogram_point(w, p, m.bounds, time);
    w.varint_field(histogram::kTemporality, kCumulative);
  } else {
    w.begin_message(metric::kSum, data_size(m));
    for (const MetricPoint& p : m.points) write_number_point(w, p, time);
    w.varint_field(sum::kTemporality, kCumulative);
    w.varint_field(sum::kIsMonotonic, 1);
  }
  assert(static_cast<size_t>(w.position() - start) == metric_size(m));
}

}  // namespace

void encode_otlp_metrics_protobuf(const ResourceInfo& resource, const MetricsSnapshot& snapshot, std::string& out) {
  struct Sizes {
    size_t resource, scope_metrics, resource_metrics;  // message bodies
  };
  thread_local std::vector<Sizes> sizes;
  sizes.resize(snapshot.resources.size());
  const size_t scope = ld_size(scope_metrics::kScope, scope_size(resource));
  size_t total = 0;
  for (size_t r = 0; r < snapshot.resources.size(); ++r) {
    const ResourceMetrics& group = snapshot.resources[r];
    size_t metrics_total = 0;
    for (const MetricStream& m : group.metrics) metrics_total += ld_size(scope_metrics::kMetrics, metric_size(m));
    Sizes& s = sizes[r];
    s.resource = resource_size(ResourceView(group.resource.get(), resource));
    s.scope_metrics = scope + metrics_total;
    s.resource_metrics =
        ld_size(resource_metrics::kResource, s.resource) + ld_size(resource_metrics::kScopeMetrics, s.scope_metrics);
    total += ld_size(request::kResourceMetrics, s.resource_metrics);
  }

  out.resize(total);
  Writer w(out.data());
  for (size_t r = 0; r < snapshot.resources.size(); ++r) {
    const ResourceMetrics& group = snapshot.resources[r];
    const Sizes& s = sizes[r];
    w.begin_message(request::kResourceMetrics, s.resource_metrics);
    write_resource(w, resource_metrics::kResource, ResourceView(group.resource.get(), resource), s.resource);
    w.begin_message(resource_metrics::kScopeMetrics, s.scope_metrics);
    write_scope(w, scope_metrics::kScope, resource);
    for (const MetricStream& m : group.metrics) write_metric(w, m, snapshot.time_unix_ns);
  }
  assert(w.position() == out.data() + total);
}

}  // namespace bto

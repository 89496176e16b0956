#include "metrics/otlp_metrics_encoder.h"

#include <cassert>
#include <cstring>

namespace bto {
namespace {

// Field numbers from opentelemetry/proto (collector/metrics/v1, metrics/v1,
// common/v1, resource/v1).
namespace request { constexpr uint32_t kResourceMetrics = 1; }
namespace resource_metrics { constexpr uint32_t kResource = 1, kScopeMetrics = 2; }
namespace resource_msg { constexpr uint32_t kAttributes = 1; }
namespace scope_metrics { constexpr uint32_t kScope = 1, kMetrics = 2; }
namespace scope { constexpr uint32_t kName = 1, kVersion = 2; }
namespace metric { constexpr uint32_t kName = 1, kDescription = 2, kUnit = 3, kSum = 7, kHistogram = 9; }
namespace sum { constexpr uint32_t kDataPoints = 1, kTemporality = 2, kIsMonotonic = 3; }
namespace histogram { constexpr uint32_t kDataPoints = 1, kTemporality = 2; }
namespace number_point { constexpr uint32_t kStartTime = 2, kTime = 3, kAsInt = 6, kAttributes = 7; }
namespace histogram_point {
constexpr uint32_t kStartTime = 2, kTime = 3, kCount = 4, kSum = 5, kBucketCounts = 6, kExplicitBounds = 7,
                   kAttributes = 9, kMin = 11, kMax = 12;
}
namespace key_value { constexpr uint32_t kKey = 1, kValue = 2; }
namespace any_value { constexpr uint32_t kString = 1, kBool = 2, kInt = 3, kDouble = 4; }

constexpr uint64_t kCumulative = 2;  // AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

constexpr size_t varint_size(uint64_t v) noexcept {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
constexpr size_t tag_size(uint32_t field) noexcept { return varint_size(uint64_t{field} << 3); }
constexpr size_t ld_size(uint32_t field, size_t length) noexcept {
  return tag_size(field) + varint_size(length) + length;
}
constexpr size_t fixed64_size(uint32_t field) noexcept { return tag_size(field) + 8; }

// ---- sizing pass ----------------------------------------------------------

size_t any_value_size(const Attribute& a) noexcept {
  switch (a.type) {
    case AttrType::kString: return ld_size(any_value::kString, a.string_value.size());
    case AttrType::kBool: return tag_size(any_value::kBool) + 1;
    case AttrType::kInt: return tag_size(any_value::kInt) + varint_size(static_cast<uint64_t>(a.int_value));
    case AttrType::kDouble: return tag_size(any_value::kDouble) + 8;
  }
  return 0;
}

size_t key_value_size(const Attribute& a) noexcept {
  size_t n = ld_size(key_value::kValue, any_value_size(a));
  if (!a.key.empty()) n += ld_size(key_value::kKey, a.key.size());
  return n;
}

size_t attributes_size(uint32_t field, const AttributeList& list) noexcept {
  size_t n = 0;
  for (const Attribute& a : list.items()) n += ld_size(field, key_value_size(a));
  return n;
}

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

size_t scope_size(const ResourceInfo& r) noexcept {
  size_t n = 0;
  if (!r.scope_name.empty()) n += ld_size(scope::kName, r.scope_name.size());
  if (!r.scope_version.empty()) n += ld_size(scope::kVersion, r.scope_version.size());
  return n;
}

// ---- writing pass ---------------------------------------------------------

class Writer {
 public:
  explicit Writer(char* p) noexcept : p_(p) {}
  char* position() const noexcept { return p_; }

  void varint(uint64_t v) noexcept {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void tag(uint32_t field, WireType type) noexcept { varint((uint64_t{field} << 3) | type); }
  void string(uint32_t field, std::string_view s) noexcept {
    begin_message(field, s.size());
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void begin_message(uint32_t field, size_t size) noexcept {
    tag(field, kLengthDelimited);
    varint(size);
  }
  void raw64(uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
  }
  void fixed64(uint32_t field, uint64_t v) noexcept {
    tag(field, kFixed64);
    raw64(v);
  }
  void double_field(uint32_t field, double d) noexcept { fixed64(field, bits(d)); }
  void varint_field(uint32_t field, uint64_t v) noexcept {
    tag(field, kVarint);
    varint(v);
  }
  static uint64_t bits(double d) noexcept {
    uint64_t b;
    std::memcpy(&b, &d, sizeof b);
    return b;
  }

 private:
  char* p_;
};

void write_attributes(Writer& w, uint32_t field, const AttributeList& list) noexcept {
  for (const Attribute& a : list.items()) {
    w.begin_message(field, key_value_size(a));
    if (!a.key.empty()) w.string(key_value::kKey, a.key);
    w.begin_message(key_value::kValue, any_value_size(a));
    switch (a.type) {
      case AttrType::kString: w.string(any_value::kString, a.string_value); break;
      case AttrType::kBool: w.varint_field(any_value::kBool, a.bool_value ? 1 : 0); break;
      case AttrType::kInt: w.varint_field(any_value::kInt, static_cast<uint64_t>(a.int_value)); break;
      case AttrType::kDouble: w.double_field(any_value::kDouble, a.double_value); break;
    }
  }
}

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
  size_t metrics_total = 0;
  for (const MetricStream& m : snapshot.metrics) metrics_total += ld_size(scope_metrics::kMetrics, metric_size(m));
  const size_t resource_body = attributes_size(resource_msg::kAttributes, resource.attributes);
  const size_t scope_metrics_body = ld_size(scope_metrics::kScope, scope_size(resource)) + metrics_total;
  const size_t resource_metrics_body = ld_size(resource_metrics::kResource, resource_body) +
                                       ld_size(resource_metrics::kScopeMetrics, scope_metrics_body);
  const size_t total = ld_size(request::kResourceMetrics, resource_metrics_body);

  out.resize(total);
  Writer w(out.data());
  w.begin_message(request::kResourceMetrics, resource_metrics_body);
  w.begin_message(resource_metrics::kResource, resource_body);
  write_attributes(w, resource_msg::kAttributes, resource.attributes);
  w.begin_message(resource_metrics::kScopeMetrics, scope_metrics_body);
  w.begin_message(scope_metrics::kScope, scope_size(resource));
  if (!resource.scope_name.empty()) w.string(scope::kName, resource.scope_name);
  if (!resource.scope_version.empty()) w.string(scope::kVersion, resource.scope_version);
  for (const MetricStream& m : snapshot.metrics) write_metric(w, m, snapshot.time_unix_ns);
  assert(w.position() == out.data() + total);
}

}  // namespace bto

#include "metrics/instruments.h"

#include <string_view>

namespace bto {

size_t MetricsSnapshot::data_points() const noexcept {
  size_t n = 0;
  for (const ResourceMetrics& r : resources) {
    for (const MetricStream& m : r.metrics) n += m.points.size();
  }
  return n;
}

namespace metrics_detail {
namespace {

constexpr std::string_view kOverflowKey = "otel.metric.overflow";

void copy_point(const SeriesTable& table, const Series& s, MetricKind kind, MetricPoint& p) {
  p.attributes.clear();
  if (s.overflow) {
    p.attributes.set_bool(kOverflowKey, true);
  } else {
    for (size_t k = 0; k < s.values.size(); ++k) {
      const OwnedValue& v = s.values[k];
      if (!v.present) continue;
      const std::string& key = table.keys()[k];
      switch (v.type) {
        case AttrType::kString: p.attributes.set_string(key, v.string_value); break;
        case AttrType::kBool: p.attributes.set_bool(key, v.bool_value); break;
        case AttrType::kInt: p.attributes.set_int(key, v.int_value); break;
        case AttrType::kDouble: p.attributes.set_double(key, v.double_value); break;
      }
    }
  }
  p.start_time_unix_ns = s.start_time_unix_ns;
  p.count = s.aggregate.count;
  if (kind == MetricKind::kHistogram) {
    p.sum = s.aggregate.sum;
    p.min = s.aggregate.min;
    p.max = s.aggregate.max;
    p.bucket_counts = s.aggregate.buckets;
  } else {
    p.sum = p.min = p.max = 0;
    p.bucket_counts.clear();
  }
}

}  // namespace

void snapshot_instruments(const std::vector<Instrument>& instruments, std::vector<MetricStream>& out) {
  size_t used = 0;
  for (const Instrument& instrument : instruments) {
    const SeriesTable& table = *instrument.table;
    if (table.series().empty()) continue;
    if (out.size() <= used) out.emplace_back();
    MetricStream& stream = out[used++];
    stream.name = instrument.name;
    stream.unit = instrument.unit;
    stream.description = instrument.description;
    stream.kind = instrument.kind;
    stream.bounds = instrument.bounds;
    stream.points.resize(table.series().size());
    for (size_t i = 0; i < table.series().size(); ++i) {
      copy_point(table, table.series()[i], instrument.kind, stream.points[i]);
    }
  }
  out.resize(used);
}

}  // namespace metrics_detail
}  // namespace bto

#include "metrics/series_table.h"

#include <algorithm>
#include <bit>
#include <chrono>

namespace bto::metrics_detail {

uint64_t unix_now_ns() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

SeriesTable::SeriesTable(std::vector<std::string> keys, std::vector<double> bounds, size_t limit,
                         SpanMetricsStats& stats)
    : keys_(std::move(keys)), bounds_(std::move(bounds)), limit_(std::max<size_t>(limit, 1)), stats_(stats) {
  slots_.assign(std::min<size_t>(16, std::bit_ceil(2 * limit_)), kEmpty);
  mask_ = slots_.size() - 1;
}

void SeriesTable::grow() {
  slots_.assign(slots_.size() * 2, kEmpty);
  mask_ = slots_.size() - 1;
  for (size_t i = 0; i < series_.size(); ++i) {
    if (series_[i].overflow) continue;  // found by index, never by hash
    size_t slot = series_[i].hash & mask_;
    while (slots_[slot] != kEmpty) slot = (slot + 1) & mask_;
    slots_[slot] = static_cast<int32_t>(i);
  }
}

Series& SeriesTable::overflow_series() {
  stats_.overflow_measurements.fetch_add(1, std::memory_order_relaxed);
  if (overflow_ == kEmpty) {
    overflow_ = static_cast<int32_t>(series_.size());
    add_series(0, {}, true);
  }
  return series_[static_cast<size_t>(overflow_)];
}

Series& SeriesTable::add_series(uint64_t hash, std::span<const ValueView> values, bool overflow) {
  Series& s = series_.emplace_back();
  s.hash = hash;
  s.overflow = overflow;
  s.values.reserve(values.size());
  for (const ValueView& v : values) s.values.emplace_back(v);
  s.start_time_unix_ns = unix_now_ns();
  s.aggregate.buckets.assign(bounds_.size() + 1, 0);
  stats_.series.fetch_add(1, std::memory_order_relaxed);
  return s;
}

}  // namespace bto::metrics_detail

#pragma once
// Private to metrics/: the aggregation of one attribute set's measurements:
// count, sum, min, max and explicit-bucket counts (a counter uses the count).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace bto::metrics_detail {

struct HistogramAggregate {
  uint64_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::vector<uint64_t> buckets;  // bounds.size() + 1, or empty: no buckets kept

  void record(double value, const std::vector<double>& bounds) noexcept {
    ++count;
    sum += value;
    min = std::min(min, value);
    max = std::max(max, value);
    if (!buckets.empty()) {
      // Bucket i holds (bounds[i-1], bounds[i]]: the first bound >= value.
      const auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
      ++buckets[static_cast<size_t>(it - bounds.begin())];
    }
  }
};

}  // namespace bto::metrics_detail

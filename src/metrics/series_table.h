#pragma once
// Private to metrics/: the attribute sets (series) of one metric, or of two
// metrics fed by the same measurements, found by hash. Bounded by the
// cardinality limit: the last place is the overflow set. Recording into a
// known set never allocates; a table starts small and grows (rehashing) only
// when a new set is added, because every traced process has its own tables.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/histogram.h"
#include "metrics/span_metrics.h"
#include "spans/span_record.h"

namespace bto::metrics_detail {

// One attribute value of a measurement, borrowed from the span (or from the
// aggregator's scratch buffers) for the duration of one record() call.
struct ValueView {
  bool present = false;
  AttrType type = AttrType::kString;
  bool bool_value = false;
  int64_t int_value = 0;
  double double_value = 0;
  std::string_view string_value;

  static ValueView of(std::string_view s) noexcept {
    ValueView v;
    v.present = true;
    v.string_value = s;
    return v;
  }
  static ValueView of_int(int64_t i) noexcept {
    ValueView v;
    v.present = true;
    v.type = AttrType::kInt;
    v.int_value = i;
    return v;
  }
  static ValueView of(const Attribute* a) noexcept {
    ValueView v;
    if (a == nullptr) return v;
    v.present = true;
    v.type = a->type;
    // Only the member of the attribute's type: the others may be stale in a reused slot.
    switch (a->type) {
      case AttrType::kString: v.string_value = a->string_value; break;
      case AttrType::kBool: v.bool_value = a->bool_value; break;
      case AttrType::kInt: v.int_value = a->int_value; break;
      case AttrType::kDouble: v.double_value = a->double_value; break;
    }
    return v;
  }
};

// A multiply-fold hash over the typed values, eight bytes at a time (a span
// hashes its attribute set on every measurement); absent values hash
// differently from "".
inline uint64_t fold(uint64_t h, uint64_t word) noexcept {
  const unsigned __int128 product = static_cast<unsigned __int128>(h ^ word) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t fold_bytes(uint64_t h, std::string_view bytes) noexcept {
  const char* p = bytes.data();
  size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = fold(h, word);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  // The length goes in with the tail: ("ab","c") != ("a","bc").
  return fold(h, tail ^ (static_cast<uint64_t>(bytes.size()) << 56));
}

inline uint64_t hash_values(std::span<const ValueView> values) noexcept {
  uint64_t h = 0x243f6a8885a308d3ull;
  for (const ValueView& v : values) {
    const uint64_t tag = v.present ? 1 + static_cast<uint64_t>(v.type) : 0;
    h = fold(h, tag);
    if (!v.present) continue;
    switch (v.type) {
      case AttrType::kString:
        h = fold_bytes(h, v.string_value);
        break;
      case AttrType::kBool: h = fold(h, v.bool_value ? 1 : 0); break;
      case AttrType::kInt: h = fold(h, static_cast<uint64_t>(v.int_value)); break;
      case AttrType::kDouble: {
        uint64_t bits;
        std::memcpy(&bits, &v.double_value, sizeof bits);
        h = fold(h, bits);
        break;
      }
    }
  }
  return h;
}

struct OwnedValue {
  bool present = false;
  AttrType type = AttrType::kString;
  bool bool_value = false;
  int64_t int_value = 0;
  double double_value = 0;
  std::string string_value;

  explicit OwnedValue(const ValueView& v)
      : present(v.present), type(v.type), bool_value(v.bool_value), int_value(v.int_value),
        double_value(v.double_value), string_value(v.string_value) {}

  bool operator==(const ValueView& v) const noexcept {
    if (present != v.present) return false;
    if (!present) return true;
    if (type != v.type) return false;
    switch (type) {
      case AttrType::kString: return string_value == v.string_value;
      case AttrType::kBool: return bool_value == v.bool_value;
      case AttrType::kInt: return int_value == v.int_value;
      // Bitwise, so NaN finds its own set again.
      case AttrType::kDouble: return std::memcmp(&double_value, &v.double_value, sizeof(double)) == 0;
    }
    return false;
  }
};

struct Series {
  uint64_t hash = 0;
  bool overflow = false;
  std::vector<OwnedValue> values;  // aligned with the table's keys
  uint64_t start_time_unix_ns = 0;
  HistogramAggregate aggregate;
};

// The aggregator's lock is held around every call but the constructor.
class SeriesTable {
 public:
  SeriesTable(std::vector<std::string> keys, std::vector<double> bounds, size_t limit, SpanMetricsStats& stats);

  const std::vector<std::string>& keys() const noexcept { return keys_; }
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  const std::vector<Series>& series() const noexcept { return series_; }

  // Only a new attribute set allocates.
  void record(std::span<const ValueView> values, double value) {
    find_or_add(values).aggregate.record(value, bounds_);
  }

 private:
  static constexpr int32_t kEmpty = -1;

  Series& find_or_add(std::span<const ValueView> values) {
    const uint64_t hash = hash_values(values);
    for (size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
      const int32_t index = slots_[slot];
      if (index == kEmpty) {
        // The overflow set takes the last place (OpenTelemetry SDK: limit - 1 real sets).
        const size_t regular = series_.size() - (overflow_ == kEmpty ? 0 : 1);
        if (regular + 1 >= limit_) return overflow_series();
        if ((series_.size() + 1) * 2 > slots_.size()) {
          grow();
          return find_or_add(values);
        }
        slots_[slot] = static_cast<int32_t>(series_.size());
        return add_series(hash, values, false);
      }
      Series& s = series_[static_cast<size_t>(index)];
      if (s.hash == hash && std::equal(s.values.begin(), s.values.end(), values.begin(), values.end())) {
        return s;
      }
    }
  }

  Series& overflow_series();
  void grow();
  Series& add_series(uint64_t hash, std::span<const ValueView> values, bool overflow);

  std::vector<std::string> keys_;
  std::vector<double> bounds_;
  size_t limit_;
  SpanMetricsStats& stats_;
  std::vector<int32_t> slots_;
  size_t mask_ = 0;
  std::vector<Series> series_;
  int32_t overflow_ = kEmpty;
};

uint64_t unix_now_ns() noexcept;

}  // namespace bto::metrics_detail

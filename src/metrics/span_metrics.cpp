#include "metrics/span_metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <span>

#include <fmt/format.h>

#include "spans/route_normalizer.h"

namespace bto {
namespace {

constexpr std::string_view kHttpFamily = "http_request";
constexpr std::string_view kOverflowKey = "otel.metric.overflow";
constexpr std::string_view kFamilyKey = "bpftrace.family";
constexpr std::string_view kStatusKey = "otel.status_code";
constexpr std::string_view kIncompleteKey = "bpftrace_otel.incomplete";

uint64_t unix_now_ns() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

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
uint64_t fold(uint64_t h, uint64_t word) noexcept {
  const unsigned __int128 product = static_cast<unsigned __int128>(h ^ word) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

uint64_t fold_bytes(uint64_t h, std::string_view bytes) noexcept {
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

uint64_t hash_values(std::span<const ValueView> values) noexcept {
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
  uint64_t count = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  std::vector<uint64_t> buckets;
};

// The attribute sets of one metric (or of two metrics fed by the same
// measurements) and their histogram state. Bounded: at most `limit` series,
// the last one being the overflow set; preallocated so that recording into a
// known set never allocates and series never move.
class SeriesTable {
 public:
  SeriesTable(std::vector<std::string> keys, std::vector<double> bounds, size_t limit, SpanMetricsStats& stats)
      : keys_(std::move(keys)), bounds_(std::move(bounds)), limit_(std::max<size_t>(limit, 1)), stats_(stats) {
    size_t slots = 4;
    while (slots < 2 * limit_) slots *= 2;
    slots_.assign(slots, kEmpty);
    mask_ = slots - 1;
    series_.reserve(limit_);
  }

  const std::vector<std::string>& keys() const noexcept { return keys_; }
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  const std::vector<Series>& series() const noexcept { return series_; }

  // Caller holds the aggregator's lock. Only a new attribute set allocates.
  void record(std::span<const ValueView> values, double value) {
    Series& s = find_or_add(values);
    ++s.count;
    s.sum += value;
    s.min = std::min(s.min, value);
    s.max = std::max(s.max, value);
    if (!s.buckets.empty()) {
      // Bucket i holds (bounds[i-1], bounds[i]]: the first bound >= value.
      const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
      ++s.buckets[static_cast<size_t>(it - bounds_.begin())];
    }
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
        slots_[slot] = static_cast<int32_t>(series_.size());
        return add_series(hash, values, false);
      }
      Series& s = series_[static_cast<size_t>(index)];
      if (s.hash == hash && std::equal(s.values.begin(), s.values.end(), values.begin(), values.end())) {
        return s;
      }
    }
  }

  Series& overflow_series() {
    stats_.overflow_measurements.fetch_add(1, std::memory_order_relaxed);
    if (overflow_ == kEmpty) {
      overflow_ = static_cast<int32_t>(series_.size());
      add_series(0, {}, true);
    }
    return series_[static_cast<size_t>(overflow_)];
  }

  Series& add_series(uint64_t hash, std::span<const ValueView> values, bool overflow) {
    Series& s = series_.emplace_back();
    s.hash = hash;
    s.overflow = overflow;
    s.values.reserve(values.size());
    for (const ValueView& v : values) s.values.emplace_back(v);
    s.start_time_unix_ns = unix_now_ns();
    s.buckets.assign(bounds_.size() + 1, 0);
    stats_.series.fetch_add(1, std::memory_order_relaxed);
    return s;
  }

  std::vector<std::string> keys_;
  std::vector<double> bounds_;
  size_t limit_;
  SpanMetricsStats& stats_;
  std::vector<int32_t> slots_;
  size_t mask_ = 0;
  std::vector<Series> series_;
  int32_t overflow_ = kEmpty;
};

// One exported metric: a view of a table as a histogram or as a counter.
struct Instrument {
  std::string name, unit, description;
  MetricKind kind;
  SeriesTable* table;
  std::vector<double> bounds;  // in the metric's unit
  double scale = 1;            // bounds and values: seconds * scale
};

struct Derived {
  DerivedMetric declared;
  double scale = 1;  // ns -> the histogram's unit
  std::unique_ptr<SeriesTable> table;
  std::vector<ValueView> values;
};

double seconds_scale(std::string_view unit) noexcept {
  if (unit.empty() || unit == "s") return 1;
  if (unit == "ms") return 1e3;
  if (unit == "us") return 1e6;
  if (unit == "ns") return 1e9;
  return 0;
}

// http.request.method values outside the well-known set become _OTHER
// (semantic conventions), so a scanner sending junk methods cannot blow the limit.
std::string_view known_method(std::string_view method) noexcept {
  static constexpr std::string_view kMethods[] = {"GET",     "HEAD",  "POST",  "PUT",  "DELETE",
                                                  "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"};
  for (const std::string_view known : kMethods) {
    if (method == known) return known;
  }
  return "_OTHER";
}

bool status_code_of(const Attribute* a, int64_t& code) noexcept {
  if (a == nullptr) return false;
  if (a->type == AttrType::kInt) {
    code = a->int_value;
    return true;
  }
  if (a->type != AttrType::kString) return false;
  const std::string_view s = a->string_value;
  const auto result = std::from_chars(s.data(), s.data() + s.size(), code);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

class SpanMetricsImpl final : public SpanMetrics {
 public:
  SpanMetricsImpl(const SpanMetricsOptions& options, SpanMetricsStats& stats) : stats_(stats) {
    const size_t limit = options.cardinality_limit;
    http_ = std::make_unique<SeriesTable>(
        std::vector<std::string>{"http.request.method", "http.response.status_code", "http.route", "error.type"},
        options.duration_buckets, limit, stats);
    generic_ = std::make_unique<SeriesTable>(std::vector<std::string>{std::string(kFamilyKey), std::string(kStatusKey)},
                                             options.duration_buckets, limit, stats);
    instruments_.push_back({std::string(kHttpServerDuration), "s", "Duration of HTTP server requests.",
                            MetricKind::kHistogram, http_.get(), options.duration_buckets, 1});
    instruments_.push_back({std::string(kSpanCount), "{span}",
                            "Finished spans of families other than http_request, by family and status.",
                            MetricKind::kCounter, generic_.get(), {}, 1});
    instruments_.push_back({std::string(kSpanDuration), "s",
                            "Duration of spans of families other than http_request.", MetricKind::kHistogram,
                            generic_.get(), options.duration_buckets, 1});
    for (const DerivedMetric& d : options.derived) {
      auto& derived = derived_.emplace_back();
      derived.declared = d;
      derived.values.resize(d.attributes.size());
      const bool histogram = d.kind == DerivedMetric::Kind::kHistogram;
      derived.scale = histogram ? seconds_scale(d.unit) : 1;
      std::vector<double> bounds;
      if (histogram) {
        for (const double b : options.duration_buckets) bounds.push_back(b * derived.scale);
      }
      derived.table = std::make_unique<SeriesTable>(d.attributes, bounds, limit, stats);
      instruments_.push_back({d.name, histogram && d.unit.empty() ? "s" : d.unit, d.description,
                              histogram ? MetricKind::kHistogram : MetricKind::kCounter, derived.table.get(),
                              bounds, derived.scale});
    }
    route_.reserve(256);
  }

  void on_span_finished(std::string_view family, const SpanRecord& span) noexcept override {
    stats_.spans_observed.fetch_add(1, std::memory_order_relaxed);
    const uint64_t ns = span.end_time_unix_ns > span.start_time_unix_ns
                            ? span.end_time_unix_ns - span.start_time_unix_ns
                            : 0;
    const double seconds = static_cast<double>(ns) / 1e9;
    try {
      // Attribute values are gathered before the lock: only the table update is inside.
      if (family == kHttpFamily) {
        http_values(span);
        std::lock_guard lock(mutex_);
        http_->record(http_values_, seconds);
      } else {
        ValueView values[2] = {ValueView::of(family), {}};
        if (span.status == StatusCode::kOk) values[1] = ValueView::of(std::string_view("OK"));
        if (span.status == StatusCode::kError) values[1] = ValueView::of(std::string_view("ERROR"));
        std::lock_guard lock(mutex_);
        generic_->record(values, seconds);
      }
      for (Derived& d : derived_) {
        if (d.declared.family != family) continue;
        for (size_t i = 0; i < d.values.size(); ++i) {
          d.values[i] = ValueView::of(span.attributes.find(d.declared.attributes[i]));
        }
        std::lock_guard lock(mutex_);
        d.table->record(d.values, seconds * d.scale);
      }
    } catch (const std::bad_alloc&) {
      // Only a new attribute set allocates; losing one measurement beats dying.
    }
  }

  void collect(MetricsSnapshot& out) override {
    out.time_unix_ns = unix_now_ns();
    size_t used = 0;
    std::lock_guard lock(mutex_);
    for (const Instrument& instrument : instruments_) {
      const SeriesTable& table = *instrument.table;
      if (table.series().empty()) continue;
      if (out.metrics.size() <= used) out.metrics.emplace_back();
      MetricStream& stream = out.metrics[used++];
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
    out.metrics.resize(used);
  }

 private:
  // The HTTP attributes a measurement needs, found in one pass over the span's
  // attributes. Where several keys are accepted the earlier one in each list
  // wins (stable semantic conventions before legacy ones).
  struct HttpAttributes {
    const Attribute* method[2] = {};  // http.request.method, http.method
    const Attribute* code[2] = {};    // http.response.status_code, http.status_code
    const Attribute* route = nullptr;
    const Attribute* uri[4] = {};     // url.path, http.target, url.full, http.url
    const Attribute* incomplete = nullptr;
  };

  static HttpAttributes find_http_attributes(const AttributeList& list) noexcept {
    HttpAttributes found;
    const auto keep = [](const Attribute*& slot, const Attribute& a) {
      if (slot == nullptr) slot = &a;
    };
    for (const Attribute& a : list.items()) {
      const std::string_view key = a.key;
      if (key == "http.request.method") keep(found.method[0], a);
      else if (key == "http.method") keep(found.method[1], a);
      else if (key == "http.response.status_code") keep(found.code[0], a);
      else if (key == "http.status_code") keep(found.code[1], a);
      else if (key == "http.route") keep(found.route, a);
      else if (key == "url.path") keep(found.uri[0], a);
      else if (key == "http.target") keep(found.uri[1], a);
      else if (key == "url.full") keep(found.uri[2], a);
      else if (key == "http.url") keep(found.uri[3], a);
      else if (key == kIncompleteKey) keep(found.incomplete, a);
    }
    return found;
  }

  template <size_t N>
  static const Attribute* first_of(const Attribute* const (&candidates)[N]) noexcept {
    for (const Attribute* a : candidates) {
      if (a != nullptr) return a;
    }
    return nullptr;
  }

  void http_values(const SpanRecord& span) noexcept {
    const HttpAttributes found = find_http_attributes(span.attributes);
    for (ValueView& v : http_values_) v = {};
    if (const Attribute* method = first_of(found.method); method != nullptr && method->type == AttrType::kString) {
      http_values_[0] = ValueView::of(known_method(method->string_value));
    }
    int64_t code = 0;
    const bool has_code = status_code_of(first_of(found.code), code);
    if (has_code) http_values_[1] = ValueView::of_int(code);
    if (const Attribute* route = found.route; route != nullptr && route->type == AttrType::kString) {
      http_values_[2] = ValueView::of(std::string_view(route->string_value));
    } else if (const Attribute* uri = first_of(found.uri); uri != nullptr && uri->type == AttrType::kString) {
      normalize_route(uri->string_value, route_);
      http_values_[2] = ValueView::of(std::string_view(route_));
    }
    // error.type: the status code for 5xx, else why the span failed.
    if (has_code && code >= 500) {
      const auto result = std::to_chars(code_text_, code_text_ + sizeof code_text_, code);
      http_values_[3] = ValueView::of(std::string_view(code_text_, static_cast<size_t>(result.ptr - code_text_)));
    } else if (span.status == StatusCode::kError) {
      const Attribute* reason = found.incomplete;
      http_values_[3] = ValueView::of(reason != nullptr && reason->type == AttrType::kString
                                          ? std::string_view(reason->string_value)
                                          : std::string_view("_OTHER"));
    }
  }

  static void copy_point(const SeriesTable& table, const Series& s, MetricKind kind, MetricPoint& p) {
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
    p.count = s.count;
    if (kind == MetricKind::kHistogram) {
      p.sum = s.sum;
      p.min = s.min;
      p.max = s.max;
      p.bucket_counts = s.buckets;
    } else {
      p.sum = p.min = p.max = 0;
      p.bucket_counts.clear();
    }
  }

  SpanMetricsStats& stats_;
  std::mutex mutex_;
  std::unique_ptr<SeriesTable> http_;
  std::unique_ptr<SeriesTable> generic_;
  std::vector<Derived> derived_;
  std::vector<Instrument> instruments_;
  // Reader-thread scratch.
  ValueView http_values_[4];
  std::string route_;
  char code_text_[24] = {};
};

}  // namespace

size_t MetricsSnapshot::data_points() const noexcept {
  size_t n = 0;
  for (const MetricStream& m : metrics) n += m.points.size();
  return n;
}

std::unique_ptr<SpanMetrics> create_span_metrics(const SpanMetricsOptions& options, SpanMetricsStats& stats) {
  return std::make_unique<SpanMetricsImpl>(options, stats);
}

std::string validate_span_metrics_options(const SpanMetricsOptions& options) {
  if (options.cardinality_limit == 0) return "metrics cardinality limit must be at least 1";
  if (options.export_interval.count() <= 0) return "metrics export interval must be positive";
  if (options.export_timeout.count() <= 0) return "metrics export timeout must be positive";
  const auto& b = options.duration_buckets;
  for (size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1])) {
      return "metrics duration buckets must be finite and strictly increasing";
    }
  }
  for (size_t i = 0; i < options.derived.size(); ++i) {
    const DerivedMetric& d = options.derived[i];
    if (d.name.empty() || d.family.empty()) return "a derived metric needs a name and a family";
    for (size_t j = 0; j < i; ++j) {
      if (options.derived[j].name == d.name) return fmt::format("derived metric {} is declared twice", d.name);
    }
    if (d.name == kHttpServerDuration || d.name == kSpanCount || d.name == kSpanDuration) {
      return fmt::format("derived metric {} has the name of a built-in metric", d.name);
    }
    if (d.kind == DerivedMetric::Kind::kHistogram && seconds_scale(d.unit) == 0) {
      return fmt::format("derived histogram {} measures span durations: unit must be s, ms, us or ns, not {}",
                         d.name, d.unit);
    }
  }
  return {};
}

}  // namespace bto

#include "metrics/span_metrics.h"

#include <cmath>
#include <mutex>

#include <fmt/format.h>

#include "metrics/http_measurement.h"
#include "metrics/instruments.h"
#include "metrics/series_table.h"

namespace bto {
namespace {

using metrics_detail::HttpMeasurement;
using metrics_detail::Instrument;
using metrics_detail::SeriesTable;
using metrics_detail::ValueView;

constexpr std::string_view kHttpFamily = "http_request";
constexpr std::string_view kFamilyKey = "bpftrace.family";
constexpr std::string_view kStatusKey = "otel.status_code";

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

class SpanMetricsImpl final : public SpanMetrics {
 public:
  SpanMetricsImpl(const SpanMetricsOptions& options, SpanMetricsStats& stats) : stats_(stats) {
    const size_t limit = options.cardinality_limit;
    http_table_ = std::make_unique<SeriesTable>(HttpMeasurement::keys(), options.duration_buckets, limit, stats);
    generic_ = std::make_unique<SeriesTable>(std::vector<std::string>{std::string(kFamilyKey), std::string(kStatusKey)},
                                             options.duration_buckets, limit, stats);
    instruments_.push_back({std::string(kHttpServerDuration), "s", "Duration of HTTP server requests.",
                            MetricKind::kHistogram, http_table_.get(), options.duration_buckets, 1});
    instruments_.push_back({std::string(kSpanCount), "{span}",
                            "Finished spans of families other than http_request, by family and status.",
                            MetricKind::kCounter, generic_.get(), {}, 1});
    instruments_.push_back({std::string(kSpanDuration), "s",
                            "Duration of spans of families other than http_request.", MetricKind::kHistogram,
                            generic_.get(), options.duration_buckets, 1});
    for (const DerivedMetric& d : options.derived) add_derived(d, options.duration_buckets, limit);
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
        const auto values = http_.values_of(span);
        std::lock_guard lock(mutex_);
        http_table_->record(values, seconds);
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
    out.time_unix_ns = metrics_detail::unix_now_ns();
    std::lock_guard lock(mutex_);
    metrics_detail::snapshot_instruments(instruments_, out);
  }

 private:
  void add_derived(const DerivedMetric& d, const std::vector<double>& duration_buckets, size_t limit) {
    auto& derived = derived_.emplace_back();
    derived.declared = d;
    derived.values.resize(d.attributes.size());
    const bool histogram = d.kind == DerivedMetric::Kind::kHistogram;
    derived.scale = histogram ? seconds_scale(d.unit) : 1;
    std::vector<double> bounds;
    if (histogram) {
      for (const double b : duration_buckets) bounds.push_back(b * derived.scale);
    }
    derived.table = std::make_unique<SeriesTable>(d.attributes, bounds, limit, stats_);
    instruments_.push_back({d.name, histogram && d.unit.empty() ? "s" : d.unit, d.description,
                            histogram ? MetricKind::kHistogram : MetricKind::kCounter, derived.table.get(), bounds,
                            derived.scale});
  }

  SpanMetricsStats& stats_;
  std::mutex mutex_;
  std::unique_ptr<SeriesTable> http_table_;
  std::unique_ptr<SeriesTable> generic_;
  std::vector<Derived> derived_;
  std::vector<Instrument> instruments_;
  HttpMeasurement http_;  // reader-thread scratch
};

}  // namespace

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

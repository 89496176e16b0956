#include "metrics/span_metrics.h"

#include <array>
#include <cmath>
#include <mutex>
#include <span>
#include <unordered_map>

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

double seconds_scale(std::string_view unit) noexcept {
  if (unit.empty() || unit == "s") return 1;
  if (unit == "ms") return 1e3;
  if (unit == "us") return 1e6;
  if (unit == "ns") return 1e9;
  return 0;
}

// The series of one resource: a traced process, or the exporter's own (each
// is what one OpenTelemetry SDK would keep, so the cardinality limit applies
// per metric and resource).
struct ResourceTables {
  ResourceRef resource;
  std::unique_ptr<SeriesTable> http;
  std::unique_ptr<SeriesTable> generic;
  std::vector<std::unique_ptr<SeriesTable>> derived;  // aligned with SpanMetricsImpl::derived_
  std::vector<Instrument> instruments;
};

struct Derived {
  DerivedMetric declared;
  double scale = 1;  // ns -> the histogram's unit
  std::vector<double> bounds;
  std::vector<ValueView> values;  // reader-thread scratch
};

class SpanMetricsImpl final : public SpanMetrics {
 public:
  SpanMetricsImpl(const SpanMetricsOptions& options, SpanMetricsStats& stats)
      : stats_(stats),
        limit_(options.cardinality_limit),
        max_resources_(std::max<size_t>(options.max_resources, 1)),
        buckets_(options.duration_buckets) {
    for (const DerivedMetric& d : options.derived) {
      Derived& derived = derived_.emplace_back();
      derived.declared = d;
      derived.values.resize(d.attributes.size());
      const bool histogram = d.kind == DerivedMetric::Kind::kHistogram;
      derived.scale = histogram ? seconds_scale(d.unit) : 1;
      if (histogram) {
        for (const double b : buckets_) derived.bounds.push_back(b * derived.scale);
      }
    }
    own_ = add_tables(ResourceRef());
  }

  void on_span_finished(std::string_view family, const SpanRecord& span) noexcept override {
    stats_.spans_observed.fetch_add(1, std::memory_order_relaxed);
    const uint64_t ns = span.end_time_unix_ns > span.start_time_unix_ns
                            ? span.end_time_unix_ns - span.start_time_unix_ns
                            : 0;
    const double seconds = static_cast<double>(ns) / 1e9;
    try {
      // Attribute values are gathered before the lock: only the table update is inside.
      const bool http = family == kHttpFamily;
      std::array<ValueView, 2> generic_values{ValueView::of(family), ValueView{}};
      std::span<const ValueView> http_values;
      if (http) {
        http_values = http_.values_of(span);
      } else {
        if (span.status == StatusCode::kOk) generic_values[1] = ValueView::of(std::string_view("OK"));
        if (span.status == StatusCode::kError) generic_values[1] = ValueView::of(std::string_view("ERROR"));
      }
      for (Derived& d : derived_) {
        if (d.declared.family != family) continue;
        for (size_t i = 0; i < d.values.size(); ++i) {
          d.values[i] = ValueView::of(span.attributes.find(d.declared.attributes[i]));
        }
      }
      std::lock_guard lock(mutex_);
      ResourceTables& tables = tables_of(span.resource);
      if (http) {
        tables.http->record(http_values, seconds);
      } else {
        tables.generic->record(generic_values, seconds);
      }
      for (size_t i = 0; i < derived_.size(); ++i) {
        const Derived& d = derived_[i];
        if (d.declared.family == family) tables.derived[i]->record(d.values, seconds * d.scale);
      }
    } catch (const std::bad_alloc&) {
      // Only a new attribute set (or resource) allocates; losing one measurement beats dying.
    }
  }

  void collect(MetricsSnapshot& out) override {
    out.time_unix_ns = metrics_detail::unix_now_ns();
    // References of the previous collection would make a retired process look alive.
    for (ResourceMetrics& r : out.resources) r.resource.reset();
    std::lock_guard lock(mutex_);
    size_t used = 0;
    for (size_t t = 0; t < tables_.size();) {
      ResourceTables& tables = *tables_[t];
      if (out.resources.size() <= used) out.resources.emplace_back();
      ResourceMetrics& r = out.resources[used];
      metrics_detail::snapshot_instruments(tables.instruments, r.metrics);
      if (!r.metrics.empty()) {
        r.resource = tables.resource;
        ++used;
      }
      // Held only by the tables and this snapshot: the process exited and
      // none of its spans is left anywhere. This was its last collection.
      if (tables.resource && tables.resource.get()->use_count() <= (r.resource ? 2u : 1u)) {
        retire(t);
      } else {
        ++t;
      }
    }
    out.resources.resize(used);
  }

 private:
  ResourceTables& tables_of(const ResourceRef& resource) {
    const Resource* key = resource.get();
    if (last_ != nullptr && last_->resource.get() == key) return *last_;
    const auto found = by_resource_.find(key);
    if (found != by_resource_.end()) return *(last_ = found->second);
    if (tables_.size() > max_resources_) {  // the exporter's own tables do not count
      stats_.resource_overflow_measurements.fetch_add(1, std::memory_order_relaxed);
      return *own_;
    }
    return *(last_ = add_tables(resource));
  }

  ResourceTables* add_tables(const ResourceRef& resource) {
    auto tables = std::make_unique<ResourceTables>();
    tables->resource = resource;
    tables->http = std::make_unique<SeriesTable>(HttpMeasurement::keys(), buckets_, limit_, stats_);
    tables->generic = std::make_unique<SeriesTable>(
        std::vector<std::string>{std::string(kFamilyKey), std::string(kStatusKey)}, buckets_, limit_, stats_);
    tables->instruments.push_back({std::string(kHttpServerDuration), "s", "Duration of HTTP server requests.",
                                   MetricKind::kHistogram, tables->http.get(), buckets_, 1});
    tables->instruments.push_back({std::string(kSpanCount), "{span}",
                                   "Finished spans of families other than http_request, by family and status.",
                                   MetricKind::kCounter, tables->generic.get(), {}, 1});
    tables->instruments.push_back({std::string(kSpanDuration), "s",
                                   "Duration of spans of families other than http_request.", MetricKind::kHistogram,
                                   tables->generic.get(), buckets_, 1});
    for (const Derived& d : derived_) {
      const bool histogram = d.declared.kind == DerivedMetric::Kind::kHistogram;
      tables->derived.push_back(std::make_unique<SeriesTable>(d.declared.attributes, d.bounds, limit_, stats_));
      tables->instruments.push_back({d.declared.name, histogram && d.declared.unit.empty() ? "s" : d.declared.unit,
                                     d.declared.description,
                                     histogram ? MetricKind::kHistogram : MetricKind::kCounter,
                                     tables->derived.back().get(), d.bounds, d.scale});
    }
    ResourceTables* raw = tables.get();
    tables_.push_back(std::move(tables));
    by_resource_.emplace(resource.get(), raw);
    stats_.resources.store(tables_.size(), std::memory_order_relaxed);
    return raw;
  }

  void retire(size_t index) {
    ResourceTables* tables = tables_[index].get();
    if (last_ == tables) last_ = nullptr;
    by_resource_.erase(tables->resource.get());
    size_t series = 0;
    series += tables->http->series().size() + tables->generic->series().size();
    for (const auto& d : tables->derived) series += d->series().size();
    stats_.series.fetch_sub(series, std::memory_order_relaxed);
    tables_.erase(tables_.begin() + static_cast<std::ptrdiff_t>(index));
    stats_.resources.store(tables_.size(), std::memory_order_relaxed);
  }

  SpanMetricsStats& stats_;
  const size_t limit_;
  const size_t max_resources_;
  const std::vector<double> buckets_;
  std::vector<Derived> derived_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<ResourceTables>> tables_;  // own_ first, then in order of first span
  std::unordered_map<const Resource*, ResourceTables*> by_resource_;
  ResourceTables* own_ = nullptr;
  ResourceTables* last_ = nullptr;  // the last span's, under the lock
  HttpMeasurement http_;            // reader-thread scratch
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

#include "metrics/metrics_exporter.h"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "export/console_exporter.h"
#include "export/grpc_transport.h"
#include "export/otlp_send_transport.h"
#include "export/retrying_sender.h"
#include "metrics/otlp_metrics_encoder.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The span exporters' retrying sender and transports, counting into the
// metrics stats. ExportMetricsServiceResponse.partial_success has the trace
// response's layout (rejected_data_points = 1, error_message = 2).
class OtlpMetricsTransport final : public MetricsTransport {
 public:
  OtlpMetricsTransport(std::unique_ptr<SendTransport> transport, const OtlpOptions& options,
                       SpanMetricsStats& stats) {
    SenderOptions sender;
    sender.retry = options.retry;
    sender.timeout = options.timeout;
    sender.log_prefix = "OTLP metrics";
    sender.items = "data points";
    sender.counters.requests = &stats.export_requests;
    sender.counters.failures = &stats.export_failures;
    sender.counters.items_exported = &stats.data_points_exported;
    sender.counters.items_rejected = &stats.data_points_rejected;
    sender_ = create_retrying_sender(std::move(transport), sender);
  }

  ExportResult send(std::string_view request, size_t points, SteadyTime deadline) noexcept override {
    return sender_->send(request, points, deadline);
  }

  void abort() noexcept override { sender_->abort(); }

 private:
  std::unique_ptr<RetryingSender> sender_;
};

class OtlpMetricsExporter final : public MetricsExporter {
 public:
  OtlpMetricsExporter(const ResourceInfo& resource, std::unique_ptr<MetricsTransport> transport)
      : resource_(resource), transport_(std::move(transport)) {}

  ExportResult export_metrics(const MetricsSnapshot& snapshot, SteadyTime deadline) noexcept override {
    const size_t points = snapshot.data_points();
    if (points == 0) return ExportResult::kSuccess;  // nothing seen yet: no empty request
    try {
      encode_otlp_metrics_protobuf(resource_, snapshot, body_);
    } catch (const std::exception& e) {  // std::bad_alloc only
      error_log_.error("OTLP metrics: encoding {} data points failed ({})", points, e.what());
      return ExportResult::kPermanent;
    }
    return transport_->send(body_, points, deadline);
  }

  void shutdown() noexcept override { transport_->abort(); }

 private:
  const ResourceInfo resource_;
  std::unique_ptr<MetricsTransport> transport_;
  std::string body_;  // reused
  RateLimitedLog error_log_;
};

void append_attributes(std::string& out, const AttributeList& attributes) {
  out += '{';
  bool first = true;
  for (const Attribute& a : attributes.items()) {
    if (!first) out += ", ";
    first = false;
    out += a.key;
    out += '=';
    switch (a.type) {
      case AttrType::kString: out += a.string_value; break;
      case AttrType::kBool: out += a.bool_value ? "true" : "false"; break;
      case AttrType::kInt: fmt::format_to(std::back_inserter(out), "{}", a.int_value); break;
      case AttrType::kDouble: fmt::format_to(std::back_inserter(out), "{}", a.double_value); break;
    }
  }
  out += '}';
}

// The upper bound of the bucket holding the q-quantile: what a reader of a
// console table wants ("90% were under 50 ms").
double quantile_bound(const MetricPoint& p, const std::vector<double>& bounds, double q) {
  const auto target = static_cast<uint64_t>(q * static_cast<double>(p.count) + 0.999999);
  uint64_t seen = 0;
  for (size_t i = 0; i < p.bucket_counts.size(); ++i) {
    seen += p.bucket_counts[i];
    if (seen >= target) return i < bounds.size() ? bounds[i] : p.max;
  }
  return p.max;
}

class ConsoleMetricsExporter final : public MetricsExporter {
 public:
  explicit ConsoleMetricsExporter(std::shared_ptr<LocalOutput> out) : out_(std::move(out)) {}

  ExportResult export_metrics(const MetricsSnapshot& snapshot, SteadyTime deadline) noexcept override {
    if (snapshot.data_points() == 0) return ExportResult::kSuccess;
    try {
      format_metrics_text(snapshot, text_);
    } catch (const std::exception&) {
      return ExportResult::kPermanent;
    }
    return export_result_of(out_->write(text_, cancel_, deadline));
  }
  void shutdown() noexcept override { cancel_.cancel(); }

 private:
  std::shared_ptr<LocalOutput> out_;
  WriteCancel cancel_;
  std::string text_;
};

class FileMetricsExporter final : public MetricsExporter {
 public:
  FileMetricsExporter(const ResourceInfo& resource, std::shared_ptr<LocalOutput> out)
      : resource_(resource), out_(std::move(out)) {}

  ExportResult export_metrics(const MetricsSnapshot& snapshot, SteadyTime deadline) noexcept override {
    if (snapshot.data_points() == 0) return ExportResult::kSuccess;
    try {
      encode_otlp_metrics_json(resource_, snapshot, line_);
      line_ += '\n';
    } catch (const std::exception&) {
      return ExportResult::kPermanent;
    }
    return export_result_of(out_->write(line_, cancel_, deadline));
  }
  void shutdown() noexcept override { cancel_.cancel(); }

 private:
  ResourceInfo resource_;
  std::shared_ptr<LocalOutput> out_;
  WriteCancel cancel_;
  std::string line_;
};

class PeriodicReader final : public MetricsReader {
 public:
  PeriodicReader(SpanMetrics& metrics, std::unique_ptr<MetricsExporter> exporter, milliseconds interval,
                 milliseconds export_timeout)
      : metrics_(metrics), exporter_(std::move(exporter)), interval_(interval), export_timeout_(export_timeout) {
    thread_ = std::thread([this] { run(); });
  }

  ~PeriodicReader() override { shutdown(milliseconds(0)); }

  void shutdown(milliseconds deadline) noexcept override {
    std::unique_lock lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      final_deadline_ = Clock::now() + deadline;
      wake_.notify_all();
      if (!done_.wait_until(lock, final_deadline_, [this] { return finished_; })) {
        spdlog::warn("metrics: final export did not finish within the shutdown deadline; abandoned");
        exporter_->shutdown();
      }
    }
    lock.unlock();
    std::lock_guard join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() noexcept {
    for (;;) {
      SteadyTime deadline;
      bool last = false;
      {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, interval_, [this] { return stopping_; });
        last = stopping_;
        deadline = last ? std::min(final_deadline_, Clock::now() + export_timeout_) : Clock::now() + export_timeout_;
      }
      try {
        metrics_.collect(snapshot_);
      } catch (const std::exception& e) {  // std::bad_alloc only
        spdlog::error("metrics: collection failed ({})", e.what());
      }
      exporter_->export_metrics(snapshot_, deadline);
      if (last) break;
    }
    std::lock_guard lock(mutex_);
    finished_ = true;
    done_.notify_all();
  }

  SpanMetrics& metrics_;
  std::unique_ptr<MetricsExporter> exporter_;
  const milliseconds interval_;
  const milliseconds export_timeout_;
  MetricsSnapshot snapshot_;  // reader thread only; reused
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stopping_ = false;
  bool finished_ = false;
  SteadyTime final_deadline_{};
  std::mutex join_mutex_;
  std::thread thread_;
};

std::string origin_of(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  return std::string(url.substr(0, url.find('/', authority_start)));
}

void append_metric_text(std::string& out, const MetricStream& m) {
  fmt::format_to(std::back_inserter(out), "  {} ({}, {})\n", m.name,
                 m.kind == MetricKind::kHistogram ? "histogram" : "counter", m.unit.empty() ? "1" : m.unit);
  for (const MetricPoint& p : m.points) {
    out += "    ";
    append_attributes(out, p.attributes);
    if (m.kind == MetricKind::kCounter) {
      fmt::format_to(std::back_inserter(out), " {}\n", p.count);
      continue;
    }
    const double mean = p.count == 0 ? 0 : p.sum / static_cast<double>(p.count);
    fmt::format_to(std::back_inserter(out), " count={} mean={:.6g} min={:.6g} max={:.6g} p50<={:.6g} p99<={:.6g}\n",
                   p.count, mean, p.count == 0 ? 0 : p.min, p.count == 0 ? 0 : p.max,
                   quantile_bound(p, m.bounds, 0.5), quantile_bound(p, m.bounds, 0.99));
  }
}

}  // namespace

void format_metrics_text(const MetricsSnapshot& snapshot, std::string& out) {
  out.clear();
  const auto seconds = static_cast<std::time_t>(snapshot.time_unix_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  fmt::format_to(std::back_inserter(out), "metrics at {:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z (cumulative since start)\n",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  for (const ResourceMetrics& r : snapshot.resources) {
    if (r.resource) {
      const Attribute* service = r.resource->attributes.find("service.name");
      fmt::format_to(std::back_inserter(out), " process {} ({})\n", r.resource->pid,
                     service != nullptr ? std::string_view(service->string_value) : std::string_view("?"));
    }
    for (const MetricStream& m : r.metrics) append_metric_text(out, m);
  }
}

std::unique_ptr<MetricsTransport> create_otlp_http_metrics_transport(const OtlpOptions& options,
                                                                     SpanMetricsStats& stats) {
  return std::make_unique<OtlpMetricsTransport>(create_otlp_http_send_transport(options, "application/x-protobuf"),
                                                options, stats);
}

std::unique_ptr<MetricsTransport> create_otlp_grpc_metrics_transport(const OtlpOptions& options,
                                                                     SpanMetricsStats& stats) {
  return std::make_unique<OtlpMetricsTransport>(create_otlp_grpc_send_transport(options, kOtlpMetricsExportMethod),
                                                options, stats);
}

std::unique_ptr<MetricsExporter> create_otlp_metrics_exporter(const ResourceInfo& resource,
                                                              std::unique_ptr<MetricsTransport> transport) {
  return std::make_unique<OtlpMetricsExporter>(resource, std::move(transport));
}

std::unique_ptr<MetricsExporter> create_file_metrics_exporter(const ResourceInfo& resource,
                                                              std::shared_ptr<LocalOutput> out) {
  return std::make_unique<FileMetricsExporter>(resource, std::move(out));
}

std::unique_ptr<MetricsExporter> create_console_metrics_exporter(std::shared_ptr<LocalOutput> out) {
  return std::make_unique<ConsoleMetricsExporter>(out);
}

std::unique_ptr<MetricsReader> start_metrics_reader(SpanMetrics& metrics, std::unique_ptr<MetricsExporter> exporter,
                                                    std::chrono::milliseconds interval,
                                                    std::chrono::milliseconds export_timeout) {
  return std::make_unique<PeriodicReader>(metrics, std::move(exporter), interval, export_timeout);
}

std::string otlp_metrics_url_from_base(std::string_view base) {
  std::string url(base);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/v1/metrics";
}

std::string otlp_metrics_url_from_traces(std::string_view traces_url) {
  constexpr std::string_view kTraces = "/v1/traces";
  if (traces_url.ends_with(kTraces)) {
    return std::string(traces_url.substr(0, traces_url.size() - kTraces.size())) + "/v1/metrics";
  }
  return origin_of(traces_url) + "/v1/metrics";
}

}  // namespace bto

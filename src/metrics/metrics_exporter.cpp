#include "metrics/metrics_exporter.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "common/version.h"
#include "export/grpc_transport.h"
#include "export/http_transport.h"
#include "export/otlp_grpc_exporter.h"
#include "export/otlp_response.h"
#include "metrics/otlp_metrics_encoder.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// For log lines: scheme, host and path only (userinfo and query may hold a token).
std::string url_for_logs(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string out(url.substr(0, authority_start));
  out += authority;
  const std::string_view rest = url.substr(authority_end);
  out += rest.substr(0, rest.find_first_of("?#"));
  return out;
}

// The OTLP retry rules around one request/response exchange, whatever carries
// it: deadline, attempts, exponential backoff with jitter or the server's
// wait, interruptible by abort(), partial_success of the answer.
class RetryingTransport : public MetricsTransport {
 public:
  RetryingTransport(const OtlpOptions& options, SpanMetricsStats& stats, std::string where)
      : options_(options), stats_(stats), where_(std::move(where)), random_(std::random_device{}()) {}

  ExportResult send(std::string_view request, size_t points, SteadyTime deadline) noexcept override {
    std::string_view payload;
    if (!prepare(request, payload)) return fail(points, "gzip compression failed", ExportResult::kPermanent);
    const int max_attempts = std::max(options_.retry.max_attempts, 1);
    for (int attempt = 1;; ++attempt) {
      const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (remaining.count() <= 0) return fail(points, "export deadline reached");
      const Attempt outcome = exchange(payload, std::min(options_.timeout, remaining));
      stats_.export_requests.fetch_add(1, std::memory_order_relaxed);
      if (outcome.result == ExportResult::kSuccess) {
        stats_.data_points_exported.fetch_add(points, std::memory_order_relaxed);
        handle_partial_success(outcome.body, points);
        return outcome.result;
      }
      if (outcome.aborted) return fail(points, "interrupted by shutdown");
      if (outcome.result == ExportResult::kPermanent) {
        return fail(points, outcome.why + ", not retried", ExportResult::kPermanent);
      }
      if (attempt >= max_attempts) {
        return fail(points, fmt::format("{} attempts failed, last: {}", attempt, outcome.why));
      }
      const milliseconds wait = outcome.server_wait ? *outcome.server_wait
                                                    : backoff_delay(options_.retry, attempt - 1, random_());
      if (Clock::now() + wait >= deadline) {
        return fail(points, fmt::format("{}; next retry in {} ms is past the export deadline", outcome.why,
                                        wait.count()));
      }
      retry_log_.warn("OTLP metrics: export to {} failed ({}); retry {} of {} in {} ms", where_, outcome.why,
                      attempt, max_attempts - 1, wait.count());
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, wait, [this] { return aborted_; })) return fail(points, "interrupted by shutdown");
    }
  }

  void abort() noexcept override {
    {
      std::lock_guard lock(mutex_);
      aborted_ = true;
    }
    wake_.notify_all();
    abort_exchange();
  }

 protected:
  struct Attempt {
    ExportResult result = ExportResult::kRetryable;
    bool aborted = false;
    std::optional<milliseconds> server_wait;  // Retry-After / RetryInfo
    std::string why;                          // for the log, when not a success
    std::string_view body;                    // the response message, on success
  };

  // The bytes to send for `request` (compressed or not); false on failure.
  virtual bool prepare(std::string_view request, std::string_view& payload) noexcept {
    payload = request;
    return true;
  }
  virtual Attempt exchange(std::string_view payload, milliseconds timeout) noexcept = 0;
  virtual void abort_exchange() noexcept = 0;

  const OtlpOptions options_;

 private:
  ExportResult fail(size_t points, const std::string& why, ExportResult result = ExportResult::kRetryable) noexcept {
    stats_.export_failures.fetch_add(1, std::memory_order_relaxed);
    error_log_.error("OTLP metrics: export of {} data points to {} failed ({})", points, where_, why);
    return result;
  }

  // ExportMetricsServiceResponse.partial_success has the trace response's
  // layout (rejected_data_points = 1, error_message = 2).
  void handle_partial_success(std::string_view body, size_t points) noexcept {
    if (body.empty()) return;
    PartialSuccess partial;
    if (!parse_partial_success_protobuf(body, partial)) {
      partial_log_.warn("OTLP metrics: unparsable success response from {} ({} bytes)", where_, body.size());
      return;
    }
    if (!partial.present()) return;
    if (partial.rejected_spans > 0) {
      stats_.data_points_rejected.fetch_add(static_cast<uint64_t>(partial.rejected_spans), std::memory_order_relaxed);
    }
    partial_log_.warn("OTLP metrics: collector rejected {} of {} data points: \"{}\"", partial.rejected_spans, points,
                      quote_bytes(partial.error_message, 256));
  }

  SpanMetricsStats& stats_;
  const std::string where_;
  std::mt19937_64 random_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool aborted_ = false;
  RateLimitedLog retry_log_;
  RateLimitedLog error_log_;
  RateLimitedLog partial_log_;
};

class HttpMetricsTransport final : public RetryingTransport {
 public:
  HttpMetricsTransport(const OtlpOptions& options, SpanMetricsStats& stats)
      : RetryingTransport(options, stats, url_for_logs(options.endpoint)) {
    HttpTransportOptions http;
    http.url = options.endpoint;
    http.content_type = "application/x-protobuf";
    if (options.compression == OtlpCompression::kGzip) http.content_encoding = "gzip";
    http.headers = options.headers;
    http.ca_file = options.certificate_file;
    http.client_cert_file = options.client_certificate_file;
    http.client_key_file = options.client_key_file;
    http.insecure_skip_verify = options.insecure_skip_verify;
    http.user_agent = std::string("OTel-OTLP-Exporter-bpftrace-otel/") + kVersion;
    transport_ = create_http_transport(http);
  }

 private:
  bool prepare(std::string_view request, std::string_view& payload) noexcept override {
    if (options_.compression != OtlpCompression::kGzip) {
      payload = request;
      return true;
    }
    if (!gzip_.compress(request, compressed_)) return false;
    payload = compressed_;
    return true;
  }

  Attempt exchange(std::string_view payload, milliseconds timeout) noexcept override {
    const HttpResponse& response = transport_->post(payload, timeout);
    Attempt a;
    a.result = classify_outcome(response.outcome);
    a.aborted = response.outcome.error == TransportError::kAborted;
    if (a.result == ExportResult::kSuccess) {
      a.body = response.body;
      return a;
    }
    if (!response.retry_after.empty()) {
      a.server_wait = parse_retry_after(response.retry_after, std::chrono::system_clock::now());
    }
    if (response.outcome.error != TransportError::kNone) {
      a.why = fmt::format("{}: {}", to_string(response.outcome.error), quote_bytes(response.error, 200));
    } else {
      a.why = fmt::format("HTTP {}", response.outcome.http_status);
      const std::string message = error_message_from_body(response.body, response.content_type);
      if (!message.empty()) a.why += ": " + message;
    }
    return a;
  }

  void abort_exchange() noexcept override { transport_->abort(); }

  std::unique_ptr<HttpTransport> transport_;
  std::string compressed_;
  GzipCompressor gzip_{1};
};

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class GrpcMetricsTransport final : public RetryingTransport {
 public:
  GrpcMetricsTransport(const OtlpOptions& options, SpanMetricsStats& stats)
      : RetryingTransport(options, stats, url_for_logs(options.endpoint) + " (gRPC)") {
    GrpcTransportOptions grpc;
    grpc.endpoint = options.endpoint;
    grpc.method = kOtlpMetricsExportMethod;
    for (const auto& [key, value] : options.headers) grpc.metadata.emplace_back(lowercase(key), value);
    grpc.gzip = options.compression == OtlpCompression::kGzip;  // gRPC message compression
    grpc.insecure = options.insecure;
    grpc.ca_file = options.certificate_file;
    grpc.client_cert_file = options.client_certificate_file;
    grpc.client_key_file = options.client_key_file;
    grpc.insecure_skip_verify = options.insecure_skip_verify;
    grpc.user_agent = std::string("OTel-OTLP-Exporter-bpftrace-otel/") + kVersion;
    grpc.reconnect_backoff = std::max(options.retry.initial_backoff, milliseconds(100));
    grpc.connect_timeout = options.timeout;
    transport_ = create_grpc_transport(grpc);
  }

 private:
  Attempt exchange(std::string_view payload, milliseconds timeout) noexcept override {
    const GrpcResponse& response = transport_->call(payload, timeout);
    Attempt a;
    if (response.code != 0) a.server_wait = grpc_retry_delay(response.details);
    a.result = classify_grpc_status(response.code, a.server_wait.has_value());
    a.aborted = response.aborted;
    if (a.result == ExportResult::kSuccess) {
      a.body = response.body;
      return a;
    }
    a.why = fmt::format("gRPC {} ({})", grpc_code_name(response.code), response.code);
    if (!response.message.empty()) a.why += ": " + quote_bytes(response.message, 256);
    return a;
  }

  void abort_exchange() noexcept override { transport_->abort(); }

  std::unique_ptr<GrpcTransport> transport_;
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
  explicit ConsoleMetricsExporter(std::FILE* out) : out_(out) {}

  ExportResult export_metrics(const MetricsSnapshot& snapshot, SteadyTime) noexcept override {
    if (snapshot.data_points() == 0) return ExportResult::kSuccess;
    try {
      format_metrics_text(snapshot, text_);
    } catch (const std::exception&) {
      return ExportResult::kPermanent;
    }
    std::fwrite(text_.data(), 1, text_.size(), out_);
    std::fflush(out_);
    return ExportResult::kSuccess;
  }
  void shutdown() noexcept override {}

 private:
  std::FILE* out_;
  std::string text_;
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

}  // namespace

void format_metrics_text(const MetricsSnapshot& snapshot, std::string& out) {
  out.clear();
  const auto seconds = static_cast<std::time_t>(snapshot.time_unix_ns / 1'000'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  fmt::format_to(std::back_inserter(out), "metrics at {:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z (cumulative since start)\n",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  for (const MetricStream& m : snapshot.metrics) {
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
}

std::unique_ptr<MetricsTransport> create_otlp_http_metrics_transport(const OtlpOptions& options,
                                                                     SpanMetricsStats& stats) {
  return std::make_unique<HttpMetricsTransport>(options, stats);
}

std::unique_ptr<MetricsTransport> create_otlp_grpc_metrics_transport(const OtlpOptions& options,
                                                                     SpanMetricsStats& stats) {
  return std::make_unique<GrpcMetricsTransport>(options, stats);
}

std::unique_ptr<MetricsExporter> create_otlp_metrics_exporter(const ResourceInfo& resource,
                                                              std::unique_ptr<MetricsTransport> transport) {
  return std::make_unique<OtlpMetricsExporter>(resource, std::move(transport));
}

std::unique_ptr<MetricsExporter> create_console_metrics_exporter(std::FILE* out) {
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

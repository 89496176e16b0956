#pragma once
// The OTLP retry rules around one request/response exchange, whatever carries
// it (OTLP/HTTP, OTLP/gRPC) and whatever it carries (spans, metrics): attempts,
// deadline, exponential backoff with jitter or the server's wait, an
// interruptible wait, counters and rate-limited log lines. The transport below
// only sends bytes once and says what the answer means (docs/otlp.md,
// "Failure behaviour").

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "export/retry_policy.h"
#include "export/span_exporter.h"

namespace bto {

// One attempt's answer, already classified by the transport.
struct SendResult {
  enum class Kind : uint8_t {
    kOk,          // accepted in full
    kPartial,     // accepted with partial_success: `rejected` items refused (0: a warning only), `message`
    kUnreadable,  // accepted, but the response could not be parsed; `message` describes it
    kRetryable,   // `message` says why; `retry_delay` is the server's wait, if it sent one
    kPermanent,   // `message` says why
    kAborted,     // abort() cut it short
  };
  Kind kind = Kind::kOk;
  int64_t rejected = 0;
  std::string message;  // raw collector text for kPartial; a log-ready description otherwise
  std::optional<std::chrono::milliseconds> retry_delay;
};

class SendTransport {
 public:
  virtual ~SendTransport() = default;
  // Once per request, before its attempts: the bytes to send (e.g. gzip of
  // `request`, valid until the next prepare()). nullptr on success, else why not.
  virtual const char* prepare(std::string_view request, std::string_view& payload) noexcept {
    payload = request;
    return nullptr;
  }
  // One attempt, bounded by `timeout`. Not concurrent.
  virtual SendResult send(std::string_view payload, std::chrono::milliseconds timeout) noexcept = 0;
  // Any thread: the running and every later send() end promptly with kAborted.
  virtual void abort() noexcept = 0;
  // The endpoint for log lines: no userinfo, no query, no secrets.
  virtual const std::string& where() const noexcept = 0;
};

// Counters the sender bumps; any may be null (not counted for that signal).
struct SenderCounters {
  std::atomic<uint64_t>* requests = nullptr;          // every attempt
  std::atomic<uint64_t>* retries = nullptr;           // every retry scheduled
  std::atomic<uint64_t>* failures = nullptr;          // requests finally given up, for any reason
  std::atomic<uint64_t>* items_exported = nullptr;    // items in accepted requests
  std::atomic<uint64_t>* items_rejected = nullptr;    // partial_success rejections
  std::atomic<uint64_t>* latency_us_total = nullptr;  // sum of attempt latencies
  // Wall-clock (Unix ms) of the last attempt that succeeded / failed (transport error or refusal); aborts do not count.
  std::atomic<int64_t>* last_success_unix_ms = nullptr;
  std::atomic<int64_t>* last_failure_unix_ms = nullptr;
};

struct SenderOptions {
  RetryOptions retry;                        // max_elapsed is the caller's to apply (via the deadline)
  std::chrono::milliseconds timeout{10000};  // per attempt, capped by what is left until the deadline
  const char* log_prefix = "OTLP";           // "OTLP metrics"
  const char* items = "spans";               // what send()'s `items` counts, for log lines
  // What happens to a request given up after retryable failures, for log lines
  // ("dropped"; "kept in the spool" when a spool takes it).
  const char* given_up = "dropped";
  SenderCounters counters;
};

class RetryingSender {
 public:
  virtual ~RetryingSender() = default;
  // Sends `request` until accepted, refused for good, out of attempts or past
  // `deadline`. kRetryable when given up (or aborted), kPermanent when refused.
  // `items` is for counters and log lines only. `max_attempts` 0 = the retry
  // policy's. Not concurrent.
  virtual ExportResult send(std::string_view request, size_t items, std::chrono::steady_clock::time_point deadline,
                            int max_attempts) noexcept = 0;
  ExportResult send(std::string_view request, size_t items, std::chrono::steady_clock::time_point deadline) noexcept {
    return send(request, items, deadline, 0);
  }
  // Any thread: interrupts a backoff wait and the request in flight; the
  // running and every later send() give up promptly.
  virtual void abort() noexcept = 0;
  virtual bool aborted() const noexcept = 0;
  virtual const std::string& where() const noexcept = 0;
};

std::unique_ptr<RetryingSender> create_retrying_sender(std::unique_ptr<SendTransport> transport,
                                                       const SenderOptions& options);

}  // namespace bto

#pragma once
// Which export outcomes are retried, and how long to wait before the next try.
// Pure functions, no I/O: unit-tested and fuzzable on their own.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "export/span_exporter.h"

namespace bto {

struct RetryOptions {
  int max_attempts = 5;  // including the first request
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 1.5;
  // Whole export_batch budget, retries and waits included (OTEL_BSP_EXPORT_TIMEOUT).
  std::chrono::milliseconds max_elapsed{30000};
};

// What went wrong below HTTP, already reduced from the transport's own codes.
enum class TransportError : uint8_t {
  kNone,        // an HTTP response arrived (see http_status)
  kConnect,     // could not resolve / connect, connection refused or reset
  kTimeout,     // no complete response within the request timeout
  kSendRecv,    // connection broke while sending or receiving
  kTls,         // certificate or handshake failure: a configuration problem
  kConfig,      // bad URL, unsupported scheme, unreadable client key, ...
  kAborted,     // shutdown() interrupted the request
};

struct HttpOutcome {
  TransportError error = TransportError::kNone;
  long http_status = 0;
};

// The one place that decides success / retry / give up.
ExportResult classify_outcome(const HttpOutcome& outcome) noexcept;

// Retry-After is delta-seconds or an HTTP-date (RFC 9110 10.2.3). Returns the
// wait from `now`, zero for a date in the past, nullopt when unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept;

// Exponential backoff with full jitter: uniform in [0, min(max, initial * multiplier^retry)].
// `retry` counts from 0 (the wait before the second attempt); `random` is any 64-bit value.
std::chrono::milliseconds backoff_delay(const RetryOptions& options, int retry,
                                        uint64_t random) noexcept;

const char* to_string(TransportError error) noexcept;

}  // namespace bto

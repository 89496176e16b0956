#include "export/retry_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace bto {

// OTLP/HTTP failure handling, https://opentelemetry.io/docs/specs/otlp/#failures-1 :
// 429, 502, 503 and 504 are retryable; every other 4xx/5xx is not ("the client
// MUST NOT retry"). Connection failures and timeouts are transient by nature.
// TLS and configuration errors will not fix themselves, so they are permanent.
ExportResult classify_outcome(const HttpOutcome& outcome) noexcept {
  switch (outcome.error) {
    case TransportError::kNone:
      break;
    case TransportError::kConnect:
    case TransportError::kTimeout:
    case TransportError::kSendRecv:
    case TransportError::kAborted:
      return ExportResult::kRetryable;
    case TransportError::kTls:
    case TransportError::kConfig:
      return ExportResult::kPermanent;
  }
  const long status = outcome.http_status;
  if (status >= 200 && status < 300) return ExportResult::kSuccess;
  switch (status) {
    case 429:
    case 502:
    case 503:
    case 504:
      return ExportResult::kRetryable;
    default:
      return ExportResult::kPermanent;
  }
}

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  // A server-chosen wait longer than a day is nonsense; clamp rather than overflow.
  constexpr int64_t kMaxSeconds = 86400;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > kMaxSeconds) {
        seconds = kMaxSeconds;
        break;
      }
    }
    return std::chrono::seconds(seconds);
  }
  // HTTP-date: IMF-fixdate, obsolete RFC 850 or asctime. Every form starts with
  // a day name and has a ':'-separated time; reject anything else before
  // handing it to curl_getdate, which is lenient.
  if (value.size() > 64 || !std::isalpha(static_cast<unsigned char>(value.front())) ||
      value.find(':') == std::string_view::npos) {
    return std::nullopt;
  }
  char buffer[65];
  value.copy(buffer, value.size());
  buffer[value.size()] = '\0';
  const time_t when = curl_getdate(buffer, nullptr);
  if (when < 0) return std::nullopt;
  // Far-future dates (year > 2262) would overflow system_clock's nanoseconds:
  // compare in seconds first and cap.
  const time_t now_seconds = std::chrono::system_clock::to_time_t(now);
  if (when > now_seconds && when - now_seconds > kMaxSeconds) return std::chrono::seconds(kMaxSeconds);
  const auto target = std::chrono::system_clock::from_time_t(when);
  if (target <= now) return std::chrono::milliseconds(0);
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(target - now);
  return std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(kMaxSeconds));
}

std::chrono::milliseconds backoff_delay(const RetryOptions& options, int retry,
                                        uint64_t random) noexcept {
  const double initial = static_cast<double>(std::max<int64_t>(options.initial_backoff.count(), 0));
  const double max = static_cast<double>(std::max<int64_t>(options.max_backoff.count(), 0));
  const double multiplier = std::max(options.multiplier, 1.0);
  double cap = initial * std::pow(multiplier, std::clamp(retry, 0, 64));
  if (!std::isfinite(cap) || cap > max) cap = max;
  // Top 53 bits -> [0, 1), then scaled to [0, cap].
  const double unit = static_cast<double>(random >> 11) * (1.0 / 9007199254740992.0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(unit * cap)));
}

const char* to_string(TransportError error) noexcept {
  switch (error) {
    case TransportError::kNone: return "none";
    case TransportError::kConnect: return "connection failed";
    case TransportError::kTimeout: return "timeout";
    case TransportError::kSendRecv: return "connection broken";
    case TransportError::kTls: return "TLS error";
    case TransportError::kConfig: return "configuration error";
    case TransportError::kAborted: return "aborted by shutdown";
  }
  return "unknown";
}

}  // namespace bto

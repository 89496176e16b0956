#pragma once
// Logging goes through spdlog (stderr). Repeated warnings on the hot path go
// through RateLimitedLog so a flood of bad input cannot flood the log.
// Never pass secrets (header values, tokens) to any log call.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace bto {

// Printable, bounded quote of untrusted bytes for a log line:
// control and non-ASCII bytes become \xNN, output stops after max_bytes.
std::string quote_bytes(std::string_view bytes, size_t max_bytes = 96);

// Allows `burst` messages per `interval`; later ones are counted and the count
// is appended to the next message that gets through. Thread-safe.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(int burst = 5, std::chrono::seconds interval = std::chrono::seconds(10))
      : burst_(burst), interval_(interval) {}

  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    uint64_t suppressed = 0;
    if (!admit(suppressed)) return;
    emit(spdlog::level::warn, fmt::format(format, std::forward<Args>(args)...), suppressed);
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> format, Args&&... args) {
    uint64_t suppressed = 0;
    if (!admit(suppressed)) return;
    emit(spdlog::level::err, fmt::format(format, std::forward<Args>(args)...), suppressed);
  }

  uint64_t suppressed_total() const;

 private:
  bool admit(uint64_t& suppressed_before);
  static void emit(spdlog::level::level_enum level, const std::string& message, uint64_t suppressed);

  mutable std::mutex mutex_;
  int burst_;
  std::chrono::seconds interval_;
  std::chrono::steady_clock::time_point window_start_{};
  int in_window_ = 0;
  uint64_t pending_suppressed_ = 0;
  uint64_t suppressed_total_ = 0;
};

// Sets up the default stderr logger; level names as OTEL_LOG_LEVEL
// (trace, debug, info, warn, error, off). Returns false on an unknown name.
bool init_logging(std::string_view level_name);

}  // namespace bto

#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace bto {

std::string quote_bytes(std::string_view bytes, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes) + 8);
  size_t i = 0;
  for (; i < bytes.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (i < bytes.size()) out += fmt::format("... ({} bytes)", bytes.size());
  return out;
}

bool RateLimitedLog::admit(uint64_t& suppressed_before) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= interval_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++pending_suppressed_;
    ++suppressed_total_;
    return false;
  }
  ++in_window_;
  suppressed_before = pending_suppressed_;
  pending_suppressed_ = 0;
  return true;
}

uint64_t RateLimitedLog::suppressed_total() const {
  std::lock_guard lock(mutex_);
  return suppressed_total_;
}

void RateLimitedLog::emit(spdlog::level::level_enum level, const std::string& message,
                          uint64_t suppressed) {
  if (suppressed == 0) {
    spdlog::log(level, "{}", message);
  } else {
    spdlog::log(level, "{} ({} similar messages suppressed)", message, suppressed);
  }
}

bool init_logging(std::string_view level_name) {
  static const bool configured = [] {
    auto logger = spdlog::stderr_color_mt("bpftrace-otel");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    spdlog::set_default_logger(logger);
    return true;
  }();
  (void)configured;
  std::string name(level_name);
  if (name.empty()) name = "info";
  if (name == "warning") name = "warn";
  if (name == "fatal") name = "critical";
  const auto level = spdlog::level::from_str(name);
  // from_str maps unknown names to "off"; only accept a real "off".
  if (level == spdlog::level::off && name != "off") return false;
  spdlog::set_level(level);
  return true;
}

}  // namespace bto

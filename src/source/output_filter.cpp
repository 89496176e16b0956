#include "source/output_filter.h"

#include "source/bpftrace_diagnosis.h"

namespace bto {
namespace {

constexpr std::string_view kAttachedPrefix = R"({"type": "attached_probes")";

}  // namespace

void OutputRing::add(std::string_view line) {
  if (lines_.size() == kKeptLines) lines_.pop_front();
  lines_.emplace_back(line);
}

void StdoutFilter::on_line(std::string_view line) {
  if (line.front() != '{') {
    stats_.message_lines.fetch_add(1, std::memory_order_relaxed);
    ring_.add(line);
    log_.warn("bpftrace: {}", quote_bytes(line, 400));
    return;
  }
  if (!attached_ && line.starts_with(kAttachedPrefix)) {
    attached_ = true;
    stats_.attached.store(true);  // [telemetry] for /readyz
    spdlog::info("bpftrace attached its probes: {}", quote_bytes(line, 200));
  }
  stats_.stdout_lines.fetch_add(1, std::memory_order_relaxed);
  next_.on_line(line);
}

void StdoutFilter::on_oversized_line(std::string_view prefix, size_t length) {
  stats_.oversized_lines.fetch_add(1, std::memory_order_relaxed);
  next_.on_oversized_line(prefix, length);
}

void StderrSink::on_line(std::string_view line) {
  stats_.stderr_lines.fetch_add(1, std::memory_order_relaxed);
  if (is_harmless_bpftrace_message(line)) {
    spdlog::debug("bpftrace: {}", quote_bytes(line, 400));
    return;
  }
  ring_.add(line);
  log_.warn("bpftrace: {}", quote_bytes(line, 400));
}

void StderrSink::on_oversized_line(std::string_view prefix, size_t length) {
  stats_.stderr_lines.fetch_add(1, std::memory_order_relaxed);
  ring_.add(prefix);
  log_.warn("bpftrace: {}... ({} bytes)", quote_bytes(prefix, 400), length);
}

}  // namespace bto

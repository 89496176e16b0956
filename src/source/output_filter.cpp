#include "source/output_filter.h"

#include <unistd.h>

#include <cerrno>

#include "source/bpftrace_diagnosis.h"

namespace bto {
namespace {

constexpr std::string_view kAttachedPrefix = R"({"type": "attached_probes")";

}  // namespace

void OutputRing::add(std::string_view line) {
  if (const auto block = block_started_by(line)) in_warning_ = *block == MessageBlock::kWarning;
  const size_t others = lines_.size() - warning_lines_;
  if (in_warning_ ? warning_lines_ == kKeptWarningLines : others == kKeptLines) {
    // Drop the oldest line of the same kind.
    for (auto it = lines_.begin(); it != lines_.end(); ++it) {
      if (it->warning == in_warning_) {
        lines_.erase(it);
        break;
      }
    }
  } else if (in_warning_) {
    ++warning_lines_;
  }
  lines_.push_back({std::string(line), in_warning_});
}

std::vector<std::string> OutputRing::lines() const {
  std::vector<std::string> out;
  out.reserve(lines_.size());
  for (const Kept& kept : lines_) out.push_back(kept.line);
  return out;
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

void StderrSink::pass_through(std::string_view text) const {
  std::string out(text);
  out.push_back('\n');
  std::string_view rest(out);
  while (!rest.empty()) {
    const ssize_t n = ::write(passthrough_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our stderr closed or full: the line is not ours to count
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

void StderrSink::on_line(std::string_view line) {
  stats_.stderr_lines.fetch_add(1, std::memory_order_relaxed);
  if (passing_through()) {
    ring_.add(line);  // bpftrace's own late errors arrive here too: keep them for a diagnosis
    pass_through(line);
    return;
  }
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
  if (passing_through()) {
    pass_through(fmt::format("{}... ({} bytes, cut)", prefix, length));
    return;
  }
  log_.warn("bpftrace: {}... ({} bytes)", quote_bytes(prefix, 400), length);
}

}  // namespace bto

#include "source/bpftrace_version.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "common/errors.h"
#include "source/child_process.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxVersionOutput = 4096;

// Digits at `at`; advances `at` past them. nullopt when there are none.
std::optional<int> number_at(std::string_view text, size_t& at) {
  int value = 0;
  const size_t begin = at;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) != 0 && at - begin < 6) {
    value = value * 10 + (text[at] - '0');
    ++at;
  }
  if (at == begin) return std::nullopt;
  return value;
}

}  // namespace

std::optional<BpftraceRelease> parse_bpftrace_version(std::string_view output) {
  const std::string_view line = output.substr(0, output.find('\n'));
  // "bpftrace v0.23.2"; some builds print the version without the "v".
  size_t at = line.find("bpftrace ");
  if (at == std::string_view::npos) return std::nullopt;
  at += 9;
  if (at < line.size() && line[at] == 'v') ++at;
  const size_t begin = at;
  const auto major = number_at(line, at);
  if (!major || at >= line.size() || line[at] != '.') return std::nullopt;
  ++at;
  const auto minor = number_at(line, at);
  if (!minor) return std::nullopt;
  size_t end = at;
  while (end < line.size() && std::isspace(static_cast<unsigned char>(line[end])) == 0) ++end;
  return BpftraceRelease{{*major, *minor}, std::string(line.substr(begin, end - begin))};
}

std::optional<BpftraceRelease> detect_bpftrace_version(const std::string& bpftrace_path,
                                                       std::chrono::milliseconds timeout) {
  std::unique_ptr<ChildProcess> child;
  try {
    child = spawn_child(bpftrace_path, {bpftrace_path, "--version"});
  } catch (const StartupError&) {
    return std::nullopt;
  }
  const auto deadline = Clock::now() + timeout;
  std::string output;
  char buffer[512];
  while (output.size() < kMaxVersionOutput) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{child->stdout_fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t got = ::read(child->stdout_fd(), buffer, sizeof buffer);
    if (got > 0) {
      output.append(buffer, static_cast<size_t>(got));
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
      break;
    }
  }
  // The destructor stops and reaps it if it still runs.
  child->wait_for(std::chrono::milliseconds(std::max<long long>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count())));
  return parse_bpftrace_version(output);
}

BpftraceTraits traits_of(std::optional<BpftraceVersion> version) {
  BpftraceTraits traits;
  if (!version) return traits;
  traits.loss_counter_misses_last_cpu = *version >= BpftraceVersion{0, 24};
  traits.checks_capabilities_not_root = *version >= BpftraceVersion{0, 25};
  traits.liveness_by_kill = *version >= BpftraceVersion{0, 25};
  return traits;
}

}  // namespace bto

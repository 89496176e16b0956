#include "app/run.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "app/pipeline.h"
#include "app/signals.h"
#include "app/wiring.h"
#include "common/errors.h"
#include "common/log.h"
#include "export/console_exporter.h"
#include "source/line_reader.h"
#include "telemetry/health.h"
#include "telemetry/metrics_server.h"
#include "telemetry/summary_line.h"

namespace bto {
namespace {

constexpr int kPollIntervalMs = 100;
constexpr int kOutputClosed = -1;  // pump()'s stop reason when a local output's reader went away

struct FileInput {
  int fd = -1;
  bool owned = false;
  explicit FileInput(const std::string& path) {
    if (path == "-") {
      fd = STDIN_FILENO;
      return;
    }
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw StartupError("cannot open input " + path + ": " + std::strerror(errno));
    }
    owned = true;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd);
      throw StartupError("input " + quote_bytes(path, 200) + " is a directory: --input takes a file, a FIFO or '-'");
    }
  }
  ~FileInput() {
    if (owned) ::close(fd);
  }
};

// Reads `reader` until end of file, a read error (`failed`), a stop signal or a
// closed output; sweeps on every chunk and every idle poll interval. Returns
// the stop signal, kOutputClosed, or 0 at end of file or error.
int pump(LineReader& reader, Pipeline& pipeline, StopSignals& signals, PipelineStats& stats,
         const LocalOutputs& outputs, bool& failed) {
  pollfd fds[2] = {{reader.fd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
  for (;;) {
    const int ready = ::poll(fds, 2, kPollIntervalMs);
    if (ready < 0 && errno != EINTR) {
      spdlog::error("poll failed: {}", std::strerror(errno));
      return 0;
    }
    if (fds[1].revents & POLLIN) {
      if (const int signal = signals.take()) return signal;
    }
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ReadStatus status = reader.read_some(pipeline);
      stats.bytes_read.store(reader.bytes_read(), std::memory_order_relaxed);
      if (pipeline.stop_signal() != 0) return pipeline.stop_signal();  // seen while waiting for queue room
      if (status == ReadStatus::kEndOfFile) return 0;
      if (status == ReadStatus::kError) {
        spdlog::error("reading input failed: {}", std::strerror(errno));
        failed = true;
        return 0;
      }
    }
    pipeline.sweep();
    if (outputs.closed() != nullptr) return kOutputClosed;
  }
}

// on_queue_full=auto: a regular file can wait for the collector; a pipe (or a
// live bpftrace) cannot: what it does not get read is lost upstream.
QueueFullPolicy resolve_queue_full(QueueFullPolicy policy, const FileInput* input) {
  if (policy != QueueFullPolicy::kAuto) {
    if (policy == QueueFullPolicy::kBlock && input == nullptr) {
      spdlog::warn("on_queue_full=block with a live bpftrace: while the export queue is full bpftrace's output "
                   "is not read, and the kernel drops events (counted as bpftrace lost events)");
    }
    return policy;
  }
  struct stat st{};
  if (input != nullptr && ::fstat(input->fd, &st) == 0 && S_ISREG(st.st_mode)) return QueueFullPolicy::kBlock;
  return QueueFullPolicy::kDrop;
}

}  // namespace

int run(const AppOptions& given) {
  StopSignals signals;  // before any thread starts
  PipelineStats stats;
  std::optional<FileInput> input;
  if (!given.input_path.empty()) input.emplace(given.input_path);
  AppOptions options = given;
  options.batch.on_queue_full = resolve_queue_full(given.batch.on_queue_full, input ? &*input : nullptr);
  // Opened (and locked) before anything starts: a second instance stops here.
  std::unique_ptr<Spool> spool;
  if (!options.spool.dir.empty()) spool = open_spool(options.spool, stats.exporter.spool);
  HealthState health;
  health.replay.store(!options.input_path.empty());
  MetricsInfo metrics_info;
  metrics_info.start_time_unix_ms = unix_now_ms();
  metrics_info.queue_capacity = options.batch.max_queue_size;
  const std::optional<BpftraceRelease> bpftrace = detect_bpftrace(options);
  if (bpftrace) metrics_info.bpftrace_version = bpftrace->text;
  const ResourceInfo resource = make_resource(options, bpftrace);
  const std::unique_ptr<ProcessResources> process_resources =
      make_process_resources(options, resource, stats.resources);
  const LocalOutputs outputs = open_local_outputs(options);
  SpanMetricsParts span_metrics = make_span_metrics(options, resource, stats.span_metrics, outputs);
  Pipeline pipeline(options, make_exporter_factory(options, resource, stats, outputs), stats, spool.get(),
                    process_resources.get());
  if (span_metrics.metrics) pipeline.set_span_observer(span_metrics.metrics.get());
  if (options.batch.on_queue_full == QueueFullPolicy::kBlock) {
    // The reader may wait for room for as long as the collector needs: a stop
    // signal must still end the run within the shutdown deadline.
    pipeline.set_queue_wait_hook([&pipeline, &signals, timeout = options.shutdown_timeout] {
      if (pipeline.stop_signal() != 0) return;
      if (const int signal = signals.take()) pipeline.request_stop(signal, std::chrono::steady_clock::now() + timeout);
    });
  }
  // Declared after what it reads, so it stops before they go away.
  std::unique_ptr<MetricsServer> metrics;
  if (!options.metrics_listen.empty()) {
    metrics_info.memory_budget = &pipeline.memory_budget();
    metrics = create_metrics_server(MetricsOptions{options.metrics_listen}, stats, health, metrics_info);
  }

  int stop_signal = 0;
  int exit_code = 0;
  if (input) {
    LineReader reader(input->fd, options.decode.max_line_bytes);
    bool read_failed = false;
    stop_signal = pump(reader, pipeline, signals, stats, outputs, read_failed);
    if (read_failed) exit_code = 1;  // what was read is still flushed
  } else {
    const LiveOutcome outcome = run_live(options, bpftrace, pipeline, signals, stats, outputs);
    stop_signal = outcome.stop_signal;
    exit_code = outcome.exit_code;
  }
  if (const LocalOutput* closed = outputs.closed()) {
    // Like other Unix tools under `| head`: stop quietly, nothing left to show.
    spdlog::info("{} was closed by its reader; stopped", closed->name());
    stop_signal = 0;
  }
  if (stop_signal > 0) {
    spdlog::info("received {}, flushing (deadline {} ms)", strsignal(stop_signal),
                 options.shutdown_timeout.count());
  }
  health.stopping.store(true);  // /readyz: 503 while flushing
  // One deadline for the whole flush; a stop that came while the reader waited
  // for queue room started it already.
  const auto flush_end = std::min(std::chrono::steady_clock::now() + options.shutdown_timeout,
                                  pipeline.stop_deadline());
  pipeline.finish(options.shutdown_timeout);
  if (span_metrics.reader) {
    // The last metrics export (spans flushed above included) gets what is left of the deadline.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(flush_end - std::chrono::steady_clock::now());
    span_metrics.reader->shutdown(std::max(left, std::chrono::milliseconds(0)));
  }
  if (spool) spool->close();
  spdlog::info("summary: {}", format_summary(stats));
  if (metrics) metrics->stop();
  if (const LocalOutput* failed = outputs.failed(); failed != nullptr && outputs.closed() == nullptr) {
    spdlog::error("{} write(s) to {} failed ({}): spans were lost", failed->failed_writes(), failed->name(),
                  std::strerror(failed->first_error()));
    if (exit_code == 0) exit_code = 1;
  }
  return exit_code;
}

}  // namespace bto

// The console's tree view as a SpanExporter: batches feed a TraceAssembler;
// traces it releases are printed. A thread of its own prints traces whose
// settle time or hold limit passes while no batch arrives.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "export/console_exporter.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class TreeExporter final : public SpanExporter {
 public:
  TreeExporter(const ConsoleOptions& options, const ResourceInfo& resource, std::shared_ptr<LocalOutput> output,
               TreeStats& stats)
      : output_(std::move(output)),
        stats_(stats),
        assembler_(options.tree, stats),
        tick_(std::clamp<milliseconds>(options.tree.settle / 5, milliseconds(10), milliseconds(100))) {
    style_.service_name = service_name_of(resource);
    style_.color = options.color == ColorMode::kAlways ||
                   (options.color == ColorMode::kAuto && output_->is_terminal());
    ticker_ = std::thread([this] { run_ticker(); });
  }

  ~TreeExporter() override { shutdown(milliseconds(0)); }

  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    // A closed or failing output takes nothing in: the batch is counted as not written.
    if (output_->closed()) return ExportResult::kOutputFailed;
    Pending pending;
    try {
      std::lock_guard lock(mutex_);
      const auto now = Clock::now();
      for (const SpanRecord* span : spans) assembler_.add(*span, now, pending.traces);
      render(pending);
    } catch (...) {
      return ExportResult::kPermanent;  // std::bad_alloc only
    }
    write(pending, cancel_, Clock::time_point::max());
    return ExportResult::kSuccess;
  }

  bool force_flush(milliseconds) noexcept override { return true; }

  // Prints what is held within `timeout`, then gives up any write still waiting.
  void shutdown(milliseconds timeout) noexcept override {
    const auto deadline = Clock::now() + timeout;
    {
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      wake_.notify_all();
      // No time left: a worker may be stuck in export_batch()'s write; free it.
      if (timeout.count() <= 0) cancel_.cancel();
      // The ticker may be writing to a stalled output: it gets until the deadline.
      if (!ticker_done_.wait_until(lock, deadline, [this] { return ticker_exited_; })) cancel_.cancel();
    }
    if (ticker_.joinable()) ticker_.join();
    Pending pending;
    try {
      std::lock_guard lock(mutex_);
      assembler_.drain(pending.traces);
      render(pending);
    } catch (...) {
    }
    WriteCancel last;  // bounded by the deadline alone
    write(pending, last, deadline);
    cancel_.cancel();
  }

 private:
  struct Pending {
    std::vector<HeldTrace> traces;
    std::string text;
    size_t spans = 0;
  };

  void render(Pending& pending) {
    for (const HeldTrace& trace : pending.traces) {
      format_trace_tree(trace, style_, pending.text);
      pending.spans += trace.spans.size();
      count_reason(trace);
    }
  }

  void count_reason(const HeldTrace& trace) noexcept {
    ++stats_.traces_printed;
    switch (trace.reason) {
      case PrintReason::kComplete: ++stats_.printed_complete; break;
      case PrintReason::kSettled: ++stats_.printed_settled; break;
      case PrintReason::kRootMissing: ++stats_.printed_root_missing; break;
      case PrintReason::kEarly: ++stats_.printed_early; break;
      case PrintReason::kAtExit: ++stats_.printed_at_exit; break;
    }
  }

  void write(const Pending& pending, const WriteCancel& cancel, Clock::time_point deadline) noexcept {
    if (pending.spans == 0) return;
    if (output_->write(pending.text, cancel, deadline) == WriteStatus::kOk) {
      stats_.spans_printed += pending.spans;
    } else {
      stats_.spans_unprinted += pending.spans;
    }
  }

  void run_ticker() noexcept {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, tick_, [this] { return stopping_; });
      if (stopping_) break;
      Pending pending;
      try {
        assembler_.expire(Clock::now(), pending.traces);
        render(pending);
      } catch (...) {
        continue;
      }
      lock.unlock();
      write(pending, cancel_, Clock::time_point::max());
      lock.lock();
    }
    ticker_exited_ = true;
    ticker_done_.notify_all();
  }

  std::shared_ptr<LocalOutput> output_;
  TreeStats& stats_;
  TreeStyle style_;
  std::mutex mutex_;  // the assembler; writes happen outside it
  std::condition_variable wake_;
  std::condition_variable ticker_done_;
  bool ticker_exited_ = false;
  TraceAssembler assembler_;
  milliseconds tick_;
  bool stopping_ = false;
  WriteCancel cancel_;
  std::thread ticker_;
};

}  // namespace

std::unique_ptr<SpanExporter> create_tree_exporter(const ConsoleOptions& options, const ResourceInfo& resource,
                                                   std::shared_ptr<LocalOutput> output, TreeStats& stats) {
  return std::make_unique<TreeExporter>(options, resource, std::move(output), stats);
}

}  // namespace bto

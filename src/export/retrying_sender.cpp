#include "export/retrying_sender.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>

#include "common/log.h"
#include "common/saturating.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

template <typename T>
void add(std::atomic<T>* counter, T value) noexcept {
  if (counter != nullptr) counter->fetch_add(value, std::memory_order_relaxed);
}

class RetryingSenderImpl final : public RetryingSender {
 public:
  RetryingSenderImpl(std::unique_ptr<SendTransport> transport, const SenderOptions& options)
      : transport_(std::move(transport)), options_(options), random_(std::random_device{}()) {}

  using RetryingSender::send;
  ExportResult send(std::string_view request, size_t items, Clock::time_point deadline,
                    int attempts_allowed) noexcept override {
    const SenderCounters& counters = options_.counters;
    std::string_view payload;
    if (const char* problem = transport_->prepare(request, payload)) {
      add<uint64_t>(counters.failures, 1);
      error_log_.error("{}: {}; {} {} dropped", options_.log_prefix, problem, items, options_.items);
      return ExportResult::kPermanent;
    }

    const int max_attempts = std::max(attempts_allowed > 0 ? attempts_allowed : options_.retry.max_attempts, 1);
    for (int attempt = 1;; ++attempt) {
      const auto now = Clock::now();
      const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - now);
      if (remaining.count() <= 0) return give_up(items, "export deadline reached");
      const SendResult result = transport_->send(payload, std::min(options_.timeout, remaining));
      const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - now);
      add<uint64_t>(counters.requests, 1);
      add<uint64_t>(counters.latency_us_total, static_cast<uint64_t>(latency.count()));

      const bool accepted = result.kind == SendResult::Kind::kOk || result.kind == SendResult::Kind::kPartial ||
                            result.kind == SendResult::Kind::kUnreadable;
      if (result.kind != SendResult::Kind::kAborted) {  // [telemetry] for /readyz
        auto* last = accepted ? counters.last_success_unix_ms : counters.last_failure_unix_ms;
        if (last != nullptr) {
          last->store(std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                          .count(),
                      std::memory_order_relaxed);
        }
      }
      if (accepted) {
        add<uint64_t>(counters.items_exported, items);
        report_accepted(result, items);
        return ExportResult::kSuccess;
      }
      if (result.kind == SendResult::Kind::kAborted) return interrupted(items);
      const std::string& why = result.message;
      if (result.kind == SendResult::Kind::kPermanent) {
        add<uint64_t>(counters.failures, 1);
        error_log_.error("{}: export to {} failed permanently ({}); {} {} dropped, not retried", options_.log_prefix,
                         where(), why, items, options_.items);
        return ExportResult::kPermanent;
      }
      if (attempt >= max_attempts) {
        return give_up(items, fmt::format("{} attempts failed, last: {}", attempt, why));
      }
      const milliseconds wait = result.retry_delay ? *result.retry_delay
                                                   : backoff_delay(options_.retry, attempt - 1, random_());
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (wait >= left) {
        // Sleeping past the deadline only to give up then would stall the caller.
        return give_up(items,
                       fmt::format("{}; next retry in {} ms is past the export deadline", why, wait.count()));
      }
      add<uint64_t>(counters.retries, 1);
      retry_log_.warn("{}: export to {} failed ({}); retry {} of {} in {} ms", options_.log_prefix, where(), why,
                      attempt, max_attempts - 1, wait.count());
      if (!sleep_for(wait)) return interrupted(items);
    }
  }

  void abort() noexcept override {
    {
      std::lock_guard lock(mutex_);
      aborted_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    transport_->abort();
  }

  bool aborted() const noexcept override { return aborted_.load(std::memory_order_acquire); }

  const std::string& where() const noexcept override { return transport_->where(); }

 private:
  ExportResult give_up(size_t items, const std::string& why) noexcept {
    add<uint64_t>(options_.counters.failures, 1);
    error_log_.error("{}: export to {} failed ({}); {} {} {}", options_.log_prefix, where(), why, items,
                     options_.items, options_.given_up);
    return ExportResult::kRetryable;
  }

  ExportResult interrupted(size_t items) noexcept {
    add<uint64_t>(options_.counters.failures, 1);
    spdlog::warn("{}: export of {} {} to {} interrupted by shutdown", options_.log_prefix, items, options_.items,
                 where());
    return ExportResult::kRetryable;
  }

  // False when abort() interrupted the wait.
  bool sleep_for(milliseconds wait) noexcept {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, wait, [this] { return aborted(); });
  }

  void report_accepted(const SendResult& result, size_t items) noexcept {
    if (result.kind == SendResult::Kind::kUnreadable) {
      partial_log_.warn("{}: unparsable success response from {} ({})", options_.log_prefix, where(),
                        result.message);
      return;
    }
    if (result.kind != SendResult::Kind::kPartial) return;
    if (result.rejected > 0) {
      // A collector cannot reject more than it was sent: a larger claim is
      // counted as the whole request, and the counter saturates, never wraps.
      const uint64_t rejected = std::min<uint64_t>(static_cast<uint64_t>(result.rejected), items);
      if (options_.counters.items_rejected != nullptr) saturating_add(*options_.counters.items_rejected, rejected);
      partial_log_.warn("{}: collector rejected {} of {} {}{}: \"{}\"", options_.log_prefix, rejected, items,
                        options_.items,
                        rejected < static_cast<uint64_t>(result.rejected)
                            ? fmt::format(" (it claimed {}, more than were sent)", result.rejected)
                            : std::string(),
                        quote_bytes(result.message, 256));
    } else {
      partial_log_.warn("{}: collector accepted all {} {} with a warning: \"{}\"", options_.log_prefix, items,
                        options_.items, quote_bytes(result.message, 256));
    }
  }

  const std::unique_ptr<SendTransport> transport_;
  const SenderOptions options_;
  std::mt19937_64 random_;
  std::atomic<bool> aborted_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  RateLimitedLog retry_log_;
  RateLimitedLog error_log_;
  RateLimitedLog partial_log_;
};

}  // namespace

std::unique_ptr<RetryingSender> create_retrying_sender(std::unique_ptr<SendTransport> transport,
                                                       const SenderOptions& options) {
  return std::make_unique<RetryingSenderImpl>(std::move(transport), options);
}

}  // namespace bto

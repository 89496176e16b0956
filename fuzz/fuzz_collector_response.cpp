// What a collector (or anything listening on the endpoint) sends back is
// untrusted: partial_success in protobuf and JSON, error bodies, Retry-After.
// Checked: a failed parse leaves `out` empty; rejected counts are never
// negative after a successful parse; error messages stay bounded for a log
// line; Retry-After waits are within [0, 1 day]; backoff stays within its bounds.

#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "export/otlp_response.h"
#include "export/retry_policy.h"
#include "fuzz_support.h"

namespace {

using namespace bto;

constexpr size_t kMaxLoggedMessage = 4096;  // 256 shown bytes, escaped, plus framing

void check_partial(bool ok, const PartialSuccess& out) {
  if (!ok) {
    BTO_FUZZ_CHECK(out.rejected_spans == 0);
    BTO_FUZZ_CHECK(out.error_message.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int which = in.ConsumeIntegralInRange<int>(0, 3);
  const std::string body = in.ConsumeRemainingBytesAsString();

  switch (which) {
    case 0: {
      PartialSuccess out;
      out.rejected_spans = 7;  // must be cleared on failure
      out.error_message = "stale";
      check_partial(parse_partial_success_protobuf(body, out), out);
      break;
    }
    case 1: {
      PartialSuccess out;
      out.rejected_spans = 7;
      out.error_message = "stale";
      check_partial(parse_partial_success_json(body, out), out);
      break;
    }
    case 2:
      for (const char* type : {"application/x-protobuf", "application/json", "text/plain", ""}) {
        const std::string message = error_message_from_body(body, type);
        BTO_FUZZ_CHECK(message.size() <= kMaxLoggedMessage);
      }
      break;
    default: {
      const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
      if (const auto wait = parse_retry_after(body, now)) {
        BTO_FUZZ_CHECK(wait->count() >= 0);
        BTO_FUZZ_CHECK(*wait <= std::chrono::hours(24));
      }
      // Backoff with options a user could set.
      FuzzedDataProvider opts(data, size);
      RetryOptions retry;
      retry.initial_backoff = std::chrono::milliseconds(opts.ConsumeIntegralInRange<int64_t>(0, 1'000'000'000));
      retry.max_backoff = std::chrono::milliseconds(opts.ConsumeIntegralInRange<int64_t>(0, 1'000'000'000));
      retry.multiplier = opts.ConsumeFloatingPointInRange<double>(1.0, 1e6);
      const int attempt = opts.ConsumeIntegralInRange<int>(0, 10'000);
      const auto delay = backoff_delay(retry, attempt, opts.ConsumeIntegral<uint64_t>());
      BTO_FUZZ_CHECK(delay.count() >= 0);
      BTO_FUZZ_CHECK(delay <= retry.max_backoff);
      break;
    }
  }
  return 0;
}

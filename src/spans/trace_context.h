#pragma once
// Private to spans/: W3C Trace Context. Reads the caller's span from an
// event's traceparent (or a bare trace_id + span_id pair) and generates new
// trace and span ids.

#include <cstdint>
#include <string_view>

#include "spans/span_record.h"

namespace bto {

// The caller's span, which a new span continues as its remote parent.
struct RemoteContext {
  TraceId trace_id{};
  SpanId span_id{};
  bool sampled = true;
};

enum class ContextResult : uint8_t { kAbsent, kValid, kInvalid };

// "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", lowercase only. A
// later version (01..fe) may append "-..." fields, which are ignored; ff is
// invalid (W3C Trace Context, "traceparent" header).
bool parse_traceparent(std::string_view text, RemoteContext& out) noexcept;

// trace_id (32 hex digits, or 16 as in Jaeger/B3, left-padded) + span_id (16).
// Either case. No flags travel with them: taken as sampled.
bool parse_id_pair(std::string_view trace, std::string_view span, RemoteContext& out) noexcept;

// xoshiro256**: ids must be unpredictable enough not to collide across
// processes, not secret; one random_device read at start, no syscall per span.
// Inline: two or three draws per span.
class IdGenerator {
 public:
  IdGenerator();

  void new_span_id(SpanId& out) noexcept { put_u64(out.data(), next_nonzero()); }

  void new_trace_id(TraceId& out) noexcept {
    uint64_t high = 0;
    uint64_t low = 0;
    while (high == 0 && low == 0) {
      high = next();
      low = next();
    }
    put_u64(out.data(), high);
    put_u64(out.data() + 8, low);
  }

 private:
  uint64_t next() noexcept {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  uint64_t next_nonzero() noexcept {
    uint64_t value = 0;
    while (value == 0) value = next();
    return value;
  }

  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  static void put_u64(uint8_t* out, uint64_t value) noexcept {
    for (int i = 7; i >= 0; --i) {
      out[i] = static_cast<uint8_t>(value);
      value >>= 8;
    }
  }

  uint64_t state_[4];
};

}  // namespace bto

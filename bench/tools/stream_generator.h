#pragma once
// A realistic bpftrace -f json event stream, as examples/scripts/all.bt prints
// it: HTTP requests with dial / TLS / job children linked by parent_id, a
// configurable number of spans open at once, attribute sizes and garbage.
// Deterministic for a given seed.

#include <cstdint>
#include <cstdio>
#include <string>

namespace bto::bench {

enum class Shape { kTuple, kPrintf, kRaw, kMix };

struct StreamOptions {
  uint64_t events = 1'000'000;  // event lines (garbage lines come on top)
  uint64_t open = 64;           // spans open at once in steady state
  double nesting = 0.3;         // share of spans that are children (parent_id)
  double garbage_pct = 0.0;     // malformed lines per 100 event lines
  uint32_t attr_bytes = 0;      // length of string attributes (uri, name); 0 = natural
  Shape shape = Shape::kTuple;
  double rate = 0;  // lines per second (a live-like stream); 0 = as fast as the reader takes them
  uint64_t seed = 1;
  // Processes the requests come from (a `pid` field on every event, children
  // in their parent's process, as examples/scripts print it); 0 = no pid field.
  uint32_t pids = 0;
};

struct StreamCounts {
  uint64_t lines = 0;
  uint64_t events = 0;
  uint64_t garbage = 0;
  uint64_t spans = 0;  // start/end pairs written
  uint64_t bytes = 0;
};

bool parse_shape(const std::string& text, Shape& shape);

// Writes the stream to `out`. Returns false on a write error.
bool generate_stream(const StreamOptions& options, std::FILE* out, StreamCounts& counts);

}  // namespace bto::bench

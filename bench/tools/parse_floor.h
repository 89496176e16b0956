#pragma once
// The bare simdjson floor: parse every line of a file with On-Demand and touch
// every value (the inner document of printf records too), no event building.

#include <cstdint>
#include <string>

namespace bto::bench {

struct FloorResult {
  double cpu_seconds = 0;  // thread CPU time of the parse loop (best of the repeats)
  uint64_t lines = 0;
  uint64_t documents = 0;  // lines + inner printf documents that parsed
  uint64_t checksum = 0;
  const char* implementation = "";  // simdjson implementation the TU was built for
};

// As compiled with the project's flags (what src/decode/decoder.cpp gets).
bool measure_floor(const std::string& path, int repeats, FloorResult& result);

}  // namespace bto::bench

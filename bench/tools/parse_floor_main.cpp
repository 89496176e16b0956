// parse_floor FILE [REPEATS]: the bare simdjson floor of a stream (see parse_floor.h),
// built twice: portable (as the project) and for x86-64-v3, to quantify a haswell build.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "parse_floor.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: parse_floor FILE [REPEATS]\n");
    return 2;
  }
  bto::bench::FloorResult r;
  if (!bto::bench::measure_floor(argv[1], argc > 2 ? std::atoi(argv[2]) : 3, r)) return 1;
  std::printf("floor %s %.6f %llu %llu %llu\n", r.implementation, r.cpu_seconds,
              static_cast<unsigned long long>(r.lines), static_cast<unsigned long long>(r.documents),
              static_cast<unsigned long long>(r.checksum));
  return 0;
}

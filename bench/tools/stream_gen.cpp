// Writes a realistic bpftrace -f json event stream (see stream_generator.h).
//   stream_gen --events 1000000 --open 256 --nesting 0.3 --garbage 1 --shape mix -o events.jsonl
//   stream_gen --events 2400000 --rate 40000 | bpftrace-otel --input - ...   (a live-like 20k spans/s for 60 s)

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "stream_generator.h"

int main(int argc, char** argv) {
  bto::bench::StreamOptions options;
  std::string shape = "tuple";
  std::string output = "-";
  CLI::App app{"Generates a bpftrace -f json event stream for benchmarks"};
  app.add_option("--events", options.events, "event lines (garbage comes on top)");
  app.add_option("--open", options.open, "spans open at once in steady state");
  app.add_option("--nesting", options.nesting, "share of spans that are children (parent_id), 0..1");
  app.add_option("--garbage", options.garbage_pct, "malformed lines per 100 event lines");
  app.add_option("--attr-bytes", options.attr_bytes, "length of string attributes (0 = natural)");
  app.add_option("--shape", shape, "tuple | printf | raw | mix");
  app.add_option("--seed", options.seed, "random seed");
  app.add_option("--rate", options.rate, "lines per second, paced (0 = as fast as possible)");
  app.add_option("--pids", options.pids, "processes the requests come from (a pid field per event); 0 = none");
  app.add_option("-o,--output", output, "output file ('-' = stdout)");
  CLI11_PARSE(app, argc, argv);
  if (!bto::bench::parse_shape(shape, options.shape)) {
    std::fprintf(stderr, "unknown --shape %s\n", shape.c_str());
    return 2;
  }
  std::FILE* out = output == "-" ? stdout : std::fopen(output.c_str(), "w");
  if (out == nullptr) {
    std::perror(output.c_str());
    return 1;
  }
  static char buffer[1 << 20];
  std::setvbuf(out, buffer, _IOFBF, sizeof buffer);
  bto::bench::StreamCounts counts;
  const bool ok = bto::bench::generate_stream(options, out, counts);
  if (out != stdout) std::fclose(out);
  std::fprintf(stderr, "stream_gen: lines=%llu events=%llu garbage=%llu spans=%llu bytes=%llu\n",
               static_cast<unsigned long long>(counts.lines), static_cast<unsigned long long>(counts.events),
               static_cast<unsigned long long>(counts.garbage), static_cast<unsigned long long>(counts.spans),
               static_cast<unsigned long long>(counts.bytes));
  return ok ? 0 : 1;
}

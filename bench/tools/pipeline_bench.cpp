// End-to-end benchmark: the real bpftrace-otel binary replays a generated
// stream (--input FILE) into an in-process counting OTLP/HTTP receiver.
// Per mode (protobuf, gzip, none) and run it reports the child's CPU time
// (user+sys, all threads, from wait4), peak RSS, its summary counters and what
// the receiver got; and, over the same file in the same run, the bare
// simdjson parse floor and our cost as a multiple of it.
//
//   pipeline_bench --events 1000000 --runs 3
//   pipeline_bench --events 1000000 --preload build/bench/libbto_malloc_counter.so   (mallocs/event)

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "counting_receiver.h"
#include "parse_floor.h"
#include "stream_generator.h"

namespace {

using bto::bench::CountingReceiver;

struct RunResult {
  double cpu_s = 0, user_s = 0, sys_s = 0, wall_s = 0;
  long max_rss_kib = 0;
  int exit_status = -1;
  std::map<std::string, uint64_t> summary;  // key=value pairs of the summary line
  uint64_t received = 0, with_parent = 0, bad_ids = 0, bad_requests = 0, requests = 0, body_bytes = 0;
  uint64_t mallocs_total = 0, mallocs_main = 0;
  bool have_mallocs = false;
};

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "summary: lines=1 events=2 ... (json=0 ...) ... | spans: started=3": every key=value.
std::map<std::string, uint64_t> parse_summary(const std::string& log) {
  std::map<std::string, uint64_t> out;
  const size_t at = log.rfind("summary: ");
  if (at == std::string::npos) return out;
  const size_t eol = log.find('\n', at);
  std::string line = log.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
  std::string section;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    while (!word.empty() && (word.front() == '(')) word.erase(0, 1);
    while (!word.empty() && (word.back() == ')')) word.pop_back();
    if (!word.empty() && word.back() == ':') {
      section = word.substr(0, word.size() - 1);
      continue;
    }
    const size_t eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = word.substr(0, eq);
    const uint64_t value = std::strtoull(word.c_str() + eq + 1, nullptr, 10);
    out[key] = value;
    if (!section.empty()) out[section + "." + key] = value;
  }
  return out;
}

uint64_t get(const std::map<std::string, uint64_t>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

struct Mode {
  std::string name;
  std::vector<std::string> args;
  std::vector<std::string> env;
  bool spool = false;  // a fresh --spool-dir per run, removed after it
};

// What a spool mode leaves: the spool's counters from the summary.
struct SpoolFigures {
  uint64_t spooled = 0, bytes_left = 0;
};

void remove_tree(const std::string& dir) {
  const std::string cmd = "rm -rf '" + dir + "'";
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
}

RunResult run_child(const std::string& binary, const std::string& input, const Mode& mode,
                    const std::string& preload, const std::string& log_path, CountingReceiver& receiver) {
  RunResult r;
  receiver.counts().reset();
  const std::string malloc_file = log_path + ".mallocs";
  ::unlink(malloc_file.c_str());
  std::vector<std::string> argv_s = {binary, "--input", input};
  argv_s.insert(argv_s.end(), mode.args.begin(), mode.args.end());
  const std::string spool_dir = log_path + ".spool";
  if (mode.spool) {
    remove_tree(spool_dir);
    argv_s.insert(argv_s.end(), {"--spool-dir", spool_dir});
  }
  const double t0 = now_s();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // A clean OTel environment: only what the mode sets.
    for (const char* name : {"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_ENDPOINT",
                             "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
                             "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_ENDPOINT", "BTO_CONFIG"}) {
      ::unsetenv(name);
    }
    for (const std::string& kv : mode.env) ::putenv(const_cast<char*>(kv.c_str()));
    if (!preload.empty()) {
      ::setenv("LD_PRELOAD", preload.c_str(), 1);
      ::setenv("BTO_MALLOC_COUNT_FILE", malloc_file.c_str(), 1);
    }
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    std::perror("execv");
    ::_exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  r.wall_s = now_s() - t0;
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.user_s = static_cast<double>(usage.ru_utime.tv_sec) + static_cast<double>(usage.ru_utime.tv_usec) * 1e-6;
  r.sys_s = static_cast<double>(usage.ru_stime.tv_sec) + static_cast<double>(usage.ru_stime.tv_usec) * 1e-6;
  r.cpu_s = r.user_s + r.sys_s;
  r.max_rss_kib = usage.ru_maxrss;
  r.summary = parse_summary(read_file(log_path));
  if (mode.spool) remove_tree(spool_dir);
  auto& c = receiver.counts();
  r.received = c.spans;
  r.with_parent = c.spans_with_parent;
  r.bad_ids = c.bad_ids;
  r.bad_requests = c.bad_requests;
  r.requests = c.requests;
  r.body_bytes = c.body_bytes;
  if (!preload.empty()) {
    unsigned long total = 0, main = 0;
    if (std::FILE* f = std::fopen(malloc_file.c_str(), "r")) {
      r.have_mallocs = std::fscanf(f, "malloc_counter: total=%lu main_thread=%lu", &total, &main) == 2;
      std::fclose(f);
    }
    r.mallocs_total = total;
    r.mallocs_main = main;
  }
  return r;
}

std::string self_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

double load_average() {
  double one = 0;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &one) != 1) one = 0;
    std::fclose(f);
  }
  return one;
}

// --receiver-only: serve until SIGINT/SIGTERM, print the port first and the counts last
// (scripts/bench-live.sh points a live bpftrace-otel at it).
int receiver_only() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the receiver threads start
  CountingReceiver receiver;
  std::printf("port %d\n", receiver.port());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&set, &signal);
  auto& c = receiver.counts();
  std::printf("received spans=%llu spans_with_parent=%llu requests=%llu bad_ids=%llu bad_requests=%llu body_bytes=%llu\n",
              static_cast<unsigned long long>(c.spans.load()), static_cast<unsigned long long>(c.spans_with_parent.load()),
              static_cast<unsigned long long>(c.requests.load()), static_cast<unsigned long long>(c.bad_ids.load()),
              static_cast<unsigned long long>(c.bad_requests.load()), static_cast<unsigned long long>(c.body_bytes.load()));
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bto::bench::StreamOptions stream;
  stream.open = 256;
  std::string shape = "tuple";
  std::string input;
  std::string binary = self_dir() + "/../bpftrace-otel";
  std::string preload;
  std::string modes_text = "protobuf,gzip,none";
  std::string workdir = "/tmp";
  int runs = 3;
  int floor_repeats = 3;
  bool keep = false;
  bool no_floor = false;
  bool v3_floor = false;
  bool receiver_mode = false;
  bool interleave = false;
  std::vector<std::string> extra_args;
  std::string smoke;
  CLI::App app{"End-to-end benchmark of bpftrace-otel against a counting OTLP/HTTP receiver"};
  app.add_option("--events", stream.events, "events to generate");
  app.add_option("--open", stream.open, "spans open at once");
  app.add_option("--nesting", stream.nesting, "share of child spans (parent_id)");
  app.add_option("--garbage", stream.garbage_pct, "malformed lines per 100 events");
  app.add_option("--attr-bytes", stream.attr_bytes, "string attribute length (0 = natural)");
  app.add_option("--shape", shape, "tuple | printf | raw | mix");
  app.add_option("--seed", stream.seed, "generator seed");
  app.add_option("--pids", stream.pids, "processes the requests come from (pid field); 0 = none");
  app.add_option("--input", input, "use this stream instead of generating one");
  app.add_option("--binary", binary, "bpftrace-otel binary");
  app.add_option("--modes", modes_text,
                 "comma list of protobuf, gzip, json, none, spool (protobuf with --spool-dir, collector healthy), "
                 "spooling (protobuf with --spool-dir, collector down: everything goes to disk)");
  app.add_flag("--interleave", interleave, "run the modes in turn (run 1 of each, run 2 of each, ...): alternating runs");
  app.add_option("--runs", runs, "runs per mode (the median is reported)");
  app.add_option("--preload", preload, "LD_PRELOAD this malloc counter (libbto_malloc_counter.so)");
  app.add_option("--workdir", workdir, "where the generated stream and logs go");
  app.add_option("--floor-repeats", floor_repeats, "repeats of the bare-parse floor (best is kept)");
  app.add_flag("--no-floor", no_floor, "skip the bare-parse floor");
  app.add_flag("--v3-floor", v3_floor, "also measure the floor compiled for x86-64-v3 (AVX2)");
  app.add_flag("--receiver-only", receiver_mode, "only run the counting receiver (until SIGINT/SIGTERM)");
  app.add_flag("--keep", keep, "keep the generated stream");
  app.add_option("--extra", extra_args, "extra arguments for bpftrace-otel")->allow_extra_args(false);
  // scripts/bench-smoke.sh runs every bench/*_bench with this Google Benchmark
  // flag: answer with a small, quick run that still prints every figure.
  app.add_option("--benchmark_min_time", smoke, "smoke run (20k events, 1 run), as bench-smoke.sh asks");
  CLI11_PARSE(app, argc, argv);
  if (receiver_mode) return receiver_only();
  if (!smoke.empty()) {
    stream.events = 20000;
    runs = 1;
    floor_repeats = 1;
  }
  if (!bto::bench::parse_shape(shape, stream.shape)) {
    std::fprintf(stderr, "unknown --shape %s\n", shape.c_str());
    return 2;
  }

  bool generated = false;
  if (input.empty()) {
    input = workdir + "/bto-bench-" + std::to_string(::getpid()) + ".jsonl";
    std::FILE* out = std::fopen(input.c_str(), "w");
    if (out == nullptr) {
      std::perror(input.c_str());
      return 1;
    }
    bto::bench::StreamCounts counts;
    const bool ok = bto::bench::generate_stream(stream, out, counts);
    std::fclose(out);
    if (!ok) return 1;
    generated = true;
    std::printf("stream: %s lines=%llu events=%llu garbage=%llu spans=%llu bytes=%llu (shape=%s open=%llu "
                "nesting=%.2f garbage=%.1f%% attr_bytes=%u seed=%llu)\n",
                input.c_str(), static_cast<unsigned long long>(counts.lines),
                static_cast<unsigned long long>(counts.events), static_cast<unsigned long long>(counts.garbage),
                static_cast<unsigned long long>(counts.spans), static_cast<unsigned long long>(counts.bytes),
                shape.c_str(), static_cast<unsigned long long>(stream.open), stream.nesting, stream.garbage_pct,
                stream.attr_bytes, static_cast<unsigned long long>(stream.seed));
  }

  CountingReceiver receiver;
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/v1/traces";
  std::vector<Mode> modes;
  std::stringstream list(modes_text);
  std::string name;
  while (std::getline(list, name, ',')) {
    Mode m{name, {}, {}, false};
    if (name == "none") {
      m.args = {"--exporter", "none"};
    } else if (name == "spooling") {
      // Nothing listens on port 1: every request fails at once, the whole stream goes to the spool.
      m.args = {"--endpoint", "http://127.0.0.1:1/v1/traces", "--shutdown-timeout", "2s", "--span-metrics", "false"};
      m.spool = true;
    } else {
      m.args = {"--endpoint", endpoint};
      if (name == "gzip") m.env = {"OTEL_EXPORTER_OTLP_COMPRESSION=gzip"};
      else if (name == "json") m.args.insert(m.args.end(), {"--protocol", "http/json"});
      else if (name == "spool") m.spool = true;
      else if (name != "protobuf") {
        std::fprintf(stderr, "unknown mode %s\n", name.c_str());
        return 2;
      }
    }
    m.args.insert(m.args.end(), extra_args.begin(), extra_args.end());
    modes.push_back(m);
  }

  const double load_before = load_average();
  bto::bench::FloorResult floor;
  bool have_floor = false;
  auto measure = [&] {
    if (no_floor) return;
    bto::bench::FloorResult f;
    if (bto::bench::measure_floor(input, floor_repeats, f) && (!have_floor || f.cpu_seconds < floor.cpu_seconds)) {
      floor = f;
      have_floor = true;
    }
  };
  measure();

  std::printf("\n%-9s %3s %10s %9s %8s %8s %10s %9s %10s %10s %8s %8s %6s %s\n", "mode", "run", "events", "cpu_s",
              "us/event", "x_floor", "events/s", "peak_MiB", "exported", "received", "dropped", "requests",
              "exit", preload.empty() ? "" : "mallocs/event(total,main)");
  std::vector<std::pair<std::string, std::vector<RunResult>>> all;
  for (const Mode& mode : modes) all.emplace_back(mode.name, std::vector<RunResult>{});
  std::vector<std::pair<size_t, int>> order;  // (mode, run)
  for (int outer = 0; outer < (interleave ? runs : static_cast<int>(modes.size())); ++outer) {
    for (int inner = 0; inner < (interleave ? static_cast<int>(modes.size()) : runs); ++inner) {
      order.emplace_back(static_cast<size_t>(interleave ? inner : outer), interleave ? outer : inner);
    }
  }
  for (const auto& [mode_index, run] : order) {
    const Mode& mode = modes[mode_index];
    std::vector<RunResult>& results = all[mode_index].second;
    {
      const std::string log = workdir + "/bto-bench-" + std::to_string(::getpid()) + "-" + mode.name + ".log";
      RunResult r = run_child(binary, input, mode, preload, log, receiver);
      const uint64_t events = get(r.summary, "events");
      const double us = events ? r.cpu_s * 1e6 / static_cast<double>(events) : 0;
      const double floor_us = have_floor && events ? floor.cpu_seconds * 1e6 / static_cast<double>(events) : 0;
      char mallocs[96] = "";
      if (r.have_mallocs && events) {
        std::snprintf(mallocs, sizeof mallocs, "%.4f,%.4f (%llu,%llu)",
                      static_cast<double>(r.mallocs_total) / static_cast<double>(events),
                      static_cast<double>(r.mallocs_main) / static_cast<double>(events),
                      static_cast<unsigned long long>(r.mallocs_total),
                      static_cast<unsigned long long>(r.mallocs_main));
      }
      std::printf("%-9s %3d %10llu %9.3f %8.3f %8.2f %10.0f %9.1f %10llu %10llu %8llu %8llu %6d %s\n",
                  mode.name.c_str(), run + 1, static_cast<unsigned long long>(events), r.cpu_s, us,
                  floor_us > 0 ? us / floor_us : 0.0, r.cpu_s > 0 ? static_cast<double>(events) / r.cpu_s : 0.0,
                  static_cast<double>(r.max_rss_kib) / 1024.0,
                  static_cast<unsigned long long>(get(r.summary, "exported")),
                  static_cast<unsigned long long>(r.received),
                  static_cast<unsigned long long>(get(r.summary, "export.dropped")),
                  static_cast<unsigned long long>(r.requests), r.exit_status, mallocs);
      if (r.have_mallocs) {
        std::printf("mallocs mode=%s events=%llu total=%llu main_thread=%llu\n", mode.name.c_str(),
                    static_cast<unsigned long long>(events), static_cast<unsigned long long>(r.mallocs_total),
                    static_cast<unsigned long long>(r.mallocs_main));
      }
      if (r.bad_ids || r.bad_requests) {
        std::printf("          receiver: bad_ids=%llu bad_requests=%llu\n",
                    static_cast<unsigned long long>(r.bad_ids), static_cast<unsigned long long>(r.bad_requests));
      }
      if (r.summary.empty()) std::printf("          no summary line; see %s\n", log.c_str());
      else if (!keep) ::unlink(log.c_str());
      std::fflush(stdout);
      results.push_back(r);
    }
  }
  measure();  // again after the runs: the floor is the best of both, same machine state

  // Median per mode.
  std::printf("\nMEDIAN (of %d runs; CPU = user+sys of bpftrace-otel, all threads; load avg %.2f before, %.2f after)\n",
              runs, load_before, load_average());
  std::printf("%-9s %10s %9s %9s %9s %8s %11s %9s %10s %10s %9s %9s %8s\n", "mode", "events", "us/event", "user_us",
              "sys_us", "x_floor", "events/cpu_s", "peak_MiB", "exported", "received", "w_parent", "body_MiB", "wall_s");
  for (auto& [mode_name, results] : all) {
    std::sort(results.begin(), results.end(), [](const RunResult& a, const RunResult& b) { return a.cpu_s < b.cpu_s; });
    const RunResult& r = results[results.size() / 2];
    const uint64_t events = get(r.summary, "events");
    const double ev = static_cast<double>(events ? events : 1);
    const double us = r.cpu_s * 1e6 / ev;
    const double floor_us = have_floor ? floor.cpu_seconds * 1e6 / ev : 0;
    std::printf("%-9s %10llu %9.3f %9.3f %9.3f %8.2f %11.0f %9.1f %10llu %10llu %9llu %9.1f %8.2f\n", mode_name.c_str(),
                static_cast<unsigned long long>(events), us, r.user_s * 1e6 / ev, r.sys_s * 1e6 / ev,
                floor_us > 0 ? us / floor_us : 0.0, r.cpu_s > 0 ? ev / r.cpu_s : 0.0,
                static_cast<double>(r.max_rss_kib) / 1024.0,
                static_cast<unsigned long long>(get(r.summary, "exported")),
                static_cast<unsigned long long>(r.received), static_cast<unsigned long long>(r.with_parent),
                static_cast<double>(r.body_bytes) / 1048576.0, r.wall_s);
  }
  // The spool modes: what went to disk, how fast, at what CPU cost per spooled span.
  for (auto& [mode_name, results] : all) {
    const RunResult& r = results[results.size() / 2];  // sorted by CPU above
    const uint64_t spooled = get(r.summary, "spooled");
    if (spooled == 0 && mode_name != "spool") continue;
    const double mib = static_cast<double>(get(r.summary, "spool.bytes")) / 1048576.0;
    std::printf("%-9s spooled %llu spans in %llu requests, %.1f MiB left on disk (%.1f MiB/s over %.2f s wall), "
                "%.3f us CPU per spooled span; replayed %llu, spool dropped %llu, corrupt %llu\n",
                mode_name.c_str(), static_cast<unsigned long long>(spooled),
                static_cast<unsigned long long>(get(r.summary, "spooled_requests")), mib,
                r.wall_s > 0 ? mib / r.wall_s : 0.0, r.wall_s,
                spooled ? r.cpu_s * 1e6 / static_cast<double>(spooled) : 0.0,
                static_cast<unsigned long long>(get(r.summary, "replayed")),
                static_cast<unsigned long long>(get(r.summary, "spool_full")),
                static_cast<unsigned long long>(get(r.summary, "corrupt")));
  }
  if (have_floor) {
    const uint64_t events = all.empty() || all[0].second.empty() ? 0 : get(all[0].second[0].summary, "events");
    std::printf("floor    simdjson on-demand (%s), every value touched, printf inner documents too: %.3f s for %llu "
                "lines (%llu documents) = %.3f us/line, %.3f us/event\n",
                floor.implementation, floor.cpu_seconds, static_cast<unsigned long long>(floor.lines),
                static_cast<unsigned long long>(floor.documents), floor.cpu_seconds * 1e6 / static_cast<double>(floor.lines),
                events ? floor.cpu_seconds * 1e6 / static_cast<double>(events) : 0.0);
  }
  if (v3_floor) {
    // A separate executable: simdjson's inline code for two targets must not meet in one binary.
    const std::string cmd = self_dir() + "/parse_floor_v3 " + input + " " + std::to_string(floor_repeats);
    if (std::FILE* p = ::popen(cmd.c_str(), "r")) {
      double seconds = 0;
      unsigned long long lines = 0;
      char impl[64] = "";
      if (std::fscanf(p, "floor %63s %lf %llu", impl, &seconds, &lines) == 3 && lines > 0) {
        std::printf("floor_v3 same code built for x86-64-v3 (%s): %.3f s = %.3f us/line (%.2fx faster than the "
                    "portable build)\n",
                    impl, seconds, seconds * 1e6 / static_cast<double>(lines),
                    have_floor && seconds > 0 ? floor.cpu_seconds / seconds : 0.0);
      }
      ::pclose(p);
    }
  }
  if (generated && !keep) ::unlink(input.c_str());
  return 0;
}

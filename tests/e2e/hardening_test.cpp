// Issue 17 (hostile input, odd settings, secrets) through the real binary:
// what only shows at the process level (its log, its exit code, what the
// -c command gets). The replay cases need no root; the -c cases need root and
// bpftrace (the E2eTest fixture) and are skipped otherwise. docs/reliability.md
// lists each case.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "e2e_fixture.h"

namespace bto::e2e {
namespace {

// BTO_HARDENING_EXPORTER=/path/to/bpftrace-otel runs the cases against another
// build (e.g. one from before the fixes, to see them fail).
const std::string kBinary =
    std::getenv("BTO_HARDENING_EXPORTER") != nullptr ? std::getenv("BTO_HARDENING_EXPORTER") : kExporter;
const std::string kRecorded = std::string(BTO_SOURCE_DIR) + "/tests/data/recorded-demo.jsonl";
constexpr const char* kSecret = "hunter2-s3cr3t";

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Runs the binary to its end; stdout and stderr in `out`/`err`, the exit code returned.
int run(const TempDir& tmp, const std::vector<std::string>& argv, std::string& out, std::string& err) {
  Child child = Child::spawn(argv, tmp.file("run.out"), tmp.file("run.err"));
  const auto status = child.wait_for(seconds(60));
  out = read_file(tmp.file("run.out"));
  err = read_file(tmp.file("run.err"));
  return status ? child.exit_code() : -1;
}

// Issue 17.3: GRPC_TRACE=http made gRPC log "authorization: Bearer <token>".
TEST(Hardening, grpc_trace_never_logs_our_headers) {
  TestReceiver receiver(ReceiverOptions{.protocol = ReceiverProtocol::kGrpc});
  TempDir tmp;
  std::string out, err;
  const int code = run(tmp,
                       {"/usr/bin/env", "GRPC_TRACE=http", "GRPC_VERBOSITY=debug",
                        std::string("OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20") + kSecret, kBinary,
                        "--input", kRecorded, "--protocol", "grpc", "--endpoint", receiver.endpoint(),
                        "--log-level", "debug",
                        "--schedule-delay", "50ms"},
                       out, err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_TRUE(contains(err, "GRPC_TRACE ignored")) << err;
  EXPECT_FALSE(contains(err, kSecret)) << "the header value is in the log";
  EXPECT_EQ(receiver.received().spans.size(), 414u);
}

TEST(Hardening, print_config_never_shows_a_header_or_its_length) {
  TempDir tmp;
  std::string short_out, long_out, err;
  ASSERT_EQ(run(tmp, {"/usr/bin/env", "OTEL_EXPORTER_OTLP_HEADERS=authorization=abc", kBinary, "-i", "x",
                      "--print-config"},
                short_out, err),
            0);
  ASSERT_EQ(run(tmp,
                {"/usr/bin/env", std::string("OTEL_EXPORTER_OTLP_HEADERS=authorization=") + kSecret + kSecret,
                 kBinary, "-i", "x", "--print-config"},
                long_out, err),
            0);
  EXPECT_EQ(short_out, long_out);  // same text whatever the value's length
  EXPECT_TRUE(contains(long_out, "authorization=******")) << long_out;
  EXPECT_FALSE(contains(long_out, kSecret));
}

TEST(Hardening, headers_flag_on_the_command_line_warns) {
  TempDir tmp;
  std::string out, err;
  EXPECT_EQ(run(tmp,
                {kBinary, "--input", kRecorded, "--exporter", "none", "--headers",
                 std::string("authorization=") + kSecret},
                out, err),
            0);
  EXPECT_TRUE(contains(err, "visible to every user")) << err;
  EXPECT_FALSE(contains(err, kSecret)) << err;
}

// Issue 17.6: a directory was read as an empty stream and the run exited 0.
TEST(Hardening, input_directory_is_an_error) {
  TempDir tmp;
  std::string out, err;
  const std::string dir = tmp.file("a-directory");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_EQ(run(tmp, {kBinary, "--input", dir, "--exporter", "none"}, out, err), 2) << err;
  EXPECT_TRUE(contains(err, "is a directory")) << err;
}

TEST(Hardening, config_directory_is_an_error) {
  TempDir tmp;
  std::string out, err;
  const std::string dir = tmp.file("conf.d");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_NE(run(tmp, {kBinary, "--input", kRecorded, "--config", dir}, out, err), 0);
  EXPECT_TRUE(contains(err, "is a directory")) << err;
}

// ---- -c CMD: the target is not trusted (issue 17.3), real bpftrace -------------

class HardeningLive : public E2eTest {};

// A target that echoes an event, prints ordinary output on stdout and stderr,
// and reports whether it got our exporter headers. Before the fix the echo
// became a span ("HTTP GET /forged"), its lines were logged as bpftrace's,
// the token reached it and the log showed --password=... as given.
TEST_F(HardeningLive, command_target_is_not_trusted) {
  const std::string target = path("target.py");
  write_file(target,
             "import os, sys, time\n"
             "print('{\"event\":\"http_request_start\",\"request_id\":1,\"method\":\"GET\",\"uri\":\"/forged\"}', "
             "flush=True)\n"
             "print('ordinary target output', flush=True)\n"
             "print('target stderr line', file=sys.stderr, flush=True)\n"
             "print('HEADERS=' + str(os.environ.get('OTEL_EXPORTER_OTLP_HEADERS')), flush=True)\n"
             "time.sleep(0.3)\n");
  Child exporter = start_process(
      "exporter", {"/usr/bin/env", std::string("OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20") + kSecret, kBinary,
                   "--console-format", "json", "--program", "tracepoint:syscalls:sys_enter_nanosleep /pid == cpid/ { }",
                   "-c", "/usr/bin/python3 " + target + " --password=" + kSecret});
  const auto status = exporter.wait_for(seconds(60));
  ASSERT_TRUE(status.has_value()) << "bpftrace-otel did not end with its command";
  EXPECT_EQ(exporter.exit_code(), 0);
  const std::string out = read_file(path("exporter.out"));
  const std::string err = log("exporter");
  // Kept apart from the event stream: no span, the lines passed through as written.
  EXPECT_EQ(summary("exporter").at("events"), 0u) << err;
  EXPECT_EQ(summary("exporter").at("started"), 0u) << err;
  EXPECT_FALSE(contains(out, "/forged\",\"kind\"")) << out;  // no span of it on the console
  EXPECT_TRUE(contains(out, "ordinary target output\n")) << out;
  EXPECT_TRUE(contains(err, "\ntarget stderr line\n")) << err;
  EXPECT_FALSE(contains(err, "bpftrace: ordinary")) << err;
  // No credential reached the target; no secret in any log.
  EXPECT_TRUE(contains(out, "HEADERS=None")) << out;
  EXPECT_TRUE(contains(err, "--password=REDACTED")) << err;
  EXPECT_FALSE(contains(err, kSecret)) << err;
}

TEST_F(HardeningLive, command_output_to_a_file) {
  const std::string target = path("target.py");
  write_file(target, "import sys\nprint('to stdout', flush=True)\nprint('to stderr', file=sys.stderr, flush=True)\n");
  Child exporter = start_process(
      "exporter", {kBinary, "--exporter", "none", "--command-output", path("command.log"), "--program",
                   "tracepoint:syscalls:sys_enter_nanosleep /pid == cpid/ { }", "-c", "/usr/bin/python3 " + target});
  ASSERT_TRUE(exporter.wait_for(seconds(60)).has_value());
  EXPECT_EQ(exporter.exit_code(), 0) << log("exporter");
  const std::string file = read_file(path("command.log"));
  EXPECT_TRUE(contains(file, "to stdout\n") && contains(file, "to stderr\n")) << file;
  EXPECT_FALSE(contains(read_file(path("exporter.out")) + log("exporter"), "to std")) << log("exporter");
}

}  // namespace
}  // namespace bto::e2e

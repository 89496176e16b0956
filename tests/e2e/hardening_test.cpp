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
  Child child = Child::spawn(argv, tmp.path("run.out"), tmp.path("run.err"));
  const auto status = child.wait_for(seconds(60));
  out = read_file(tmp.path("run.out"));
  err = read_file(tmp.path("run.err"));
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
  const std::string dir = tmp.path("a-directory");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_EQ(run(tmp, {kBinary, "--input", dir, "--exporter", "none"}, out, err), 2) << err;
  EXPECT_TRUE(contains(err, "is a directory")) << err;
}

TEST(Hardening, config_directory_is_an_error) {
  TempDir tmp;
  std::string out, err;
  const std::string dir = tmp.path("conf.d");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_NE(run(tmp, {kBinary, "--input", kRecorded, "--config", dir}, out, err), 0);
  EXPECT_TRUE(contains(err, "is a directory")) << err;
}

}  // namespace
}  // namespace bto::e2e

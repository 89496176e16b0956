#pragma once
// The fixture every end-to-end test starts from (docs/testing.md, "Writing an
// end-to-end test"). It skips the test without root, bpftrace or tracefs;
// gives it a temporary directory; starts the traced program, bpftrace-otel and
// the load generator as real processes (argv, never a shell), each with its
// stdout/stderr in NAME.out/NAME.err there; waits until bpftrace has attached;
// stops bpftrace-otel and reads its summary line; and prints every process'
// log when the test failed. The test OTLP receiver is a TestReceiver
// (tests/receiver/test_receiver.h) the test owns, for OTLP/HTTP or gRPC.
//
//   class E2eCurl : public E2eTest {};
//   TEST_F(E2eCurl, requests_become_spans) {
//     testing::TestReceiver receiver;
//     Child target = start_process("curl", {"/usr/bin/curl", ...});
//     Child exporter = start_exporter("exporter", {.script = my_script, .pid = target.pid(),
//                                                  .program = "/usr/bin/curl", .receiver = &receiver});
//     ASSERT_TRUE(wait_attached("exporter"));
//     ...
//     const testing::Received got = wait_for_spans(receiver, 10);
//     ASSERT_EQ(stop(exporter), 0);
//     EXPECT_EQ(summary("exporter").at("dropped"), 0u);
//   }

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {

using std::chrono::milliseconds;
using std::chrono::seconds;
// What the receiver got, for the checks of every test.
using testing::Received;
using testing::ReceivedAttribute;
using testing::ReceivedSpan;
using testing::ReceiverOptions;
using testing::ReceiverProtocol;
using testing::TestReceiver;

// What the tests run (paths set by tests/e2e/CMakeLists.txt).
inline constexpr const char* kExporter = BTO_E2E_EXPORTER;
inline constexpr const char* kDemoServer = BTO_E2E_DEMO_SERVER;
inline constexpr const char* kLoadgen = BTO_E2E_LOADGEN;
inline constexpr const char* kAllScript = BTO_SOURCE_DIR "/examples/scripts/all.bt";
inline constexpr const char* kHttpScript = BTO_SOURCE_DIR "/examples/scripts/http.bt";
// What bpftrace-otel logs when bpftrace reports attached_probes.
inline constexpr const char* kAttached = "bpftrace attached its probes";

// A program serving on a port it chose (the demo server).
struct Server {
  Child child;
  int port = 0;  // 0: it never listened
};

// One bpftrace-otel run: what it traces and where the spans go.
struct Tracing {
  std::string script{};                             // --script
  pid_t pid = 0;                                    // --pid; 0: system-wide (every process of `program`)
  std::string program = kDemoServer;                // after "--": the traced binary, the script's $1; "" for none
  const testing::TestReceiver* receiver = nullptr;  // --endpoint, --protocol; none: the console view
  std::vector<std::string> options{};               // any other flags (--service-name, --schedule-delay, ...)

  std::vector<std::string> args() const;
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override;     // skips without the prerequisites; makes the temporary directory
  void TearDown() override;  // on failure: prints the stderr of every process it started

  // A file in this test's temporary directory (kept with BTO_E2E_KEEP=1).
  std::string path(const std::string& name) const { return tmp_->file(name); }
  // NAME.err: what the process started as NAME wrote to stderr (bpftrace-otel: its log).
  std::string log(const std::string& name) const { return read_file(path(name + ".err")); }

  // Any program, by argv; stdout to NAME.out, stderr to NAME.err.
  Child start_process(const std::string& name, const std::vector<std::string>& argv);
  // demo-server on a port of the kernel's choice (plus `extra` flags); returns once it listens.
  // `env` ("NAME=value") is added to its environment (through /usr/bin/env, which execs it in
  // place: the server keeps the pid start_process saw).
  Server start_server(const std::string& name, const std::vector<std::string>& extra = {},
                      const std::vector<std::string>& env = {});
  // bpftrace-otel as NAME.
  Child start_exporter(const std::string& name, const Tracing& tracing);
  Child start_exporter(const std::string& name, const std::vector<std::string>& args);  // args as given
  // Until NAME has logged kAttached `count` times (40 s at most), then 1 s
  // more: bpftrace prints attached_probes when attaching starts, not when it
  // ends (docs/demo.md), so events of the first ~30 ms would be missing.
  bool wait_attached(const std::string& name, size_t count = 1);
  // The key=value figures of NAME's last "summary:" line (empty: none).
  std::map<std::string, uint64_t> summary(const std::string& name) const { return parse_summary(log(name)); }

  // demo-loadgen against `port`, one record per request in the file `record`
  // (read_records); its own output in RECORD.summary and RECORD.err.
  Child start_loadgen(int port, const std::string& record, const std::vector<std::string>& extra);
  // The same, run to completion: its exit code, -1 on timeout.
  int run_loadgen(int port, const std::string& record, const std::vector<std::string>& extra,
                  milliseconds timeout = seconds(30));

 private:
  std::optional<TempDir> tmp_;    // made once the prerequisites are met
  std::vector<std::string> logs_;  // NAME.err of every process started
};

// SIGTERM (how a user stops bpftrace-otel), then waits: the exit status, or
// nullopt if it still runs after `timeout`.
std::optional<int> stop(Child& process, milliseconds timeout = seconds(15));

// Polls the receiver until `done` holds or `timeout` passes; returns the last state.
testing::Received wait_received(testing::TestReceiver& receiver,
                                const std::function<bool(const testing::Received&)>& done, milliseconds timeout);
// Until the receiver holds at least `spans` spans.
testing::Received wait_for_spans(testing::TestReceiver& receiver, size_t spans, milliseconds timeout = seconds(20));

}  // namespace bto::e2e

#include "e2e_fixture.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace bto::e2e {

std::vector<std::string> Tracing::args() const {
  std::vector<std::string> out = {"--script", script};
  if (pid != 0) out.insert(out.end(), {"--pid", std::to_string(pid)});
  if (receiver != nullptr) {
    out.insert(out.end(), {"--endpoint", receiver->endpoint(), "--protocol", receiver->protocol_flag()});
  }
  out.insert(out.end(), options.begin(), options.end());
  if (!program.empty()) out.insert(out.end(), {"--", program});
  return out;
}

void E2eTest::SetUp() {
  const std::string why = missing_prerequisite();
  if (!why.empty()) GTEST_SKIP() << why;
  tmp_.emplace();
}

void E2eTest::TearDown() {
  if (!HasFailure() || !tmp_) return;
  // The logs are the only way to see what bpftrace and the exporter did.
  for (const std::string& name : logs_) {
    std::fprintf(stderr, "----- %s -----\n%s\n", name.c_str(), read_file(path(name)).c_str());
  }
}

Child E2eTest::start_process(const std::string& name, const std::vector<std::string>& argv) {
  logs_.push_back(name + ".err");
  return Child::spawn(argv, path(name + ".out"), path(name + ".err"));
}

Server E2eTest::start_server(const std::string& name, const std::vector<std::string>& extra,
                             const std::vector<std::string>& env) {
  const std::string port_file = path(name + ".port");
  std::vector<std::string> argv;
  if (!env.empty()) {
    argv.push_back("/usr/bin/env");
    argv.insert(argv.end(), env.begin(), env.end());
  }
  argv.insert(argv.end(), {kDemoServer, "--port", "0", "--port-file", port_file, "--quiet"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  Server server{start_process(name, argv), 0};
  // The port file is written then renamed: never seen half written.
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (server.port == 0 && std::chrono::steady_clock::now() < deadline && server.child.running()) {
    server.port = std::atoi(read_file(port_file).c_str());
    if (server.port == 0) std::this_thread::sleep_for(milliseconds(20));
  }
  return server;
}

Child E2eTest::start_exporter(const std::string& name, const Tracing& tracing) {
  return start_exporter(name, tracing.args());
}

Child E2eTest::start_exporter(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kExporter};
  argv.insert(argv.end(), args.begin(), args.end());
  return start_process(name, argv);
}

bool E2eTest::wait_attached(const std::string& name, size_t count) {
  if (!wait_for_text(path(name + ".err"), kAttached, seconds(40), count)) return false;
  std::this_thread::sleep_for(seconds(1));
  return true;
}

Child E2eTest::start_loadgen(int port, const std::string& record, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {kLoadgen, "--port", std::to_string(port), "--record", path(record)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  logs_.push_back(record + ".err");
  return Child::spawn(argv, path(record + ".summary"), path(record + ".err"));
}

int E2eTest::run_loadgen(int port, const std::string& record, const std::vector<std::string>& extra,
                         milliseconds timeout) {
  Child load = start_loadgen(port, record, extra);
  const auto status = load.wait_for(timeout);
  return status ? *status : -1;
}

std::optional<int> stop(Child& process, milliseconds timeout) {
  process.signal(SIGTERM);
  return process.wait_for(timeout);
}

testing::Received wait_received(testing::TestReceiver& receiver,
                                const std::function<bool(const testing::Received&)>& done, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    testing::Received r = receiver.received();
    if (done(r) || std::chrono::steady_clock::now() >= deadline) return r;
    std::this_thread::sleep_for(milliseconds(100));
  }
}

testing::Received wait_for_spans(testing::TestReceiver& receiver, size_t spans, milliseconds timeout) {
  return wait_received(receiver, [spans](const testing::Received& r) { return r.spans.size() >= spans; }, timeout);
}

}  // namespace bto::e2e

// End-to-end tests: the real demo server, real bpftrace, the bpftrace-otel
// binary and the test OTLP receiver (which decodes with the official schema),
// all as separate processes started by argv. Needs root and bpftrace; skipped
// otherwise. Each test builds its own processes on free ports and tears them
// down through RAII owners, also when an assertion fails.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_fixture.h"
#include "e2e_spans.h"
#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

// See http_spans_match_requests: the end probe runs after write(2), so the
// client can see the whole response first when the scheduler runs it before
// the server thread. 5 ms is ~5x the worst delay measured on a loaded host.
constexpr int64_t kEndProbeSlackNs = 5'000'000;
// Span times are bpftrace's CLOCK_MONOTONIC moved to the wall clock by an
// offset we sample; the client stamps CLOCK_REALTIME directly.
constexpr int64_t kClockSlackNs = 1'000'000;

size_t count_http(const Received& r) {
  return static_cast<size_t>(std::count_if(r.spans.begin(), r.spans.end(), is_http));
}

// bpftrace-otel's bpftrace child, 0 if none.
pid_t bpftrace_child(pid_t exporter) {
  for (pid_t child : children_of(exporter)) {
    if (read_file("/proc/" + std::to_string(child) + "/comm") == "bpftrace\n") return child;
  }
  return 0;
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0; }

class E2e : public E2eTest {};

// ---------------------------------------------------------------------------

TEST_F(E2e, http_spans_match_requests) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  const std::vector<int> listening = listening_ports(server.child.pid());
  ASSERT_EQ(listening.size(), 2u) << "expected the HTTP port and the TLS peer's port";
  const int peer_port = listening[0] == server.port ? listening[1] : listening[0];

  TestReceiver receiver;
  Child exporter = start_exporter("exporter", {.script = kAllScript,
                                               .pid = server.child.pid(),
                                               .receiver = &receiver,
                                               .options = {"--service-name", "e2e-http", "--schedule-delay", "100ms"}});
  ASSERT_TRUE(wait_attached("exporter"));

  // 17-entry mix cycled 5 times: 40 users, 20 orders, 10 error, 10 items, 5 notfound.
  ASSERT_EQ(run_loadgen(server.port, "load.jsonl",
                        {"--requests", "85", "--concurrency", "4", "--traceparent", "--mix",
                         "users:8,orders:4,error:2,items:2,notfound"}),
            0);
  const std::vector<Record> records = read_records(path("load.jsonl"));
  ASSERT_EQ(records.size(), 85u);
  std::map<std::string, int> routes;
  for (const Record& r : records) ++routes[r.route];
  EXPECT_EQ(routes, (std::map<std::string, int>{
                        {"users", 40}, {"orders", 20}, {"error", 10}, {"items", 10}, {"notfound", 5}}));

  // 85 HTTP spans + one dial, one TLS and one job span per order.
  constexpr size_t kExpected = 85 + 3 * 20;
  wait_received(receiver, [](const Received& r) { return r.spans.size() >= kExpected; }, seconds(20));
  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value()) << "bpftrace-otel did not exit within 15 s of SIGTERM";
  EXPECT_EQ(*status, 0);

  const Received got = receiver.received();
  const auto figures = summary("exporter");
  ASSERT_FALSE(figures.empty()) << "no summary line";
  EXPECT_EQ(figures.at("exported"), got.spans.size());
  EXPECT_EQ(figures.at("dropped"), 0u);
  EXPECT_EQ(figures.at("bpftrace_lost_events"), 0u);
  EXPECT_EQ(got.duplicates, 0);
  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  ASSERT_EQ(got.spans.size(), kExpected);

  // HTTP spans: one per recorded request, matched through the unique
  // traceparent each request carried (the span continues that trace), so
  // every span is checked against its own request.
  std::map<std::string, const Record*> by_traceparent;
  for (const Record& r : records) by_traceparent[context_of(r)] = &r;
  ASSERT_EQ(by_traceparent.size(), records.size());
  OrderSpans orders;
  std::set<std::string> matched;
  size_t http = 0, longer_than_latency = 0;
  int64_t max_excess_ns = 0;
  for (const ReceivedSpan& span : got.spans) {
    if (!is_http(span)) continue;
    ++http;
    const std::string traceparent = context_of(span);
    const auto it = by_traceparent.find(traceparent);
    ASSERT_NE(it, by_traceparent.end()) << span.name << " has no request with traceparent " << traceparent;
    EXPECT_TRUE(matched.insert(traceparent).second) << "two spans for " << traceparent;
    const Record& r = *it->second;
    SCOPED_TRACE("request seq " + std::to_string(r.seq) + " " + r.method + " " + r.uri);
    EXPECT_EQ(span.name, "HTTP " + r.method + " " + r.uri);
    EXPECT_EQ(span.kind, kKindServer);
    EXPECT_EQ(attr(span, "http.method"), r.method);
    EXPECT_EQ(attr(span, "http.url"), r.uri);
    EXPECT_EQ(attr(span, "http.status_code"), std::to_string(r.status));
    EXPECT_EQ(span.status_code == kStatusError, r.status >= 500) << "status " << span.status_code;
    EXPECT_EQ(find_attr(span.attributes, "traceparent"), nullptr) << "traceparent is consumed";
    // The span must lie within the client's window: http_request_start fires
    // after the server read the request head (causally after the client began
    // sending), http_request_end right after the server's write(2) of the
    // response. The end side needs a slack: the write wakes the client, which
    // may run (and stop its clock) before the server thread reaches the probe.
    // Measured on a 2-core host at load 10: starts 20-40 us after the client
    // began, ends up to ~1 ms after the client's last byte.
    ASSERT_GE(span.end, span.start);
    EXPECT_GT(span.end - span.start, 0u);
    const int64_t start_after_client = static_cast<int64_t>(span.start) - r.start_unix_ns;
    const int64_t end_after_client = static_cast<int64_t>(span.end) - (r.start_unix_ns + r.latency_ns);
    const int64_t duration = static_cast<int64_t>(span.end - span.start);
    EXPECT_GE(start_after_client, -kClockSlackNs) << "span starts before the client sent the request";
    EXPECT_LE(end_after_client, kEndProbeSlackNs) << "span ends long after the client got the response";
    EXPECT_LE(duration, r.latency_ns + kEndProbeSlackNs)
        << "span starts " << start_after_client << " ns after the client began, ends " << end_after_client
        << " ns after the client's last byte";
    if (duration > r.latency_ns) {
      ++longer_than_latency;
      max_excess_ns = std::max(max_excess_ns, duration - r.latency_ns);
    }
    EXPECT_EQ(find_attr(span.resource, "service.name")->value, "e2e-http");
    const ReceivedAttribute* pid = find_attr(span.resource, "process.pid");
    ASSERT_NE(pid, nullptr);
    EXPECT_EQ(pid->value, std::to_string(server.child.pid()));
    // --pid keeps one resource, with the process attributes of node-wide mode.
    ASSERT_NE(find_attr(span.resource, "process.executable.name"), nullptr);
    EXPECT_EQ(find_attr(span.resource, "process.executable.name")->value, "demo-server");
    ASSERT_NE(find_attr(span.resource, "process.command_args"), nullptr);
    EXPECT_EQ(find_attr(span.resource, "process.command_args")->type, "array");
    EXPECT_NE(find_attr(span.resource, "process.parent_pid"), nullptr);
    if (r.route == "orders") orders[span.span_id] = &span;
  }
  EXPECT_EQ(http, 85u);
  ASSERT_EQ(orders.size(), 20u);
  std::fprintf(stderr, "[ figures  ] 85 requests, %zu HTTP spans (%zu longer than the client latency, by at most %lld ns), %zu spans in all\n",
               http, longer_than_latency, static_cast<long long>(max_excess_ns), got.spans.size());

  expect_order_children(got.spans, orders, peer_port);
}

TEST_F(E2e, target_exit_ends_cleanly) {
  constexpr int kRequests = 30;
  Server server = start_server("server", {"--max-requests", std::to_string(kRequests)});
  ASSERT_GT(server.port, 0);
  TestReceiver receiver;
  Child exporter = start_exporter("exporter", {.script = kAllScript,
                                               .pid = server.child.pid(),
                                               .receiver = &receiver,
                                               .options = {"--service-name", "e2e-exit"}});
  ASSERT_TRUE(wait_attached("exporter"));
  const pid_t bpftrace = bpftrace_child(exporter.pid());
  ASSERT_GT(bpftrace, 0);
  ASSERT_EQ(run_loadgen(server.port, "load.jsonl",
                        {"--requests", std::to_string(kRequests), "--concurrency", "2", "--mix",
                         "users,orders,items"}),
            0);

  const auto server_status = server.child.wait_for(seconds(10));
  ASSERT_TRUE(server_status.has_value()) << "demo-server did not exit after --max-requests";
  EXPECT_EQ(*server_status, 0);
  // Nothing is signalled: target exit -> bpftrace exit -> flush -> our exit.
  const auto started = std::chrono::steady_clock::now();
  const auto status = exporter.wait_for(seconds(10));
  ASSERT_TRUE(status.has_value()) << "bpftrace-otel still runs 10 s after its target exited";
  EXPECT_EQ(*status, 0);
  std::fprintf(stderr, "[ figures  ] bpftrace-otel exited %lld ms after the target\n",
               static_cast<long long>(std::chrono::duration_cast<milliseconds>(
                                          std::chrono::steady_clock::now() - started)
                                          .count()));

  const Received got = receiver.received();
  EXPECT_EQ(count_http(got), static_cast<size_t>(kRequests));
  EXPECT_EQ(got.spans.size(), static_cast<size_t>(kRequests + 3 * (kRequests / 3)));
  EXPECT_EQ(got.duplicates, 0);
  const auto figures = summary("exporter");
  ASSERT_FALSE(figures.empty()) << "no summary line";
  EXPECT_EQ(figures.at("exported"), got.spans.size());
  EXPECT_EQ(figures.at("dropped"), 0u);
  EXPECT_EQ(figures.at("bpftrace_lost_events"), 0u);
  EXPECT_NE(log("exporter").find("target exited"), std::string::npos);
  EXPECT_FALSE(process_exists(bpftrace)) << "bpftrace outlived bpftrace-otel";
}

TEST_F(E2e, sigterm_mid_load_loses_no_complete_span) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  TestReceiver receiver;
  Child exporter =
      start_exporter("exporter", {.script = kAllScript, .pid = server.child.pid(), .receiver = &receiver});
  ASSERT_TRUE(wait_attached("exporter"));
  const pid_t bpftrace = bpftrace_child(exporter.pid());
  ASSERT_GT(bpftrace, 0);
  // ~5 s of paced load; SIGTERM lands in the middle of it.
  Child load = start_loadgen(server.port, "load.jsonl",
                             {"--requests", "4000", "--rate", "800", "--concurrency", "4",
                              "--traceparent", "--mix", "users,orders,items"});
  std::this_thread::sleep_for(milliseconds(1500));
  ASSERT_TRUE(load.running()) << "the load ended before SIGTERM: raise --requests";
  const auto signalled = std::chrono::steady_clock::now();
  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value()) << "bpftrace-otel did not exit within 15 s of SIGTERM";
  EXPECT_EQ(*status, 0);
  std::fprintf(stderr, "[ figures  ] exited %lld ms after SIGTERM\n",
               static_cast<long long>(std::chrono::duration_cast<milliseconds>(
                                          std::chrono::steady_clock::now() - signalled)
                                          .count()));
  EXPECT_FALSE(process_exists(bpftrace)) << "bpftrace outlived bpftrace-otel";
  const auto load_status = load.wait_for(seconds(20));
  ASSERT_TRUE(load_status.has_value());
  EXPECT_EQ(*load_status, 0);

  const Received got = receiver.received();
  const auto figures = summary("exporter");
  ASSERT_FALSE(figures.empty()) << "no summary line";
  EXPECT_EQ(figures.at("exported"), got.spans.size());
  EXPECT_EQ(figures.at("dropped"), 0u);
  EXPECT_EQ(got.duplicates, 0);
  // bpftrace stops reading its buffers at SIGINT while the probes still fire
  // under load until it detaches them: it may lose events then, all of them
  // after the stop. Before the stop it must lose none.
  const std::string text = log("exporter");
  const size_t lost_at = text.find("bpftrace lost ");
  if (lost_at != std::string::npos) {
    EXPECT_GT(lost_at, text.find("stopping bpftrace")) << "events lost before the stop";
  }

  std::map<std::string, const Record*> by_traceparent;
  const std::vector<Record> records = read_records(path("load.jsonl"));
  for (const Record& r : records) by_traceparent[context_of(r)] = &r;
  size_t complete = 0, open_at_stop = 0;
  for (const ReceivedSpan& span : got.spans) {
    if (!is_http(span)) continue;
    const auto it = by_traceparent.find(context_of(span));
    ASSERT_NE(it, by_traceparent.end()) << span.name << " matches no request";
    EXPECT_EQ(span.name, "HTTP " + it->second->method + " " + it->second->uri);
    if (find_attr(span.attributes, "http.status_code") == nullptr) {
      ++open_at_stop;  // started before the stop, its end never printed
      continue;
    }
    ++complete;
    EXPECT_EQ(attr(span, "http.status_code"), std::to_string(it->second->status));
  }
  std::fprintf(stderr,
               "[ figures  ] requests sent %zu, HTTP spans complete %zu, open at stop %zu, total spans %zu, "
               "bpftrace lost events while stopping %llu\n",
               records.size(), complete, open_at_stop, got.spans.size(),
               static_cast<unsigned long long>(figures.at("bpftrace_lost_events")));
  EXPECT_GT(complete, 100u);
  EXPECT_LT(complete, records.size());
  EXPECT_LE(open_at_stop, figures.at("flushed_at_exit"));
}

TEST_F(E2e, system_wide_mode_traces_workers_started_later) {
  TestReceiver receiver;
  // No --pid: the probes attach to the binary, so processes started later are traced too.
  Child exporter = start_exporter(
      "exporter",
      {.script = kAllScript, .receiver = &receiver, .options = {"--mode", "native-usdt", "--schedule-delay", "100ms"}});
  ASSERT_TRUE(wait_attached("exporter"));
  Server a = start_server("server-a");
  Server b = start_server("server-b");
  ASSERT_GT(a.port, 0);
  ASSERT_GT(b.port, 0);
  // A little settling for the uprobes to be installed in the new processes' mappings.
  std::this_thread::sleep_for(milliseconds(300));

  // One process after the other, each with its own URIs (two processes
  // serving at once: tests/e2e/resource_e2e_test.cpp). Every span names its
  // process in its resource.
  ASSERT_EQ(run_loadgen(a.port, "load-a.jsonl", {"--requests", "20", "--concurrency", "2", "--mix", "users"}), 0);
  Received got = wait_received(receiver, [](const Received& r) { return count_http(r) >= 20; }, seconds(15));
  ASSERT_EQ(count_http(got), 20u);
  ASSERT_EQ(run_loadgen(b.port, "load-b.jsonl",
                        {"--requests", "20", "--concurrency", "2", "--mix", "items,orders"}),
            0);
  got = wait_received(receiver, [](const Received& r) { return r.spans.size() >= 20 + 20 + 30; }, seconds(15));
  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  got = receiver.received();

  std::set<std::string> tids_a, tids_b;
  size_t users = 0, items = 0, orders = 0;
  for (const ReceivedSpan& span : got.spans) {
    if (!is_http(span)) continue;
    if (span.name == "HTTP GET /api/users") {
      ++users;
      tids_a.insert(attr(span, "thread.id"));
    } else {
      (span.name == "HTTP POST /api/orders" ? orders : items)++;
      tids_b.insert(attr(span, "thread.id"));
    }
    const ReceivedAttribute* pid = find_attr(span.resource, "process.pid");
    ASSERT_NE(pid, nullptr) << "system-wide spans name their own process";
    EXPECT_EQ(pid->value, std::to_string(span.name == "HTTP GET /api/users" ? a.child.pid() : b.child.pid()));
  }
  EXPECT_EQ(users, 20u);
  EXPECT_EQ(items, 10u);
  EXPECT_EQ(orders, 10u);
  EXPECT_EQ(got.spans.size(), 20u + 20u + 30u) << "10 orders bring a dial, a TLS and a job span each";
  std::vector<std::string> both;
  std::set_intersection(tids_a.begin(), tids_a.end(), tids_b.begin(), tids_b.end(), std::back_inserter(both));
  EXPECT_TRUE(both.empty()) << "threads of process A and B overlap";
  EXPECT_FALSE(tids_a.empty());
  EXPECT_FALSE(tids_b.empty());
  const auto figures = summary("exporter");
  ASSERT_FALSE(figures.empty());
  EXPECT_EQ(figures.at("exported"), got.spans.size());
  EXPECT_EQ(figures.at("dropped"), 0u);
}

TEST_F(E2e, console_view_shows_live_spans) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  Child exporter = start_exporter("exporter", {.script = kAllScript, .pid = server.child.pid()});
  ASSERT_TRUE(wait_attached("exporter"));
  ASSERT_EQ(run_loadgen(server.port, "load.jsonl", {"--requests", "10", "--concurrency", "1", "--mix", "users,orders"}), 0);
  // The console view is live: lines appear while we still run (200 ms batches).
  EXPECT_TRUE(wait_for_text(path("exporter.out"), "TLS Handshake", seconds(10)));
  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);

  const std::string out = read_file(path("exporter.out"));
  size_t users = 0, nested_tls = 0;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("HTTP GET /api/users") != std::string::npos) ++users;
    const size_t at = line.find("TLS Handshake");
    if (at != std::string::npos && at > 0 && line.find_first_not_of(' ') > 0) ++nested_tls;
  }
  EXPECT_EQ(users, 5u) << out;
  EXPECT_EQ(nested_tls, 5u) << "TLS Handshake lines indented under their request\n" << out;
}

TEST_F(E2e, bpftrace_killed_is_restarted) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  TestReceiver receiver;
  Child exporter = start_exporter("exporter", {.script = kAllScript,
                                               .pid = server.child.pid(),
                                               .receiver = &receiver,
                                               .options = {"--restart", "on-failure", "--schedule-delay", "100ms"}});
  ASSERT_TRUE(wait_attached("exporter"));

  const pid_t bpftrace = bpftrace_child(exporter.pid());
  ASSERT_GT(bpftrace, 0) << "no bpftrace child of bpftrace-otel";
  ASSERT_EQ(::kill(bpftrace, SIGKILL), 0);
  EXPECT_TRUE(wait_for_text(path("exporter.err"), "restarting it", seconds(10)));
  ASSERT_TRUE(wait_attached("exporter", 2)) << "bpftrace was not restarted";
  for (pid_t child : children_of(exporter.pid())) EXPECT_NE(child, bpftrace) << "the killed bpftrace was not reaped";

  ASSERT_EQ(run_loadgen(server.port, "load.jsonl", {"--requests", "10", "--concurrency", "2", "--mix", "users"}), 0);
  Received got = wait_received(receiver, [](const Received& r) { return count_http(r) >= 10; }, seconds(15));
  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  got = receiver.received();
  EXPECT_EQ(count_http(got), 10u) << "spans after the restart";
  const auto figures = summary("exporter");
  ASSERT_FALSE(figures.empty());
  EXPECT_EQ(figures.at("restarts"), 1u);
  EXPECT_EQ(figures.at("starts"), 2u);
}

TEST_F(E2e, clear_errors) {
  const std::string pid = std::to_string(::getpid());
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::vector<std::string> expected;  // each must appear in stderr
  };
  const std::string bad_script = path("syntax-error.bt");
  write_file(bad_script, "BEGIN { printf(\"unterminated\" }\n");
  // A PID that existed a moment ago and is gone now.
  pid_t gone = 0;
  {
    Child child = Child::spawn({"/bin/true"}, "", "");
    ASSERT_TRUE(child.wait_for(seconds(5)).has_value());
    gone = child.pid();
  }
  ASSERT_NE(::kill(gone, 0), 0);
  const std::vector<Case> cases = {
      {"missing_script", {"--script", "/nonexistent/dir/missing.bt", "--pid", pid}, {"/nonexistent/dir/missing.bt"}},
      // "syntax error, unexpected }" up to 0.24, "ERROR: syntax: expected ')'" from 0.25.
      {"syntax_error", {"--script", bad_script, "--pid", pid}, {"syntax-error.bt", "could not compile", "ERROR: syntax"}},
      {"no_such_pid", {"--script", kAllScript, "--pid", std::to_string(gone), "--", kDemoServer},
       {"no such process", std::to_string(gone)}},
      // Not installed: looked up in PATH and not found.
      {"bpftrace_not_installed", {"--script", kAllScript, "--pid", pid, "--bpftrace", "bpftrace-not-installed"},
       {"apt-get install bpftrace"}},
      {"bpftrace_path_wrong", {"--script", kAllScript, "--pid", pid, "--bpftrace", "/nonexistent/bpftrace"},
       {"/nonexistent/bpftrace", "--bpftrace"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Child exporter = start_exporter(c.name, c.args);
    const auto status = exporter.wait_for(seconds(30));
    ASSERT_TRUE(status.has_value()) << "did not exit";
    EXPECT_NE(*status, 0);
    const std::string err = log(c.name);
    for (const std::string& text : c.expected) {
      EXPECT_NE(err.find(text), std::string::npos) << "stderr lacks '" << text << "':\n" << err;
    }
    std::fprintf(stderr, "[ message  ] %s (exit %d): %s", c.name.c_str(), *status,
                 err.substr(err.find("error")).c_str());
  }
}

TEST_F(E2e, slow_collector_never_causes_lost_events) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  TestReceiver receiver;
  receiver.control(R"({"delay_ms": 2000})");  // every export request is answered 2 s late
  // A small queue, so the slow collector fills it within the run: the
  // backpressure must end in our counted drops, never in bpftrace's buffers.
  Child exporter = start_exporter("exporter", {.script = kHttpScript,
                                               .pid = server.child.pid(),
                                               .receiver = &receiver,
                                               .options = {"--max-queue-size", "200", "--max-export-batch-size",
                                                           "100", "--shutdown-timeout", "3s"}});
  ASSERT_TRUE(wait_attached("exporter"));
  constexpr uint64_t kRequests = 3000;
  ASSERT_EQ(run_loadgen(server.port, "load.jsonl",
                        {"--requests", std::to_string(kRequests), "--rate", "1500", "--concurrency", "4",
                         "--mix", "items"}),
            0);
  // The reader never waits for export, so it is at most a few ms behind the
  // load; 1 s is a wide margin for a loaded CI host.
  std::this_thread::sleep_for(seconds(1));
  const auto status = stop(exporter, seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);

  const auto f = summary("exporter");
  ASSERT_FALSE(f.empty());
  const Received got = receiver.received();
  std::fprintf(stderr,
               "[ figures  ] requests %llu, spans ended %llu, exported %llu, received %zu, dropped %llu "
               "(queue_full %llu, shutdown %llu), bpftrace lost events %llu\n",
               static_cast<unsigned long long>(kRequests), static_cast<unsigned long long>(f.at("ended")),
               static_cast<unsigned long long>(f.at("exported")), got.spans.size(),
               static_cast<unsigned long long>(f.at("dropped")),
               static_cast<unsigned long long>(f.at("queue_full")),
               static_cast<unsigned long long>(f.at("shutdown")),
               static_cast<unsigned long long>(f.at("bpftrace_lost_events")));
  EXPECT_EQ(f.at("bpftrace_lost_events"), 0u);
  // Every request became a span: the reader drained bpftrace throughout.
  EXPECT_EQ(f.at("started"), kRequests);
  EXPECT_EQ(f.at("ended"), kRequests);
  // Each span is accounted for: exported or dropped (and counted) by us.
  EXPECT_EQ(f.at("exported") + f.at("dropped"), kRequests);
  EXPECT_GT(f.at("queue_full"), 0u) << "the collector was not slow enough to fill the queue";
  EXPECT_EQ(got.spans.size(), f.at("exported"));
}

}  // namespace
}  // namespace bto::e2e

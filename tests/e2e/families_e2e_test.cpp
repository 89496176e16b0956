// A family declared in TOML (the shipped examples/families/demo_api.toml and
// its bpftrace script) against the real demo server: real bpftrace, the
// bpftrace-otel binary, the OTLP test receiver. Checks that the spans follow
// the declaration: name template with the route filter, kind, renamed and
// converted attributes, dropped fields, the error status rule and message.

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "e2e_fixture.h"
#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

const std::string kFamilyConfig = std::string(BTO_SOURCE_DIR) + "/examples/families/demo_api.toml";
const std::string kFamilyScript = std::string(BTO_SOURCE_DIR) + "/examples/families/demo_api.bt";

constexpr int kKindServer = 2;
constexpr int kStatusError = 2;

const ReceivedAttribute* find_attr(const ReceivedSpan& span, const std::string& key) {
  for (const auto& a : span.attributes) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

// The route the demo API's uris normalise to.
std::string route_of(const std::string& uri) {
  const std::string path = uri.substr(0, uri.find('?'));
  const std::string items = "/api/items/";
  if (path.rfind(items, 0) == 0) return items + "{id}";
  return path;
}

class E2eFamilies : public E2eTest {};

TEST_F(E2eFamilies, declared_family_from_toml_makes_the_declared_spans) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);

  TestReceiver receiver;
  Child exporter = start_exporter("exporter", {.script = kFamilyScript,
                                               .pid = server.child.pid(),
                                               .receiver = &receiver,
                                               .options = {"--config", kFamilyConfig, "--schedule-delay", "100ms"}});
  ASSERT_TRUE(wait_attached("exporter")) << log("exporter");

  Child load = start_loadgen(server.port, "load.jsonl", {"--requests", "12", "--concurrency", "2", "--mix", "items:2,error"});
  const auto load_status = load.wait_for(seconds(30));
  ASSERT_TRUE(load_status.has_value());
  ASSERT_EQ(*load_status, 0);
  const std::vector<Record> records = read_records(path("load.jsonl"));
  ASSERT_EQ(records.size(), 12u);

  wait_for_spans(receiver, records.size());
  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << log("exporter");

  const Received got = receiver.received();
  ASSERT_EQ(got.spans.size(), records.size()) << log("exporter");
  // Each request's span, found by its uri (items uris carry distinct ids; the
  // error requests are alike).
  std::map<std::string, int> expected_by_name, got_by_name;
  for (const Record& r : records) ++expected_by_name[r.method + " " + route_of(r.uri)];
  size_t errors = 0;
  for (const ReceivedSpan& span : got.spans) {
    SCOPED_TRACE(span.name);
    ++got_by_name[span.name];
    EXPECT_EQ(span.kind, kKindServer);
    const ReceivedAttribute* method = find_attr(span, "http.request.method");
    const ReceivedAttribute* path = find_attr(span, "url.path");
    const ReceivedAttribute* code = find_attr(span, "http.response.status_code");
    const ReceivedAttribute* call = find_attr(span, "demo.call.id");
    ASSERT_NE(method, nullptr);
    ASSERT_NE(path, nullptr);
    ASSERT_NE(code, nullptr);
    ASSERT_NE(call, nullptr);
    EXPECT_EQ(code->type, "int");
    EXPECT_EQ(call->type, "string");  // converted from the probe's integer
    EXPECT_EQ(find_attr(span, "pid"), nullptr);  // dropped
    EXPECT_EQ(find_attr(span, "method"), nullptr);  // renamed, not duplicated
    EXPECT_NE(find_attr(span, "thread.id"), nullptr);  // unmapped: kept
    EXPECT_EQ(span.name, method->value + " " + route_of(path->value));
    const bool server_error = std::atoi(code->value.c_str()) >= 500;
    EXPECT_EQ(span.status_code == kStatusError, server_error);
    if (server_error) {
      ++errors;
      EXPECT_EQ(span.status_message, "HTTP " + code->value);
    }
    bool matched = false;
    for (const Record& r : records) matched = matched || (r.uri == path->value && std::to_string(r.status) == code->value);
    EXPECT_TRUE(matched) << path->value << " " << code->value << " is no request the load generator made";
  }
  EXPECT_EQ(got_by_name, expected_by_name);
  size_t expected_errors = 0;
  for (const Record& r : records) expected_errors += r.status >= 500 ? 1 : 0;
  EXPECT_EQ(errors, expected_errors);
  EXPECT_GT(expected_errors, 0u);
  EXPECT_GT(expected_by_name.count("GET /api/items/{id}"), 0u);
}

}  // namespace
}  // namespace bto::e2e

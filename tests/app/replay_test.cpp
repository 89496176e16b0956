// A recording made with --exporter file, given back to --input with an
// endpoint, reaches the collector span for span: the same ids, parents, names,
// kinds, times, status, attributes, and the resource it was recorded with.
// The receiver decodes with the official protos (tests/receiver).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <map>
#include <set>

#include "app_process.h"
#include "test_receiver.h"

namespace bto::apptest {
namespace {

using bto::testing::ReceivedSpan;
using bto::testing::ReceiverOptions;
using bto::testing::ReceiverProtocol;
using bto::testing::TestReceiver;

int null_in() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
int null_out() { return ::open("/dev/null", O_WRONLY | O_CLOEXEC); }

struct FileSpan {
  std::string trace_id, parent, name, status_message, service;
  int64_t kind = 0, status = 0;
  uint64_t start = 0, end = 0;
  std::map<std::string, std::string> attributes;  // key -> value as text
};

// The recording's spans by span id, read independently of bpftrace-otel.
std::map<std::string, FileSpan> read_recording(const std::string& path) {
  std::map<std::string, FileSpan> spans;
  simdjson::dom::parser parser;
  const std::string text = read_file(path);
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    simdjson::dom::element request = parser.parse(text.substr(start, end - start));
    for (auto rs : request["resourceSpans"].get_array()) {
      std::string service;
      for (auto kv : rs["resource"]["attributes"].get_array()) {
        if (kv["key"].get_string().value() == "service.name") service = kv["value"]["stringValue"].get_string().value();
      }
      for (auto ss : rs["scopeSpans"].get_array()) {
        for (auto s : ss["spans"].get_array()) {
          FileSpan span;
          span.service = service;
          span.trace_id = s["traceId"].get_string().value();
          std::string_view parent;
          if (s["parentSpanId"].get_string().get(parent) == simdjson::SUCCESS) span.parent = parent;
          span.name = s["name"].get_string().value();
          span.kind = s["kind"].get_int64().value();
          span.start = std::stoull(std::string(s["startTimeUnixNano"].get_string().value()));
          span.end = std::stoull(std::string(s["endTimeUnixNano"].get_string().value()));
          int64_t code = 0;
          if (s["status"]["code"].get_int64().get(code) == simdjson::SUCCESS) span.status = code;
          std::string_view message;
          if (s["status"]["message"].get_string().get(message) == simdjson::SUCCESS) span.status_message = message;
          simdjson::dom::array attributes;
          if (s["attributes"].get_array().get(attributes) == simdjson::SUCCESS) {
            for (auto kv : attributes) {
              std::string value;
              for (auto [type, v] : kv["value"].get_object()) {
                std::string_view text_value;
                if (v.get_string().get(text_value) == simdjson::SUCCESS) {
                  value = text_value;  // stringValue, and intValue (a decimal string)
                } else {
                  value = simdjson::minify(v);  // boolValue, doubleValue
                }
                (void)type;
              }
              span.attributes[std::string(kv["key"].get_string().value())] = value;
            }
          }
          spans[std::string(s["spanId"].get_string().value())] = span;
        }
      }
    }
  }
  return spans;
}

void expect_same(const FileSpan& recorded, const ReceivedSpan& received) {
  EXPECT_EQ(received.trace_id, recorded.trace_id);
  EXPECT_EQ(received.parent_span_id, recorded.parent);
  EXPECT_EQ(received.name, recorded.name);
  EXPECT_EQ(received.kind, recorded.kind);
  EXPECT_EQ(received.start, recorded.start);
  EXPECT_EQ(received.end, recorded.end);
  EXPECT_EQ(received.status_code, recorded.status);
  EXPECT_EQ(received.status_message, recorded.status_message);
  std::map<std::string, std::string> attributes;
  for (const auto& a : received.attributes) attributes[a.key] = a.type == "double" ? a.value : a.value;
  EXPECT_EQ(attributes.size(), recorded.attributes.size()) << received.name;
  for (const auto& [key, value] : recorded.attributes) {
    ASSERT_TRUE(attributes.count(key)) << key;
    EXPECT_EQ(attributes[key], value) << key;
  }
  std::string service;
  for (const auto& a : received.resource) {
    if (a.key == "service.name") service = a.value;
  }
  EXPECT_EQ(service, recorded.service);  // the recording's resource, not this run's
  EXPECT_EQ(received.scope_name, "bpftrace-exporter");
}

class Replay : public ::testing::TestWithParam<ReceiverProtocol> {};

TEST_P(Replay, recording_given_back_to_input_reaches_the_collector_span_for_span) {
  TempDir dir;
  const std::string recording = dir.file("recording.jsonl");
  Process record = Process::start({exporter_path(), "--input", source_path("tests/data/recorded-demo.jsonl"),
                                   "--exporter", "file", "--output", recording, "--service-name", "demo-server"},
                                  {null_in(), null_out(), dir.file("record.err")});
  ASSERT_EQ(record.wait_for(milliseconds(30000)), std::optional<int>(0)) << read_file(dir.file("record.err"));
  const auto recorded = read_recording(recording);
  ASSERT_EQ(recorded.size(), 414u);

  ReceiverOptions options;
  options.protocol = GetParam();
  TestReceiver receiver(options);
  Process replay = Process::start({exporter_path(), "--input", recording, "--endpoint", receiver.endpoint(),
                                   "--protocol", receiver.protocol_flag(), "--service-name", "replaying-host",
                                   "--span-metrics", "false"},
                                  {null_in(), null_out(), dir.file("replay.err")});
  ASSERT_EQ(replay.wait_for(milliseconds(60000)), std::optional<int>(0)) << read_file(dir.file("replay.err"));
  const std::string err = read_file(dir.file("replay.err"));
  EXPECT_EQ(summary_value(err, "replayed"), 414) << err;
  EXPECT_EQ(summary_value(err, "exported"), 414) << err;
  EXPECT_EQ(summary_value(err, "malformed"), 0) << err;
  EXPECT_EQ(summary_value(err, "started"), 0) << err;  // nothing paired again

  const auto received = receiver.received();
  EXPECT_TRUE(received.errors.empty()) << received.errors.front();
  ASSERT_EQ(received.spans.size(), 414u);
  std::set<std::string> seen;
  for (const ReceivedSpan& span : received.spans) {
    EXPECT_TRUE(seen.insert(span.span_id).second) << "duplicate " << span.span_id;
    const auto found = recorded.find(span.span_id);
    ASSERT_NE(found, recorded.end()) << span.span_id << " was not in the recording";
    expect_same(found->second, span);
  }
}

INSTANTIATE_TEST_SUITE_P(Protocols, Replay, ::testing::Values(ReceiverProtocol::kHttp, ReceiverProtocol::kGrpc),
                         [](const auto& info) { return info.param == ReceiverProtocol::kHttp ? "http" : "grpc"; });

TEST(ReplayInput, metrics_lines_are_ignored_and_broken_lines_counted) {
  TempDir dir;
  const std::string good =
      R"({"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718","name":"x","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]})";
  write_file(dir.file("mixed.jsonl"),
             good + "\n{\"resourceMetrics\":[]}\n{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{}]}]}]}\n"
                    "{\"resourceSpans\": [\n" + good + "\n");
  Process run = Process::start({exporter_path(), "--input", dir.file("mixed.jsonl"), "--console-format", "json"},
                               {null_in(), ::open(dir.file("out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644),
                                dir.file("err")});
  ASSERT_EQ(run.wait_for(milliseconds(30000)), std::optional<int>(0));
  const std::string err = read_file(dir.file("err"));
  EXPECT_EQ(summary_value(err, "replayed"), 2) << err;
  EXPECT_EQ(summary_value(err, "ignored"), 1) << err;  // the metrics line
  EXPECT_EQ(summary_value(err, "malformed"), 2) << err;
  EXPECT_EQ(count_of(read_file(dir.file("out")), "\"span_id\":\"1112131415161718\""), 2u);
}

}  // namespace
}  // namespace bto::apptest

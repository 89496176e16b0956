// --exporter file on the recorded demo: every line parses with the official
// OTLP protos (as the Collector's otlpjsonfile receiver reads it), holds the
// same spans as the JSON console view, and rotation keeps whole lines.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "app_process.h"

namespace bto::apptest {
namespace {

int null_in() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
int null_out() { return ::open("/dev/null", O_WRONLY | O_CLOEXEC); }
int file_out(const std::string& path) { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); }

// Runs the official-schema checker; its JSON result.
std::string check_lines(const std::vector<std::string>& files, const TempDir& dir, int& exit_code) {
  std::vector<std::string> argv = {BTO_PYTHON, source_path("tests/receiver/check_otlp_json_lines.py"), "--protos",
                                   BTO_OTLP_PROTOS_DIR};
  argv.insert(argv.end(), files.begin(), files.end());
  const std::string out = dir.file("check.json");
  Process p = Process::start(argv, {null_in(), file_out(out), dir.file("check.err")});
  exit_code = p.wait_for(milliseconds(60000)).value_or(-1);
  return read_file(out);
}

std::map<std::string, int> name_counts(simdjson::dom::element spans) {
  std::map<std::string, int> counts;
  for (simdjson::dom::element span : spans.get_array()) ++counts[std::string(span["name"].get_string().value())];
  return counts;
}

TEST(FileExporter, recorded_demo_parses_with_the_official_schema_and_matches_the_json_view) {
  TempDir dir;
  const std::string demo = source_path("tests/data/recorded-demo.jsonl");
  const std::string file = dir.file("spans.jsonl");
  Process run = Process::start({exporter_path(), "--input", demo, "--exporter", "file", "--output", file,
                                "--service-name", "demo-server"},
                               {null_in(), null_out(), dir.file("run.err")});
  ASSERT_EQ(run.wait_for(milliseconds(30000)), std::optional<int>(0)) << read_file(dir.file("run.err"));
  int code = 0;
  const std::string result = check_lines({file}, dir, code);
  ASSERT_EQ(code, 0) << read_file(dir.file("check.err"));
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(result);
  EXPECT_GE(doc["trace_requests"].get_int64().value(), 1);
  simdjson::dom::array spans = doc["spans"].get_array();
  EXPECT_EQ(spans.size(), 414u);
  for (simdjson::dom::element span : spans) {
    EXPECT_EQ(span["service"].get_string().value(), "demo-server");
    EXPECT_EQ(span["trace_id"].get_string().value().size(), 32u);
  }

  // The JSON console view of the same stream: the same spans by name.
  const std::string json_view = dir.file("view.jsonl");
  Process view = Process::start({exporter_path(), "--input", demo, "--console-format", "json"},
                                {null_in(), file_out(json_view), dir.file("view.err")});
  ASSERT_EQ(view.wait_for(milliseconds(30000)), std::optional<int>(0));
  std::map<std::string, int> view_names;
  simdjson::dom::parser line_parser;
  const std::string text = read_file(json_view);
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    simdjson::dom::element line = line_parser.parse(text.substr(start, end - start));
    ++view_names[std::string(line["name"].get_string().value())];
  }
  EXPECT_EQ(name_counts(doc["spans"]), view_names);
}

TEST(FileExporter, rotation_keeps_n_files_of_whole_lines_under_the_size) {
  TempDir dir;
  std::string events;
  for (int i = 1; i <= 3000; ++i) {
    const std::string id = std::to_string(i), t = std::to_string(1'000'000'000LL + i * 10'000LL);
    events += "{\"type\":\"value\",\"data\":[\"http_request_start\",\"request_id\"," + id +
              ",\"method\",\"GET\",\"uri\",\"/r\",\"timestamp\"," + t + "]}\n";
    events += "{\"type\":\"value\",\"data\":[\"http_request_end\",\"request_id\"," + id +
              ",\"status_code\",200,\"timestamp\"," + t + "5]}\n";
  }
  write_file(dir.file("events.jsonl"), events);
  const std::string file = dir.file("spans.jsonl");
  Process run = Process::start({exporter_path(), "--input", dir.file("events.jsonl"), "--output", file,
                                "--output-max-size", "64KiB", "--output-keep", "2", "--max-export-batch-size", "50"},
                               {null_in(), null_out(), dir.file("run.err")});
  ASSERT_EQ(run.wait_for(milliseconds(30000)), std::optional<int>(0)) << read_file(dir.file("run.err"));
  ASSERT_TRUE(std::filesystem::exists(file + ".1"));
  ASSERT_TRUE(std::filesystem::exists(file + ".2"));
  EXPECT_FALSE(std::filesystem::exists(file + ".3"));
  for (const std::string& f : {file, file + ".1", file + ".2"}) {
    EXPECT_LE(std::filesystem::file_size(f), 64u << 10) << f;
  }
  int code = 0;
  const std::string result = check_lines({file + ".2", file + ".1", file}, dir, code);
  ASSERT_EQ(code, 0) << read_file(dir.file("check.err"));
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(result);
  const size_t kept = doc["spans"].get_array().size();
  EXPECT_GT(kept, 300u);
  EXPECT_LT(kept, 3000u);  // the oldest files were deleted
  EXPECT_EQ(kept % 50, 0u);  // whole batches: no line was split
}

TEST(FileExporter, output_dash_writes_the_lines_to_stdout) {
  TempDir dir;
  const std::string out = dir.file("stdout");
  Process run = Process::start({exporter_path(), "--input", source_path("tests/data/recorded-demo.jsonl"), "--exporter",
                                "file", "--output", "-"},
                               {null_in(), file_out(out), dir.file("run.err")});
  ASSERT_EQ(run.wait_for(milliseconds(30000)), std::optional<int>(0));
  int code = 0;
  const std::string result = check_lines({out}, dir, code);
  ASSERT_EQ(code, 0) << read_file(dir.file("check.err"));
  simdjson::dom::parser parser;
  EXPECT_EQ(parser.parse(result)["spans"].get_array().size(), 414u);
}

TEST(FileExporter, metrics_exporter_file_writes_official_metrics_requests_into_the_same_file) {
  TempDir dir;
  const std::string file = dir.file("spans.jsonl");
  Process run = Process::start({exporter_path(), "--input", source_path("tests/data/recorded-demo.jsonl"), "--output",
                                file, "--metrics-exporter", "file"},
                               {null_in(), null_out(), dir.file("run.err")});
  ASSERT_EQ(run.wait_for(milliseconds(30000)), std::optional<int>(0)) << read_file(dir.file("run.err"));
  int code = 0;
  const std::string result = check_lines({file}, dir, code);
  ASSERT_EQ(code, 0) << read_file(dir.file("check.err"));
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(result);
  EXPECT_EQ(doc["metrics_requests"].get_int64().value(), 1);  // the collection at exit
  EXPECT_GT(doc["data_points"].get_int64().value(), 5);
  EXPECT_EQ(doc["spans"].get_array().size(), 414u);
  // And a replay of it sends the spans on, counting the metrics line as ignored.
  Process replay = Process::start({exporter_path(), "--input", file, "--exporter", "none"},
                                  {null_in(), null_out(), dir.file("replay.err")});
  ASSERT_EQ(replay.wait_for(milliseconds(30000)), std::optional<int>(0));
  EXPECT_EQ(summary_value(read_file(dir.file("replay.err")), "replayed"), 414);
  EXPECT_EQ(summary_value(read_file(dir.file("replay.err")), "ignored"), 1);
}

TEST(FileExporter, settings_that_contradict_are_refused) {
  TempDir dir;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--exporter", "file"}, {"--exporter", "console", "--output", "x"},
        {"--output", "-", "--output-max-size", "1MiB"}, {"--output", "x", "--output-max-size", "12 parsecs"},
        {"--metrics-exporter", "file"}}) {
    std::vector<std::string> argv = {exporter_path(), "--input", source_path("tests/data/recorded-demo.jsonl")};
    argv.insert(argv.end(), args.begin(), args.end());
    Process run = Process::start(argv, {null_in(), null_out(), dir.file("err")});
    EXPECT_EQ(run.wait_for(milliseconds(30000)), std::optional<int>(2)) << args[0] << " " << args[1];
    EXPECT_NE(read_file(dir.file("err")).find("error:"), std::string::npos) << read_file(dir.file("err"));
  }
}

}  // namespace
}  // namespace bto::apptest

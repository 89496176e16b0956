#include "report/report_model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "report/report_page.h"

namespace bto::report {
namespace {

std::string otlp_line(const std::string& spans, const std::string& service = "svc") {
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")" + service +
         R"("}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[)" + spans + "]}]}]}";
}

std::string otlp_span(const std::string& id, const std::string& parent, const std::string& name, uint64_t start,
                      uint64_t end, int status = 0) {
  return R"({"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":")" + id + R"(","parentSpanId":")" + parent +
         R"(","name":")" + name + R"(","kind":2,"startTimeUnixNano":")" + std::to_string(start) +
         R"(","endTimeUnixNano":")" + std::to_string(end) +
         R"(","attributes":[{"key":"n","value":{"intValue":"42"}},{"key":"arr","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}}],"status":{"code":)" +
         std::to_string(status) + "}}";
}

class ReportModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("bto-report-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string name_of(const Model& m, uint32_t row) { return m.strings.strings()[m.spans[m.rows[row].span].name]; }
  std::filesystem::path dir_;
};

TEST_F(ReportModelTest, otlp_lines_become_traces_in_tree_order) {
  const std::string file = write(
      "spans.jsonl",
      otlp_line(otlp_span("0000000000000003", "0000000000000001", "second child", 30, 40) + "," +
                otlp_span("0000000000000004", "0000000000000003", "grandchild", 31, 35, 2)) +
          "\n" +
          otlp_line(otlp_span("0000000000000002", "0000000000000001", "first child", 10, 20) + "," +
                    otlp_span("0000000000000001", "", "root", 0, 100)) +
          "\n{\"resourceMetrics\":[]}\n");
  Model model;
  std::string error;
  ASSERT_TRUE(model.read_file(file, error)) << error;
  model.finish();
  ASSERT_EQ(model.traces.size(), 1u);
  ASSERT_EQ(model.rows.size(), 4u);
  EXPECT_EQ(name_of(model, 0), "root");
  EXPECT_EQ(name_of(model, 1), "first child");
  EXPECT_EQ(name_of(model, 2), "second child");
  EXPECT_EQ(name_of(model, 3), "grandchild");
  EXPECT_EQ(model.rows[3].depth, 2u);
  EXPECT_EQ(model.traces[0].errors, 1u);
  EXPECT_EQ(model.traces[0].end - model.traces[0].start, 100u);
  EXPECT_EQ(model.files[0].spans, 4u);
  EXPECT_EQ(model.files[0].metrics_lines, 1u);
  // An array value is kept as its JSON text.
  const Span& root = model.spans[model.rows[0].span];
  EXPECT_EQ(model.strings.strings()[model.attributes[root.attributes_begin + 1].value],
            R"({"values":[{"stringValue":"a"}]})");
}

TEST_F(ReportModelTest, console_json_lines_are_read_too) {
  const std::string file = write(
      "view.jsonl",
      R"({"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"00000000000000aa","parent_span_id":"00000000000000bb","name":"GET /x","kind":"server","start_time_unix_nano":100,"end_time_unix_nano":300,"duration_ns":200,"status":{"code":"error","message":"HTTP 500"},"attributes":{"http.status_code":500,"cached":false,"url":"/x"},"events":[{"name":"retry","time_unix_nano":150,"attributes":{}}],"depth":0,"service.name":"demo"})"
      "\n");
  Model model;
  std::string error;
  ASSERT_TRUE(model.read_file(file, error)) << error;
  model.finish();
  ASSERT_EQ(model.spans.size(), 1u);
  const Span& span = model.spans[0];
  EXPECT_EQ(span.status, 2);
  EXPECT_EQ(span.kind, 2);
  EXPECT_EQ(model.strings.strings()[span.service], "demo");
  EXPECT_EQ(span.attributes_count, 3u);
  EXPECT_EQ(span.events_count, 1u);
  EXPECT_TRUE(model.rows[0].parent_missing);  // its parent is not in the file
}

TEST_F(ReportModelTest, bad_lines_are_skipped_and_counted_duplicates_left_out) {
  const std::string line = otlp_line(otlp_span("0000000000000001", "", "root", 0, 100));
  const std::string file = write("mixed.jsonl", line + "\nnot json\n{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}\n" +
                                                    line + "\n\n");
  Model model;
  std::string error;
  ASSERT_TRUE(model.read_file(file, error));
  model.finish();
  EXPECT_EQ(model.files[0].skipped, 2u);
  EXPECT_EQ(model.warnings.size(), 2u);
  EXPECT_EQ(model.duplicates, 1u);
  EXPECT_EQ(model.rows.size(), 1u);
  EXPECT_FALSE(model.read_file((dir_ / "missing.jsonl").string(), error));
}

TEST_F(ReportModelTest, page_is_self_contained_and_data_cannot_close_the_script) {
  const std::string evil = "</script><script>alert(1)</script>";
  const std::string file = write("evil.jsonl", otlp_line(otlp_span("0000000000000001", "", evil, 0, 100)));
  Model model;
  std::string error;
  ASSERT_TRUE(model.read_file(file, error));
  model.finish();
  std::string page;
  PageOptions options;
  options.title = "<b>title</b>";
  write_page(model, options, page);
  EXPECT_EQ(page.find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(page.find("\\u003c/script>\\u003cscript>alert(1)"), std::string::npos);
  EXPECT_NE(page.find("<title>&lt;b&gt;title&lt;/b&gt;</title>"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);  // nothing fetched
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("/*BTO_"), std::string::npos);  // every marker filled
  EXPECT_NE(page.find("data-encoding=\"json\""), std::string::npos);
}

}  // namespace
}  // namespace bto::report

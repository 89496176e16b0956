#include "export/console_exporter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace bto {
namespace {

std::string read_all(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  return text;
}

std::string export_to_string(ConsoleFormat format, const SpanRecord& span) {
  std::FILE* out = std::tmpfile();
  ResourceInfo resource;
  resource.attributes.set_string("service.name", "demo");
  TreeStats tree_stats;
  ConsoleOptions options;
  options.format = format;
  auto exporter = create_console_exporter(options, resource, LocalOutput::from_fd(fileno(out), "tmp"), tree_stats);
  const SpanRecord* spans[] = {&span};
  EXPECT_EQ(exporter->export_batch(spans), ExportResult::kSuccess);
  exporter->shutdown(std::chrono::milliseconds(0));
  std::string text = read_all(out);
  std::fclose(out);
  return text;
}

SpanRecord sample_span() {
  SpanRecord span;
  span.trace_id.fill(0xab);
  span.span_id.fill(0x01);
  span.parent_span_id.fill(0x02);
  span.name = "HTTP GET /a \"b\"";
  span.kind = SpanKind::kServer;
  span.start_time_unix_ns = 1'700'000'000'000'000'000;
  span.end_time_unix_ns = span.start_time_unix_ns + 2'500'000;
  span.status = StatusCode::kError;
  span.status_message = "HTTP 503";
  span.attributes.set_string("http.method", "GET");
  span.attributes.set_int("http.status_code", 503);
  span.attributes.set_bool("cached", false);
  span.attributes.set_double("ratio", 0.5);
  span.depth = 2;
  return span;
}

TEST(ConsoleExporter, text_line_is_indented_and_shows_key_fields) {
  const std::string line = export_to_string(ConsoleFormat::kText, sample_span());
  EXPECT_EQ(line.rfind("    HTTP GET /a \"b\"  [server] 2.50ms error (HTTP 503)", 0), 0u) << line;
  EXPECT_NE(line.find("trace=abababababababababababababababab"), std::string::npos);
  EXPECT_NE(line.find("parent=0202020202020202"), std::string::npos);
  EXPECT_NE(line.find("http.status_code=503"), std::string::npos);
  EXPECT_NE(line.find("cached=false"), std::string::npos);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(ConsoleExporter, json_line_escapes_and_types_values) {
  const std::string line = export_to_string(ConsoleFormat::kJson, sample_span());
  EXPECT_NE(line.find("\"name\":\"HTTP GET /a \\\"b\\\"\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"http.status_code\":503"), std::string::npos);
  EXPECT_NE(line.find("\"ratio\":0.5"), std::string::npos);
  EXPECT_NE(line.find("\"duration_ns\":2500000"), std::string::npos);
  EXPECT_NE(line.find("\"kind\":\"server\""), std::string::npos);
  EXPECT_NE(line.find("\"status\":{\"code\":\"error\",\"message\":\"HTTP 503\"}"), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(ConsoleExporter, root_span_has_no_parent_field_value) {
  SpanRecord span = sample_span();
  span.parent_span_id = {};
  span.depth = 0;
  const std::string json = export_to_string(ConsoleFormat::kJson, span);
  EXPECT_NE(json.find("\"parent_span_id\":\"\""), std::string::npos);
  const std::string text = export_to_string(ConsoleFormat::kText, span);
  EXPECT_EQ(text.find("parent="), std::string::npos);
  EXPECT_EQ(text.rfind("HTTP GET", 0), 0u);
}

TEST(ConsoleExporter, spans_of_a_process_say_whose_they_are) {
  SpanRecord span = sample_span();
  const std::string plain = export_to_string(ConsoleFormat::kText, span);
  EXPECT_EQ(plain.find(" pid="), std::string::npos);
  EXPECT_NE(export_to_string(ConsoleFormat::kJson, span).find("\"service.name\":\"demo\""), std::string::npos);
  auto process = std::make_unique<Resource>();
  process->pid = 4242;
  process->attributes.set_string("service.name", "checkout");
  span.resource = ResourceRef(std::move(process));
  const std::string text = export_to_string(ConsoleFormat::kText, span);
  EXPECT_NE(text.find(" pid=4242\n"), std::string::npos) << text;
  const std::string json = export_to_string(ConsoleFormat::kJson, span);
  EXPECT_NE(json.find("\"service.name\":\"checkout\",\"process.pid\":4242}"), std::string::npos) << json;
}

}  // namespace
}  // namespace bto

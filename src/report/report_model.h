#pragma once
// `bpftrace-otel report`: spans read from files (OTLP/JSON lines of
// `--exporter file` or the Collector's file exporter, and the JSON console
// view's lines), grouped into traces and put in tree order, ready to be
// written into the page as compact columns (docs/console.md, "report").

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bto::report {

// Interned text: names, services, keys and values repeat a lot.
class StringTable {
 public:
  StringTable() { id(""); }
  uint32_t id(std::string_view text);
  const std::vector<std::string>& strings() const noexcept { return strings_; }

 private:
  std::vector<std::string> strings_;
  std::unordered_map<std::string, uint32_t> ids_;
};

enum class ValueKind : uint8_t { kString = 0, kNumber = 1, kBool = 2 };

struct Attribute {
  uint32_t key = 0;
  uint32_t value = 0;  // display text
  ValueKind kind = ValueKind::kString;
};

struct Event {
  uint32_t name = 0;
  uint64_t time_unix_ns = 0;
  uint32_t attributes_begin = 0, attributes_count = 0;
};

struct Span {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_id{};  // all zero: none
  uint64_t start = 0, end = 0;
  uint32_t name = 0, service = 0, status_message = 0;
  uint32_t attributes_begin = 0, attributes_count = 0;
  uint32_t events_begin = 0, events_count = 0;
  uint8_t kind = 0;    // OTLP numbering
  uint8_t status = 0;  // OTLP numbering: 2 = error

  bool has_parent() const noexcept;
  uint64_t span_id_key() const noexcept;
  uint64_t parent_id_key() const noexcept;
};

// A span's place in its trace's waterfall.
struct Row {
  uint32_t span = 0;
  uint32_t depth = 0;
  bool parent_missing = false;  // names a parent the files do not hold (a remote caller, or lost)
};

struct Trace {
  std::array<uint8_t, 16> id{};
  uint32_t first_row = 0, rows = 0;
  uint32_t root = 0;  // span index
  uint64_t start = 0, end = 0;
  uint32_t errors = 0;
};

struct FileSummary {
  std::string path;
  uint64_t lines = 0, spans = 0, skipped = 0, metrics_lines = 0;
};

class Model {
 public:
  // Reads every line of `path`; unreadable lines are counted (and the first
  // few reported through `warnings`). Returns false when the file cannot be opened.
  bool read_file(const std::string& path, std::string& error);
  // Groups spans into traces, drops duplicate spans (counted), orders rows.
  void finish();

  StringTable strings;
  std::vector<Span> spans;
  std::vector<Attribute> attributes;
  std::vector<Event> events;
  std::vector<Row> rows;
  std::vector<Trace> traces;  // by start time
  std::vector<FileSummary> files;
  std::vector<std::string> warnings;  // at most a few per file
  uint64_t duplicates = 0;

  // For tests: one span line in our console JSON view's shape.
  bool add_console_json_line(std::string_view line, std::string& error);

 private:
  class OtlpSink;
  void order_trace(Trace& trace, std::vector<uint32_t>& members);
};

}  // namespace bto::report

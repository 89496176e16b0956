#include "report/report_model.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>

#include "decode/otlp_json.h"

namespace bto::report {
namespace {

constexpr size_t kWarningsPerFile = 3;

uint64_t key_of(const std::array<uint8_t, 8>& id) noexcept {
  uint64_t key = 0;
  std::memcpy(&key, id.data(), sizeof key);
  return key;
}

struct TraceIdHash {
  size_t operator()(const std::array<uint8_t, 16>& id) const noexcept {
    uint64_t low = 0, high = 0;
    std::memcpy(&high, id.data(), 8);
    std::memcpy(&low, id.data() + 8, 8);
    return static_cast<size_t>((low ^ (high * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull);
  }
};

template <size_t N>
bool parse_hex(std::string_view text, std::array<uint8_t, N>& out) noexcept {
  out = {};
  if (text.empty()) return true;
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const auto digit = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int high = digit(text[2 * i]), low = digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return true;
}

std::string number_text(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

}  // namespace

bool Span::has_parent() const noexcept { return key_of(parent_id) != 0; }
uint64_t Span::span_id_key() const noexcept { return key_of(span_id); }
uint64_t Span::parent_id_key() const noexcept { return key_of(parent_id); }

uint32_t StringTable::id(std::string_view text) {
  if (auto found = ids_.find(std::string(text)); found != ids_.end()) return found->second;
  const auto id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(text);
  ids_.emplace(strings_.back(), id);
  return id;
}

class Model::OtlpSink final : public RecordedSpanSink {
 public:
  explicit OtlpSink(Model& model) : model_(model) {}
  uint64_t spans = 0;

  void on_recorded_span(const RecordedResource& resource, const RecordedSpan& s) override {
    Span span;
    span.trace_id = s.trace_id;
    span.span_id = s.span_id;
    span.parent_id = s.parent_span_id;
    span.start = s.start_time_unix_ns;
    span.end = std::max(s.end_time_unix_ns, s.start_time_unix_ns);
    span.name = model_.strings.id(s.name);
    span.kind = s.kind;
    span.status = s.status_code;
    span.status_message = model_.strings.id(s.status_message);
    for (const EventField& attribute : resource.attributes) {
      if (attribute.key == "service.name" && attribute.value.type == ValueType::kString) {
        span.service = model_.strings.id(attribute.value.string_value);
      }
    }
    add_attributes(s.attributes, span.attributes_begin, span.attributes_count);
    span.events_begin = static_cast<uint32_t>(model_.events.size());
    for (const RecordedEvent& e : s.events) {
      Event event;
      event.name = model_.strings.id(e.name);
      event.time_unix_ns = e.time_unix_ns;
      add_attributes(e.attributes, event.attributes_begin, event.attributes_count);
      model_.events.push_back(event);
    }
    span.events_count = static_cast<uint32_t>(model_.events.size()) - span.events_begin;
    model_.spans.push_back(span);
    ++spans;
  }

 private:
  void add_attributes(std::span<const EventField> fields, uint32_t& begin, uint32_t& count) {
    begin = static_cast<uint32_t>(model_.attributes.size());
    for (const EventField& field : fields) {
      Attribute a;
      a.key = model_.strings.id(field.key);
      switch (field.value.type) {
        case ValueType::kString: a.value = model_.strings.id(field.value.string_value); break;
        case ValueType::kInt:
          a.value = model_.strings.id(std::to_string(field.value.int_value));
          a.kind = ValueKind::kNumber;
          break;
        case ValueType::kDouble:
          a.value = model_.strings.id(number_text(field.value.double_value));
          a.kind = ValueKind::kNumber;
          break;
        case ValueType::kBool:
          a.value = model_.strings.id(field.value.bool_value ? "true" : "false");
          a.kind = ValueKind::kBool;
          break;
      }
      model_.attributes.push_back(a);
    }
    count = static_cast<uint32_t>(model_.attributes.size()) - begin;
  }

  Model& model_;
};

// {"trace_id":"..","span_id":"..","parent_span_id":"","name":"..","kind":"server",
//  "start_time_unix_nano":N,"end_time_unix_nano":N,"status":{"code":"error","message":".."},
//  "attributes":{..},"events":[{"name":..,"time_unix_nano":N,"attributes":{..}}],"service.name":".."}
bool Model::add_console_json_line(std::string_view line, std::string& error) {
  static thread_local simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (const auto code = parser.parse(line.data(), line.size()).get_object().get(o); code != simdjson::SUCCESS) {
    error = std::string("not a JSON object: ") + simdjson::error_message(code);
    return false;
  }
  Span span;
  std::string_view text;
  if (o["trace_id"].get_string().get(text) != simdjson::SUCCESS || text.empty() || !parse_hex(text, span.trace_id) ||
      o["span_id"].get_string().get(text) != simdjson::SUCCESS || text.empty() || !parse_hex(text, span.span_id)) {
    error = "neither OTLP/JSON nor a console JSON span (trace_id, span_id)";
    return false;
  }
  if (o["parent_span_id"].get_string().get(text) == simdjson::SUCCESS && !parse_hex(text, span.parent_id)) {
    error = "invalid parent_span_id";
    return false;
  }
  if (o["start_time_unix_nano"].get_uint64().get(span.start) != simdjson::SUCCESS ||
      o["end_time_unix_nano"].get_uint64().get(span.end) != simdjson::SUCCESS) {
    error = "span without start_time_unix_nano/end_time_unix_nano";
    return false;
  }
  span.end = std::max(span.end, span.start);
  if (o["name"].get_string().get(text) == simdjson::SUCCESS) span.name = strings.id(text);
  if (o["service.name"].get_string().get(text) == simdjson::SUCCESS) span.service = strings.id(text);
  static constexpr std::string_view kKinds[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
  if (o["kind"].get_string().get(text) == simdjson::SUCCESS) {
    for (size_t i = 0; i < std::size(kKinds); ++i) {
      if (kKinds[i] == text) span.kind = static_cast<uint8_t>(i);
    }
  }
  simdjson::dom::object status;
  if (o["status"].get_object().get(status) == simdjson::SUCCESS) {
    if (status["code"].get_string().get(text) == simdjson::SUCCESS) span.status = text == "error" ? 2 : text == "ok" ? 1 : 0;
    if (status["message"].get_string().get(text) == simdjson::SUCCESS) span.status_message = strings.id(text);
  }
  const auto add_attributes = [this](simdjson::dom::object map, uint32_t& begin, uint32_t& count) {
    begin = static_cast<uint32_t>(attributes.size());
    for (auto [key, value] : map) {
      Attribute a;
      a.key = strings.id(key);
      std::string_view s;
      bool b = false;
      if (value.get_string().get(s) == simdjson::SUCCESS) {
        a.value = strings.id(s);
      } else if (value.get_bool().get(b) == simdjson::SUCCESS) {
        a.value = strings.id(b ? "true" : "false");
        a.kind = ValueKind::kBool;
      } else {
        a.value = strings.id(simdjson::minify(value));
        a.kind = value.is_number() ? ValueKind::kNumber : ValueKind::kString;
      }
      attributes.push_back(a);
    }
    count = static_cast<uint32_t>(attributes.size()) - begin;
  };
  simdjson::dom::object map;
  span.attributes_begin = static_cast<uint32_t>(attributes.size());
  if (o["attributes"].get_object().get(map) == simdjson::SUCCESS) {
    add_attributes(map, span.attributes_begin, span.attributes_count);
  }
  span.events_begin = static_cast<uint32_t>(events.size());
  simdjson::dom::array event_list;
  if (o["events"].get_array().get(event_list) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : event_list) {
      Event event;
      if (e["name"].get_string().get(text) == simdjson::SUCCESS) event.name = strings.id(text);
      if (e["time_unix_nano"].get_uint64().get(event.time_unix_ns) != simdjson::SUCCESS) event.time_unix_ns = 0;
      event.attributes_begin = static_cast<uint32_t>(attributes.size());
      if (e["attributes"].get_object().get(map) == simdjson::SUCCESS) {
        add_attributes(map, event.attributes_begin, event.attributes_count);
      }
      events.push_back(event);
    }
  }
  span.events_count = static_cast<uint32_t>(events.size()) - span.events_begin;
  spans.push_back(span);
  return true;
}

bool Model::read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  FileSummary summary;
  summary.path = path;
  OtlpJsonReader reader;
  OtlpSink sink(*this);
  size_t warned = 0;
  std::string line_text;
  while (std::getline(in, line_text)) {
    ++summary.lines;
    const std::string_view line = trim(line_text);
    if (line.empty()) continue;
    std::string why;
    bool ok = true;
    switch (otlp_line_kind(line)) {
      case OtlpLineKind::kTraces: ok = reader.read_traces(line, false, sink, why); break;
      case OtlpLineKind::kMetrics:
      case OtlpLineKind::kLogs: ++summary.metrics_lines; continue;
      case OtlpLineKind::kNone: {
        const size_t before = spans.size();
        ok = add_console_json_line(line, why);
        summary.spans += spans.size() - before;
        break;
      }
    }
    if (!ok) {
      ++summary.skipped;
      if (warned++ < kWarningsPerFile) warnings.push_back(fmt::format("{}:{}: skipped: {}", path, summary.lines, why));
    }
  }
  if (in.bad()) {
    error = "reading " + path + " failed: " + std::strerror(errno);
    return false;
  }
  summary.spans += sink.spans;
  files.push_back(std::move(summary));
  return true;
}

void Model::finish() {
  std::unordered_map<std::array<uint8_t, 16>, std::vector<uint32_t>, TraceIdHash> by_trace;
  std::vector<std::array<uint8_t, 16>> order;
  for (uint32_t i = 0; i < spans.size(); ++i) {
    auto [it, added] = by_trace.try_emplace(spans[i].trace_id);
    if (added) order.push_back(spans[i].trace_id);
    it->second.push_back(i);
  }
  traces.clear();
  rows.clear();
  traces.reserve(order.size());
  for (const auto& id : order) {
    Trace trace;
    trace.id = id;
    order_trace(trace, by_trace[id]);
    traces.push_back(trace);
  }
  std::stable_sort(traces.begin(), traces.end(), [](const Trace& a, const Trace& b) { return a.start < b.start; });
}

// Parents first, children by start time; spans whose parent is not in the
// files start their own top-level entry. Iterative (traces may nest deeply).
void Model::order_trace(Trace& trace, std::vector<uint32_t>& members) {
  std::unordered_map<uint64_t, uint32_t> index;  // span id -> position in `members`
  index.reserve(members.size());
  std::vector<uint32_t> unique;
  unique.reserve(members.size());
  for (const uint32_t span : members) {
    if (index.try_emplace(key_of(spans[span].span_id), static_cast<uint32_t>(unique.size())).second) {
      unique.push_back(span);
    } else {
      ++duplicates;  // the same span in two files, or a file read twice
    }
  }
  const auto by_start = [this](uint32_t a, uint32_t b) {
    return spans[a].start != spans[b].start ? spans[a].start < spans[b].start : a < b;
  };
  std::vector<std::vector<uint32_t>> children(unique.size());
  std::vector<uint32_t> tops;
  std::vector<bool> missing(unique.size(), false);
  trace.start = UINT64_MAX;
  for (uint32_t i = 0; i < unique.size(); ++i) {
    const Span& span = spans[unique[i]];
    trace.start = std::min(trace.start, span.start);
    trace.end = std::max(trace.end, span.end);
    if (span.status == 2) ++trace.errors;
    const auto parent = span.has_parent() ? index.find(key_of(span.parent_id)) : index.end();
    if (parent != index.end() && parent->second != i) {
      children[parent->second].push_back(unique[i]);
    } else {
      missing[i] = span.has_parent();
      tops.push_back(unique[i]);
    }
  }
  for (auto& list : children) std::sort(list.begin(), list.end(), by_start);
  // Roots (no parent) before spans whose parent is elsewhere, each by start.
  std::sort(tops.begin(), tops.end(), [&](uint32_t a, uint32_t b) {
    if (spans[a].has_parent() != spans[b].has_parent()) return !spans[a].has_parent();
    return by_start(a, b);
  });
  trace.first_row = static_cast<uint32_t>(rows.size());
  trace.root = tops.empty() ? unique.front() : tops.front();
  std::sort(tops.begin(), tops.end(), by_start);
  std::vector<bool> placed(unique.size(), false);
  std::vector<std::pair<uint32_t, uint32_t>> stack;  // (span, depth)
  const auto place_from = [&](uint32_t top) {
    stack.assign(1, {top, 0});
    while (!stack.empty()) {
      const auto [span, depth] = stack.back();
      stack.pop_back();
      const uint32_t position = index[key_of(spans[span].span_id)];
      if (placed[position]) continue;
      placed[position] = true;
      rows.push_back({span, depth, missing[position]});
      const auto& kids = children[position];
      for (size_t k = kids.size(); k-- > 0;) stack.push_back({kids[k], depth + 1});
    }
  };
  for (const uint32_t top : tops) place_from(top);
  // Parent links in a cycle: nothing above reaches them.
  for (uint32_t i = 0; i < unique.size(); ++i) {
    if (!placed[i]) {
      missing[i] = true;
      place_from(unique[i]);
    }
  }
  trace.rows = static_cast<uint32_t>(rows.size()) - trace.first_row;
}

}  // namespace bto::report

#include <charconv>
#include <cmath>

#include "export/otlp_encoder.h"
#include "export/resource_groups.h"

namespace bto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Appends without allocating once `out` has the capacity of a previous batch.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) noexcept : out_(out) {}

  void raw(std::string_view s) { out_.append(s); }
  void ch(char c) { out_.push_back(c); }

  void string(std::string_view s) {
    out_.push_back('"');
    size_t run = 0;  // copy unescaped runs in one append
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': out_.append("\\\""); break;
        case '\\': out_.append("\\\\"); break;
        case '\n': out_.append("\\n"); break;
        case '\r': out_.append("\\r"); break;
        case '\t': out_.append("\\t"); break;
        case '\b': out_.append("\\b"); break;
        case '\f': out_.append("\\f"); break;
        default: {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out_.append(escaped, sizeof(escaped));
        }
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_.push_back('"');
  }

  void hex(std::span<const uint8_t> bytes) {
    out_.push_back('"');
    for (uint8_t b : bytes) {
      out_.push_back(kHex[b >> 4]);
      out_.push_back(kHex[b & 0xf]);
    }
    out_.push_back('"');
  }

  template <typename Int>
  void integer(Int v) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
    out_.append(buffer, static_cast<size_t>(result.ptr - buffer));
  }

  // proto3 JSON: 64-bit integers are strings.
  template <typename Int>
  void quoted_integer(Int v) {
    out_.push_back('"');
    integer(v);
    out_.push_back('"');
  }

  void number(double v) {
    if (std::isnan(v)) {
      out_.append("\"NaN\"");
    } else if (std::isinf(v)) {
      out_.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
      char buffer[32];  // shortest representation that round-trips
      const auto result = std::to_chars(buffer, buffer + sizeof(buffer), v);
      out_.append(buffer, static_cast<size_t>(result.ptr - buffer));
    }
  }

 private:
  std::string& out_;
};

bool all_zero(std::span<const uint8_t> bytes) noexcept {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// `close`: false leaves the array open for write_array() members.
void write_attributes(JsonWriter& w, const AttributeList& list, bool close = true) {
  w.raw("[");
  bool first = true;
  for (const Attribute& a : list.items()) {
    if (!first) w.ch(',');
    first = false;
    w.raw("{\"key\":");
    w.string(a.key);
    switch (a.type) {
      case AttrType::kString:
        w.raw(",\"value\":{\"stringValue\":");
        w.string(a.string_value);
        break;
      case AttrType::kBool:
        w.raw(a.bool_value ? ",\"value\":{\"boolValue\":true" : ",\"value\":{\"boolValue\":false");
        break;
      case AttrType::kInt:
        w.raw(",\"value\":{\"intValue\":");
        w.quoted_integer(a.int_value);
        break;
      case AttrType::kDouble:
        w.raw(",\"value\":{\"doubleValue\":");
        w.number(a.double_value);
        break;
    }
    w.raw("}}");
  }
  if (close) w.ch(']');
}

void write_array(JsonWriter& w, const StringArrayAttribute& a) {
  w.raw("{\"key\":");
  w.string(a.key);
  w.raw(",\"value\":{\"arrayValue\":{\"values\":[");
  bool first = true;
  for (const std::string& v : a.values) {
    if (!first) w.ch(',');
    first = false;
    w.raw("{\"stringValue\":");
    w.string(v);
    w.ch('}');
  }
  w.raw("]}}}");
}

void write_span(JsonWriter& w, const SpanRecord& s) {
  w.raw("{\"traceId\":");
  w.hex(s.trace_id);
  w.raw(",\"spanId\":");
  w.hex(s.span_id);
  if (!all_zero(s.parent_span_id)) {
    w.raw(",\"parentSpanId\":");
    w.hex(s.parent_span_id);
  }
  w.raw(",\"name\":");
  w.string(s.name);
  if (s.kind != SpanKind::kUnspecified) {
    w.raw(",\"kind\":");
    w.integer(static_cast<int>(s.kind));
  }
  w.raw(",\"startTimeUnixNano\":");
  w.quoted_integer(s.start_time_unix_ns);
  w.raw(",\"endTimeUnixNano\":");
  w.quoted_integer(s.end_time_unix_ns);
  if (!s.attributes.empty()) {
    w.raw(",\"attributes\":");
    write_attributes(w, s.attributes);
  }
  if (s.dropped_attributes_count != 0) {
    w.raw(",\"droppedAttributesCount\":");
    w.integer(s.dropped_attributes_count);
  }
  if (!s.events.empty()) {
    w.raw(",\"events\":[");
    bool first = true;
    for (const SpanEventRecord& e : s.events) {
      if (!first) w.ch(',');
      first = false;
      w.raw("{\"timeUnixNano\":");
      w.quoted_integer(e.time_unix_ns);
      w.raw(",\"name\":");
      w.string(e.name);
      if (!e.attributes.empty()) {
        w.raw(",\"attributes\":");
        write_attributes(w, e.attributes);
      }
      w.ch('}');
    }
    w.ch(']');
  }
  w.raw(",\"status\":{");
  bool need_comma = false;
  if (!s.status_message.empty()) {
    w.raw("\"message\":");
    w.string(s.status_message);
    need_comma = true;
  }
  if (s.status != StatusCode::kUnset) {
    if (need_comma) w.ch(',');
    w.raw("\"code\":");
    w.integer(static_cast<int>(s.status));
  }
  w.raw("}}");
}

}  // namespace

void append_otlp_json_attributes(std::string& out, const AttributeList& attributes) {
  JsonWriter w(out);
  write_attributes(w, attributes);
}

void append_otlp_json_string(std::string& out, std::string_view text) {
  JsonWriter w(out);
  w.string(text);
}

// One ResourceSpans per run of spans with the same resource: ours, or the one
// a replayed span was recorded with (SpanRecord::origin).
void encode_otlp_json(const ResourceInfo& resource, std::span<const SpanRecord* const> spans,
                      std::string& out) {
  thread_local ResourceGroups grouped;
  grouped.assign(spans);
  out.clear();
  JsonWriter w(out);
  w.raw("{\"resourceSpans\":[");
  bool first_group = true;
  for (const ResourceGroup& group : grouped.groups()) {
    if (!first_group) w.ch(',');
    first_group = false;
    w.raw("{\"resource\":{\"attributes\":");
    const AttributeList& attributes = resource_attributes(group, resource);
    if (group.resource != nullptr && !group.resource->arrays.empty()) {
      write_attributes(w, attributes, false);
      for (const StringArrayAttribute& a : group.resource->arrays) {
        if (!attributes.empty() || &a != &group.resource->arrays.front()) w.ch(',');
        write_array(w, a);
      }
      w.ch(']');
    } else {
      write_attributes(w, attributes);
    }
    w.raw("},\"scopeSpans\":[{\"scope\":{");
    const ResourceInfo& scope = group_scope(grouped.spans_of(group), resource);
    bool need_comma = false;
    if (!scope.scope_name.empty()) {
      w.raw("\"name\":");
      w.string(scope.scope_name);
      need_comma = true;
    }
    if (!scope.scope_version.empty()) {
      if (need_comma) w.ch(',');
      w.raw("\"version\":");
      w.string(scope.scope_version);
    }
    w.raw("},\"spans\":[");
    bool first = true;
    for (const SpanRecord* s : grouped.spans_of(group)) {
      if (!first) w.ch(',');
      first = false;
      write_span(w, *s);
    }
    w.raw("]}]}");
  }
  w.raw("]}");
}

}  // namespace bto

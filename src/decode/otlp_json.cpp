#include "decode/otlp_json.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace bto {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

std::string_view skip_space(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' || text.front() == '\n')) {
    text.remove_prefix(1);
  }
  return text;
}

// A member by its JSON name or its proto name (both are valid OTLP/JSON).
simdjson::simdjson_result<element> member(object o, std::string_view json_name, std::string_view proto_name = {}) {
  auto found = o[json_name];
  if (found.error() == simdjson::NO_SUCH_FIELD && !proto_name.empty()) return o[proto_name];
  return found;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_digit(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Hex (OTLP/JSON) or base64 (the protobuf JSON mapping) into `out`.
template <size_t N>
bool decode_id(std::string_view text, std::array<uint8_t, N>& out) noexcept {
  out = {};
  if (text.empty()) return true;
  if (text.size() == 2 * N) {
    for (size_t i = 0; i < N; ++i) {
      const int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
      if (high < 0 || low < 0) return false;
      out[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return true;
  }
  // base64: ceil(N / 3) * 4 characters, '=' padded.
  if (text.size() != (N + 2) / 3 * 4) return false;
  uint32_t bits = 0;
  int count = 0;
  size_t written = 0;
  for (char c : text) {
    if (c == '=') break;
    const int digit = base64_digit(c);
    if (digit < 0) return false;
    bits = bits << 6 | static_cast<uint32_t>(digit);
    count += 6;
    if (count >= 8) {
      count -= 8;
      if (written == N) return false;
      out[written++] = static_cast<uint8_t>(bits >> count);
    }
  }
  return written == N;
}

// A uint64 given as a decimal string or a JSON number.
bool read_u64(element value, uint64_t& out) noexcept {
  if (value.is_uint64()) {
    out = value.get_uint64().value_unsafe();
    return true;
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

bool read_i64(element value, int64_t& out) noexcept {
  if (value.is_int64()) {
    out = value.get_int64().value_unsafe();
    return true;
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

// An enum given as its number or its name (e.g. SPAN_KIND_SERVER).
bool read_enum(element value, std::span<const std::string_view> names, uint8_t& out) noexcept {
  uint64_t number = 0;
  if (value.is_uint64()) {
    number = value.get_uint64().value_unsafe();
    if (number >= 256) return false;
    out = static_cast<uint8_t>(number);
    return true;
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) return false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) {
      out = static_cast<uint8_t>(i);
      return true;
    }
  }
  return false;
}

constexpr std::string_view kKinds[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                       "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
constexpr std::string_view kStatusCodes[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

// An optional string member: `out` keeps its value when absent or not a string.
void optional_string(simdjson::simdjson_result<element> value, std::string_view& out) noexcept {
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) out = text;
}

bool fail(std::string& error, std::string_view what) {
  error.assign(what);
  return false;
}

}  // namespace

OtlpLineKind otlp_line_kind(std::string_view line) noexcept {
  line = skip_space(line);
  if (line.empty() || line.front() != '{') return OtlpLineKind::kNone;
  line = skip_space(line.substr(1));
  const auto starts = [&](std::string_view key) { return line.substr(0, key.size()) == key; };
  if (starts("\"resourceSpans\"") || starts("\"resource_spans\"")) return OtlpLineKind::kTraces;
  if (starts("\"resourceMetrics\"") || starts("\"resource_metrics\"")) return OtlpLineKind::kMetrics;
  if (starts("\"resourceLogs\"") || starts("\"resource_logs\"")) return OtlpLineKind::kLogs;
  return OtlpLineKind::kNone;
}

std::string_view OtlpJsonReader::keep(std::string text) {
  ++values_as_json_;
  return texts_.emplace_back(std::move(text));
}

bool OtlpJsonReader::read_value(element any_value, FieldValue& out, std::string& error) {
  object value;
  if (any_value.get_object().get(value) != simdjson::SUCCESS) return fail(error, "attribute value is not an object");
  out = FieldValue{};
  for (auto [key, field] : value) {
    if (key == "stringValue" || key == "string_value") {
      out.type = ValueType::kString;
      if (field.get_string().get(out.string_value) != simdjson::SUCCESS) return fail(error, "stringValue not a string");
    } else if (key == "boolValue" || key == "bool_value") {
      out.type = ValueType::kBool;
      if (field.get_bool().get(out.bool_value) != simdjson::SUCCESS) return fail(error, "boolValue not a boolean");
    } else if (key == "intValue" || key == "int_value") {
      out.type = ValueType::kInt;
      if (!read_i64(field, out.int_value)) return fail(error, "intValue not a 64-bit integer");
    } else if (key == "doubleValue" || key == "double_value") {
      out.type = ValueType::kDouble;
      std::string_view special;
      if (field.get_double().get(out.double_value) == simdjson::SUCCESS) continue;
      if (field.get_string().get(special) != simdjson::SUCCESS) return fail(error, "doubleValue not a number");
      if (special == "NaN") {
        out.double_value = std::numeric_limits<double>::quiet_NaN();
      } else if (special == "Infinity") {
        out.double_value = std::numeric_limits<double>::infinity();
      } else if (special == "-Infinity") {
        out.double_value = -std::numeric_limits<double>::infinity();
      } else {
        return fail(error, "doubleValue not a number");
      }
    } else {
      // arrayValue, kvlistValue, bytesValue: kept as their JSON text.
      out.type = ValueType::kString;
      out.string_value = keep(simdjson::minify(field));
    }
  }
  return true;
}

bool OtlpJsonReader::read_attributes(element list, size_t& begin, size_t& end, std::string& error) {
  begin = end = attributes_.size();
  array items;
  if (list.get_array().get(items) != simdjson::SUCCESS) return fail(error, "attributes is not an array");
  for (element item : items) {
    object kv;
    if (item.get_object().get(kv) != simdjson::SUCCESS) return fail(error, "attribute is not an object");
    EventField field;
    if (kv["key"].get_string().get(field.key) != simdjson::SUCCESS) return fail(error, "attribute without a key");
    element value;
    if (kv["value"].get(value) == simdjson::SUCCESS) {
      if (!read_value(value, field.value, error)) return false;
    } else {
      field.value.type = ValueType::kString;  // an empty AnyValue
    }
    attributes_.push_back(field);
  }
  end = attributes_.size();
  return true;
}

bool OtlpJsonReader::read_span(element span_element, size_t resource, std::string& error) {
  object span;
  if (span_element.get_object().get(span) != simdjson::SUCCESS) return fail(error, "span is not an object");
  SpanSlots slots;
  slots.resource = resource;
  RecordedSpan& s = slots.span;
  element value;
  std::string_view text;
  if (member(span, "traceId", "trace_id").get_string().get(text) != simdjson::SUCCESS ||
      !decode_id(text, s.trace_id) || text.empty()) {
    return fail(error, "span without a valid traceId");
  }
  if (member(span, "spanId", "span_id").get_string().get(text) != simdjson::SUCCESS || !decode_id(text, s.span_id) ||
      text.empty()) {
    return fail(error, "span without a valid spanId");
  }
  if (member(span, "parentSpanId", "parent_span_id").get_string().get(text) == simdjson::SUCCESS &&
      !decode_id(text, s.parent_span_id)) {
    return fail(error, "invalid parentSpanId");
  }
  optional_string(member(span, "name"), s.name);
  optional_string(member(span, "traceState", "trace_state"), s.trace_state);
  if (member(span, "kind").get(value) == simdjson::SUCCESS && !read_enum(value, kKinds, s.kind)) {
    return fail(error, "invalid kind");
  }
  if (member(span, "startTimeUnixNano", "start_time_unix_nano").get(value) != simdjson::SUCCESS ||
      !read_u64(value, s.start_time_unix_ns)) {
    return fail(error, "span without a valid startTimeUnixNano");
  }
  if (member(span, "endTimeUnixNano", "end_time_unix_nano").get(value) != simdjson::SUCCESS ||
      !read_u64(value, s.end_time_unix_ns)) {
    return fail(error, "span without a valid endTimeUnixNano");
  }
  uint64_t count = 0;
  if (member(span, "droppedAttributesCount", "dropped_attributes_count").get(value) == simdjson::SUCCESS &&
      read_u64(value, count)) {
    s.dropped_attributes = static_cast<uint32_t>(std::min<uint64_t>(count, UINT32_MAX));
  }
  if (member(span, "droppedEventsCount", "dropped_events_count").get(value) == simdjson::SUCCESS &&
      read_u64(value, count)) {
    s.dropped_events = static_cast<uint32_t>(std::min<uint64_t>(count, UINT32_MAX));
  }
  if (member(span, "attributes").get(value) == simdjson::SUCCESS &&
      !read_attributes(value, slots.attributes_begin, slots.attributes_end, error)) {
    return false;
  }
  slots.events_begin = slots.events_end = events_.size();
  if (member(span, "events").get(value) == simdjson::SUCCESS) {
    array events;
    if (value.get_array().get(events) != simdjson::SUCCESS) return fail(error, "events is not an array");
    for (element event_element : events) {
      object event;
      if (event_element.get_object().get(event) != simdjson::SUCCESS) return fail(error, "event is not an object");
      EventSlots event_slots;
      optional_string(member(event, "name"), event_slots.event.name);
      element time;
      if (member(event, "timeUnixNano", "time_unix_nano").get(time) == simdjson::SUCCESS &&
          !read_u64(time, event_slots.event.time_unix_ns)) {
        return fail(error, "invalid event timeUnixNano");
      }
      element attributes;
      if (member(event, "attributes").get(attributes) == simdjson::SUCCESS &&
          !read_attributes(attributes, event_slots.attributes_begin, event_slots.attributes_end, error)) {
        return false;
      }
      events_.push_back(event_slots);
    }
    slots.events_end = events_.size();
  }
  if (member(span, "links").get(value) == simdjson::SUCCESS) {
    array links;
    if (value.get_array().get(links) == simdjson::SUCCESS) s.links = static_cast<uint32_t>(links.size());
  }
  object status;
  if (member(span, "status").get_object().get(status) == simdjson::SUCCESS) {
    optional_string(member(status, "message"), s.status_message);
    if (member(status, "code").get(value) == simdjson::SUCCESS && !read_enum(value, kStatusCodes, s.status_code)) {
      return fail(error, "invalid status code");
    }
  }
  spans_.push_back(slots);
  return true;
}

bool OtlpJsonReader::read_resource_spans(element resource_spans, std::string& error) {
  object rs;
  if (resource_spans.get_object().get(rs) != simdjson::SUCCESS) return fail(error, "resourceSpans item is not an object");
  ResourceSlots resource;
  object resource_object;
  element value;
  if (member(rs, "resource").get_object().get(resource_object) == simdjson::SUCCESS &&
      member(resource_object, "attributes").get(value) == simdjson::SUCCESS &&
      !read_attributes(value, resource.attributes_begin, resource.attributes_end, error)) {
    return false;
  }
  array scopes;
  auto scope_list = member(rs, "scopeSpans", "scope_spans");
  if (scope_list.error() == simdjson::NO_SUCH_FIELD) {
    scope_list = member(rs, "instrumentationLibrarySpans", "instrumentation_library_spans");  // before OTLP 0.15
  }
  if (scope_list.error() == simdjson::NO_SUCH_FIELD) return true;
  if (scope_list.get_array().get(scopes) != simdjson::SUCCESS) return fail(error, "scopeSpans is not an array");
  for (element scope_spans_element : scopes) {
    object scope_spans;
    if (scope_spans_element.get_object().get(scope_spans) != simdjson::SUCCESS) {
      return fail(error, "scopeSpans item is not an object");
    }
    ResourceSlots with_scope = resource;
    object scope;
    if (member(scope_spans, "scope").get_object().get(scope) == simdjson::SUCCESS ||
        member(scope_spans, "instrumentationLibrary", "instrumentation_library").get_object().get(scope) ==
            simdjson::SUCCESS) {
      optional_string(member(scope, "name"), with_scope.resource.scope_name);
      optional_string(member(scope, "version"), with_scope.resource.scope_version);
    }
    const size_t index = resources_.size();
    resources_.push_back(with_scope);
    array spans;
    if (member(scope_spans, "spans").get_array().get(spans) != simdjson::SUCCESS) continue;
    for (element span : spans) {
      if (!read_span(span, index, error)) return false;
    }
  }
  return true;
}

bool OtlpJsonReader::read_traces(std::string_view line, bool padded, RecordedSpanSink& sink, std::string& error) {
  attributes_.clear();
  events_.clear();
  spans_.clear();
  resources_.clear();
  texts_.clear();
  element doc;
  if (const auto code = parser_.parse(line.data(), line.size(), !padded).get(doc); code != simdjson::SUCCESS) {
    error = std::string("not valid JSON: ") + simdjson::error_message(code);
    return false;
  }
  object request;
  array resource_spans;
  if (doc.get_object().get(request) != simdjson::SUCCESS ||
      member(request, "resourceSpans", "resource_spans").get_array().get(resource_spans) != simdjson::SUCCESS) {
    return fail(error, "not an ExportTraceServiceRequest (no resourceSpans array)");
  }
  for (element rs : resource_spans) {
    if (!read_resource_spans(rs, error)) return false;
  }
  // Views last: the vectors no longer move.
  const auto view = [this](size_t begin, size_t end) {
    return std::span<const EventField>(attributes_.data() + begin, end - begin);
  };
  event_views_.clear();
  for (EventSlots& e : events_) {
    e.event.attributes = view(e.attributes_begin, e.attributes_end);
    event_views_.push_back(e.event);
  }
  for (ResourceSlots& r : resources_) r.resource.attributes = view(r.attributes_begin, r.attributes_end);
  for (SpanSlots& slots : spans_) {
    slots.span.attributes = view(slots.attributes_begin, slots.attributes_end);
    slots.span.events = std::span<const RecordedEvent>(event_views_.data() + slots.events_begin,
                                                       slots.events_end - slots.events_begin);
    links_dropped_ += slots.span.links;
    sink.on_recorded_span(resources_[slots.resource].resource, slots.span);
  }
  return true;
}

}  // namespace bto

#include "export/console_exporter.h"

#include <fmt/format.h>

#include <string>

#include "common/json_writer.h"

namespace bto {
namespace {

std::string_view kind_name(SpanKind kind) {
  switch (kind) {
    case SpanKind::kInternal: return "internal";
    case SpanKind::kServer: return "server";
    case SpanKind::kClient: return "client";
    case SpanKind::kProducer: return "producer";
    case SpanKind::kConsumer: return "consumer";
    case SpanKind::kUnspecified: break;
  }
  return "unspecified";
}

std::string_view status_name(StatusCode status) {
  switch (status) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kError: return "error";
    case StatusCode::kUnset: break;
  }
  return "unset";
}

std::string format_duration(uint64_t ns) {
  if (ns < 1'000) return fmt::format("{}ns", ns);
  if (ns < 1'000'000) return fmt::format("{:.1f}us", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.2f}ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f}s", static_cast<double>(ns) / 1e9);
}

void append_text_value(std::string& out, const Attribute& attribute) {
  switch (attribute.type) {
    case AttrType::kString:
      // Quote only when needed to keep the line parseable by eye.
      if (attribute.string_value.find_first_of(" \"=") == std::string::npos &&
          !attribute.string_value.empty()) {
        out += attribute.string_value;
      } else {
        append_json_string(out, attribute.string_value);
      }
      break;
    case AttrType::kBool: out += attribute.bool_value ? "true" : "false"; break;
    case AttrType::kInt: append_json_int(out, attribute.int_value); break;
    case AttrType::kDouble: append_json_double(out, attribute.double_value); break;
  }
}

void append_json_value(std::string& out, const Attribute& attribute) {
  switch (attribute.type) {
    case AttrType::kString: append_json_string(out, attribute.string_value); break;
    case AttrType::kBool: out += attribute.bool_value ? "true" : "false"; break;
    case AttrType::kInt: append_json_int(out, attribute.int_value); break;
    case AttrType::kDouble: append_json_double(out, attribute.double_value); break;
  }
}

uint64_t duration_of(const SpanRecord& span) {
  return span.end_time_unix_ns > span.start_time_unix_ns
             ? span.end_time_unix_ns - span.start_time_unix_ns
             : 0;
}

class ConsoleExporter final : public SpanExporter {
 public:
  ConsoleExporter(const ConsoleOptions& options, const ResourceInfo& resource)
      : options_(options) {
    if (const Attribute* name = resource.attributes.find("service.name")) {
      service_name_ = name->string_value;
    }
  }

  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    try {
      buffer_.clear();
      for (const SpanRecord* span : spans) {
        if (options_.format == ConsoleFormat::kJson) {
          append_json_line(*span);
        } else {
          append_text_line(*span);
        }
      }
      std::fwrite(buffer_.data(), 1, buffer_.size(), options_.out);
      std::fflush(options_.out);
      return ExportResult::kSuccess;
    } catch (...) {
      return ExportResult::kPermanent;  // only std::bad_alloc can get here
    }
  }

  bool force_flush(std::chrono::milliseconds) noexcept override {
    std::fflush(options_.out);
    return true;
  }
  void shutdown(std::chrono::milliseconds) noexcept override { std::fflush(options_.out); }

 private:
  void append_text_line(const SpanRecord& span) {
    buffer_.append(2 * static_cast<size_t>(span.depth), ' ');
    fmt::format_to(std::back_inserter(buffer_), "{}  [{}] {} {}", span.name, kind_name(span.kind),
                   format_duration(duration_of(span)), status_name(span.status));
    if (!span.status_message.empty()) {
      buffer_ += " (";
      buffer_ += span.status_message;
      buffer_ += ')';
    }
    buffer_ += "  trace=";
    buffer_ += to_hex(span.trace_id);
    buffer_ += " span=";
    buffer_ += to_hex(span.span_id);
    if (span.has_parent()) {
      buffer_ += " parent=";
      buffer_ += to_hex(span.parent_span_id);
    }
    for (const Attribute& attribute : span.attributes.items()) {
      buffer_ += ' ';
      buffer_ += attribute.key;
      buffer_ += '=';
      append_text_value(buffer_, attribute);
    }
    for (const SpanEventRecord& event : span.events) {
      buffer_ += " event=";
      buffer_ += event.name;
    }
    // Node-wide, spans of many processes interleave: say whose (its resource).
    if (span.resource && span.resource->pid != 0) {
      fmt::format_to(std::back_inserter(buffer_), " pid={}", span.resource->pid);
    }
    buffer_ += '\n';
  }

  void append_json_line(const SpanRecord& span) {
    buffer_ += "{\"trace_id\":\"";
    buffer_ += to_hex(span.trace_id);
    buffer_ += "\",\"span_id\":\"";
    buffer_ += to_hex(span.span_id);
    buffer_ += "\",\"parent_span_id\":\"";
    if (span.has_parent()) buffer_ += to_hex(span.parent_span_id);
    buffer_ += "\",\"name\":";
    append_json_string(buffer_, span.name);
    buffer_ += ",\"kind\":\"";
    buffer_ += kind_name(span.kind);
    buffer_ += "\",\"start_time_unix_nano\":";
    append_json_uint(buffer_, span.start_time_unix_ns);
    buffer_ += ",\"end_time_unix_nano\":";
    append_json_uint(buffer_, span.end_time_unix_ns);
    buffer_ += ",\"duration_ns\":";
    append_json_uint(buffer_, duration_of(span));
    buffer_ += ",\"status\":{\"code\":\"";
    buffer_ += status_name(span.status);
    buffer_ += "\",\"message\":";
    append_json_string(buffer_, span.status_message);
    buffer_ += "},\"attributes\":{";
    append_attributes(span.attributes);
    buffer_ += "},\"events\":[";
    bool first = true;
    for (const SpanEventRecord& event : span.events) {
      if (!first) buffer_ += ',';
      first = false;
      buffer_ += "{\"name\":";
      append_json_string(buffer_, event.name);
      buffer_ += ",\"time_unix_nano\":";
      append_json_uint(buffer_, event.time_unix_ns);
      buffer_ += ",\"attributes\":{";
      append_attributes(event.attributes);
      buffer_ += "}}";
    }
    buffer_ += "],\"depth\":";
    append_json_uint(buffer_, span.depth);
    const Attribute* own_service = span.resource ? span.resource->attributes.find("service.name") : nullptr;
    if (own_service != nullptr) {
      buffer_ += ",\"service.name\":";
      append_json_string(buffer_, own_service->string_value);
    } else if (!service_name_.empty()) {
      buffer_ += ",\"service.name\":";
      append_json_string(buffer_, service_name_);
    }
    if (span.resource && span.resource->pid != 0) {
      buffer_ += ",\"process.pid\":";
      append_json_int(buffer_, span.resource->pid);
    }
    buffer_ += "}\n";
  }

  void append_attributes(const AttributeList& attributes) {
    bool first = true;
    for (const Attribute& attribute : attributes.items()) {
      if (!first) buffer_ += ',';
      first = false;
      append_json_string(buffer_, attribute.key);
      buffer_ += ':';
      append_json_value(buffer_, attribute);
    }
  }

  ConsoleOptions options_;
  std::string service_name_;
  std::string buffer_;
};

}  // namespace

std::unique_ptr<SpanExporter> create_console_exporter(const ConsoleOptions& options,
                                                      const ResourceInfo& resource) {
  return std::make_unique<ConsoleExporter>(options, resource);
}

}  // namespace bto

#include "export/console_exporter.h"

#include <fmt/format.h>

#include <string>

#include "common/json_writer.h"
#include "export/terminal_text.h"

namespace bto {
namespace {

void append_text_value(std::string& out, const Attribute& attribute) {
  switch (attribute.type) {
    case AttrType::kString: append_text_value_quoted(out, attribute.string_value); break;
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
  ConsoleExporter(const ConsoleOptions& options, const ResourceInfo& resource, std::shared_ptr<LocalOutput> output)
      : options_(options), service_name_(service_name_of(resource)), output_(std::move(output)) {}

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
    } catch (...) {
      return ExportResult::kPermanent;  // only std::bad_alloc can get here
    }
    return export_result_of(output_->write(buffer_, cancel_));
  }

  bool force_flush(std::chrono::milliseconds) noexcept override { return true; }
  // Writes are unbuffered: nothing to flush, only a stalled write to give up.
  void shutdown(std::chrono::milliseconds) noexcept override { cancel_.cancel(); }

 private:
  void append_text_line(const SpanRecord& span) {
    buffer_.append(2 * static_cast<size_t>(span.depth), ' ');
    append_terminal_safe(buffer_, span.name);
    fmt::format_to(std::back_inserter(buffer_), "  [{}] {} {}", kind_name(span.kind),
                   format_duration_ns(duration_of(span)), status_name(span.status));
    if (!span.status_message.empty()) {
      buffer_ += " (";
      append_terminal_safe(buffer_, span.status_message);
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
      append_terminal_safe(buffer_, attribute.key);
      buffer_ += '=';
      append_text_value(buffer_, attribute);
    }
    for (const SpanEventRecord& event : span.events) {
      buffer_ += " event=";
      append_text_value_quoted(buffer_, event.name);
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
  std::shared_ptr<LocalOutput> output_;
  WriteCancel cancel_;
  std::string buffer_;
};

}  // namespace

ExportResult export_result_of(WriteStatus status) noexcept {
  switch (status) {
    case WriteStatus::kOk: return ExportResult::kSuccess;
    case WriteStatus::kClosed:
    case WriteStatus::kFailed: return ExportResult::kOutputFailed;
    case WriteStatus::kCancelled:
    case WriteStatus::kTimedOut: break;
  }
  return ExportResult::kRetryable;  // cut short by shutdown(): counted as dropped at shutdown
}

std::string service_name_of(const ResourceInfo& resource) {
  const Attribute* name = resource.attributes.find("service.name");
  return name != nullptr ? name->string_value : std::string();
}

std::unique_ptr<SpanExporter> create_console_exporter(const ConsoleOptions& options, const ResourceInfo& resource,
                                                      std::shared_ptr<LocalOutput> output, TreeStats& tree_stats) {
  if (options.format == ConsoleFormat::kTree) {
    return create_tree_exporter(options, resource, std::move(output), tree_stats);
  }
  return std::make_unique<ConsoleExporter>(options, resource, std::move(output));
}

}  // namespace bto

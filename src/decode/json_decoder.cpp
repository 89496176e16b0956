// The outer line dispatch: every line is parsed once (UTF-8 repaired if need
// be), scanned as an object, and is either a raw event or a bpftrace record,
// whose type decides what happens to its "data". Shapes live in *_shape.cpp.

#include "decode/json_decoder.h"

#include "common/saturating.h"
#include "decode/quoted.h"
#include "decode/utf8.h"

namespace bto {

static_assert(kLinePadding == simdjson::SIMDJSON_PADDING, "LineReader padding must match simdjson's");

namespace decode_detail {
namespace {

// Parsers start with room for lines this long; they grow (once) for longer ones.
constexpr size_t kInitialParserCapacity = 64 * 1024;

}  // namespace

RecordType record_type_of(std::string_view type) noexcept {
  if (type == "printf") return RecordType::kPrintf;
  if (type == "value") return RecordType::kValue;
  if (type == "lost_events") return RecordType::kLostEvents;
  if (type == "helper_error") return RecordType::kHelperError;
  return RecordType::kOther;
}

JsonDecoder::JsonDecoder(const DecodeOptions& options, DecodeStats& stats)
    : options_(options), stats_(stats), fields_(options.max_fields) {
  // Allocation failure here only means the parsers allocate on first use.
  error_code ignored = outer_parser_.allocate(kInitialParserCapacity);
  ignored = inner_parser_.allocate(kInitialParserCapacity);
  (void)ignored;
}

void JsonDecoder::decode_line(std::string_view line, EventSink& sink) noexcept {
  bump(stats_.lines);
  if (line.size() > options_.max_line_bytes) {
    bump(stats_.documents);
    bump(stats_.oversized);
    oversized_log_.warn("decode: line of {} bytes exceeds the {} byte limit: '{}'", line.size(),
                        options_.max_line_bytes, Quoted{line});
    return;
  }
  decode_outer(line, line.size() + kLinePadding, sink);
}

void JsonDecoder::decode_outer(std::string_view line, size_t readable, EventSink& sink) {
  if (trim(line).empty()) {
    // bpftrace prints blank lines between map dumps: nothing to say about them.
    bump(stats_.documents);
    bump(stats_.ignored_records);
    return;
  }
  // A recording's line ({"resourceSpans":...}): two byte compares reject a bpftrace line.
  if (const OtlpLineKind kind = otlp_line_kind(line); kind != OtlpLineKind::kNone) {
    return decode_otlp(kind, line, readable, sink);
  }
  od::document doc;
  error_code error = iterate_outer(line, readable, doc);
  bump(stats_.documents);
  od::json_type type{};
  if (!error) error = doc.type().get(type);
  if (error) return malformed(error, line);
  if (type != od::json_type::object) return reject_non_object(doc, type, line);

  Scan scan;
  if (error_code scan_error = scan_outer_object(doc, scan)) return malformed(scan_error, line);
  if (!at_document_end(doc)) return malformed(simdjson::TRAILING_CONTENT, line);
  if (!scan.record) return deliver(scan, line, sink);
  dispatch_record(scan, line, sink);
}

// Starts iterating `line`. bpftrace's \uffffffXX escapes are first turned
// back into bytes (escape_scratch_); a line simdjson rejects as invalid UTF-8
// is repaired (U+FFFD) into utf8_scratch_. `line` then points there.
error_code JsonDecoder::iterate_outer(std::string_view& line, size_t readable, od::document& doc) {
  if (SignExtendedEscapes::present(line)) {
    const std::string_view repaired = repair_escapes(line);
    if (repaired.data() != line.data()) {
      line = repaired;
      readable = escape_scratch_.capacity();
    }
  }
  error_code error = outer_parser_.iterate(line.data(), line.size(), readable).get(doc);
  if (error == simdjson::UTF8_ERROR) {
    bump(stats_.invalid_utf8);
    utf8_log_.warn("decode: invalid UTF-8 replaced by U+FFFD in line: '{}'", Quoted{line});
    char* out = utf8_scratch_.reserve(line.size() * kUtf8SanitizeGrowth);
    const size_t size = sanitize_utf8(line, out);
    line = std::string_view(out, size);
    error = outer_parser_.iterate(line.data(), line.size(), utf8_scratch_.capacity()).get(doc);
  } else if (error && !simdjson::validate_utf8(line.data(), line.size())) {
    // Broken before simdjson got to judge the encoding: still worth counting.
    bump(stats_.invalid_utf8);
  }
  return error;
}

std::string_view JsonDecoder::repair_escapes(std::string_view line) {
  char* out = escape_scratch_.reserve(line.size());
  EscapeRepairCounts counts;
  const size_t size = escapes_.repair(line, out, counts);
  if (counts.runs == 0) return line;
  bump(stats_.escapes_repaired);
  if (counts.unrepairable > 0) {
    bump(stats_.escapes_unrepairable);
    escape_log_.warn("decode: bytes bpftrace escaped as \\uffffffXX are not UTF-8 (a string cut inside a "
                     "character, or not UTF-8 text): replaced by U+FFFD in line: '{}'",
                     Quoted{line});
  }
  return {out, size};
}

// One pass decides in most cases; a second one (over the same structural
// index) when the first learnt the object is really a raw event, or a record
// whose "data" came before its "type".
error_code JsonDecoder::scan_outer_object(od::document& doc, Scan& scan) {
  Mode mode = Mode::kAuto;
  for (int pass = 0;; ++pass) {
    od::object object;
    error_code error = doc.get_object().get(object);
    if (!error) error = scan_object(object, mode, scan);
    if (error) return error;
    const RecordType record_type = scan.record_type;
    if (pass == 0 && scan.redo_as_raw) {
      mode = Mode::kRaw;
    } else if (pass == 0 && scan.record && scan.data_before_type) {
      mode = Mode::kRecord;
    } else {
      return simdjson::SUCCESS;
    }
    // Rewinding reuses the structural index: no second stage 1.
    doc.rewind();
    scan = Scan{};
    if (mode == Mode::kRecord) {
      scan.record = true;
      scan.record_type = record_type;
    }
  }
}

// A bpftrace output record, its "data" already read by handle_record_data().
void JsonDecoder::dispatch_record(const Scan& scan, std::string_view line, EventSink& sink) {
  if (scan.bad_record_shape) {
    bump(stats_.not_an_object);
    shape_log_.warn("decode: bpftrace '{}' record with unexpected data: '{}'", Quoted{scan.record_type_name},
                    Quoted{line});
    return;
  }
  switch (scan.record_type) {
    case RecordType::kPrintf:
      if (scan.has_printf_data) return decode_printf(scan.printf_data, sink);
      bump(stats_.ignored_records);
      return;
    case RecordType::kValue:
      if (scan.name.empty() && !scan.has_event && !scan.record_object) {
        // "data" missing altogether.
        bump(stats_.not_an_object);
        shape_log_.warn("decode: bpftrace value record without data: '{}'", Quoted{line});
        return;
      }
      return deliver(scan, line, sink);
    case RecordType::kLostEvents:
      bump(stats_.ignored_records);
      if (scan.lost == 0) return;  // a record of nothing lost says nothing ("lost 0 events")
      saturating_add(stats_.lost_events, scan.lost);
      lost_events_log_.warn("decode: bpftrace lost {} events (its per-CPU buffers overflowed)", scan.lost);
      sink.on_lost_events(scan.lost);
      return;
    case RecordType::kHelperError:
      bump(stats_.ignored_records);
      helper_error_log_.warn("decode: bpftrace reported a BPF helper error: '{}'", Quoted{line});
      return;
    case RecordType::kOther:
      bump(stats_.ignored_records);
      return;
  }
}

// The "data" member of a bpftrace record, by the record's type.
error_code JsonDecoder::handle_record_data(od::value& data, Scan& scan) {
  od::json_type type{};
  if (error_code error = data.type().get(type)) return error;
  switch (scan.record_type) {
    case RecordType::kPrintf:
      if (type != od::json_type::string) {
        scan.bad_record_shape = true;
        return simdjson::SUCCESS;
      }
      scan.has_printf_data = true;
      return data.get_string().get(scan.printf_data);
    case RecordType::kValue:
      // print((event="x", ...)) of bpftrace 0.25+ prints a record.
      if (type == od::json_type::object) return read_record(data, scan);
      if (type != od::json_type::array) {
        scan.bad_record_shape = true;
        return simdjson::SUCCESS;
      }
      return read_tuple(data, scan);
    case RecordType::kLostEvents:
      if (type != od::json_type::object) return simdjson::SUCCESS;
      return read_lost_events(data, scan);
    case RecordType::kHelperError:
    case RecordType::kOther:
      return simdjson::SUCCESS;
  }
  return simdjson::SUCCESS;
}

// {"type":"lost_events","data":{"events":N}}
error_code JsonDecoder::read_lost_events(od::value& data, Scan& scan) {
  od::object object;
  if (error_code error = data.get_object().get(object)) return error;
  for (auto member : object) {
    std::string_view key;
    od::value value;
    if (error_code error = read_member(member, key, value)) return error;
    if (key != "events") continue;
    uint64_t count = 0;
    if (!value.get_uint64().get(count)) scan.lost = saturating_sum(scan.lost, count);
  }
  return simdjson::SUCCESS;
}

namespace {

// Well inside simdjson's nesting limit (1024 levels, the document counting as
// one): deeper is refused here, before On-Demand would pass its own limit
// (an assertion in builds without NDEBUG, e.g. the sanitizer build).
constexpr int kMaxValidatedDepth = 512;

error_code validate_value(od::value value, int depth);

error_code validate_array(od::array array, int depth) {
  if (depth > kMaxValidatedDepth) return simdjson::DEPTH_ERROR;
  for (auto element : array) {
    od::value value;
    if (error_code error = element.get(value)) return error;
    if (error_code error = validate_value(value, depth)) return error;
  }
  return simdjson::SUCCESS;
}

error_code validate_object(od::object object, int depth) {
  if (depth > kMaxValidatedDepth) return simdjson::DEPTH_ERROR;
  for (auto member : object) {
    std::string_view key;
    od::value value;
    if (error_code error = read_member(member, key, value)) return error;
    if (error_code error = validate_value(value, depth)) return error;
  }
  return simdjson::SUCCESS;
}

// Every value read to its end, nested ones included (no allocation).
error_code validate_value(od::value value, int depth) {
  od::json_type type{};
  if (error_code error = value.type().get(type)) return error;
  switch (type) {
    case od::json_type::array: {
      od::array array;
      if (error_code error = value.get_array().get(array)) return error;
      return validate_array(array, depth + 1);
    }
    case od::json_type::object: {
      od::object object;
      if (error_code error = value.get_object().get(object)) return error;
      return validate_object(object, depth + 1);
    }
    case od::json_type::number: {
      double d = 0;
      return value.get_double().get(d);
    }
    case od::json_type::string: {
      std::string_view text;
      return value.get_string().get(text);
    }
    case od::json_type::boolean: {
      bool b = false;
      return value.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (error_code error = value.is_null().get(is_null)) return error;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::SUCCESS;
}

}  // namespace

void JsonDecoder::reject_non_object(od::document& doc, od::json_type type, std::string_view text) {
  // Scalars are checked whole, so "42 requests" is broken JSON, not a number.
  error_code error = simdjson::SUCCESS;
  switch (type) {
    case od::json_type::number: {
      double d = 0;
      error = doc.get_double().get(d);
      break;
    }
    case od::json_type::string: {
      std::string_view s;
      error = doc.get_string().get(s);
      break;
    }
    case od::json_type::boolean: {
      bool b = false;
      error = doc.get_bool().get(b);
      break;
    }
    case od::json_type::null: {
      bool is_null = false;
      error = doc.is_null().get(is_null);
      if (!error && !is_null) error = simdjson::N_ATOM_ERROR;
      break;
    }
    case od::json_type::array: {
      // On-Demand only reads what is asked for: walk the whole array so that
      // "[[[[" or "[1 2]" count as malformed JSON, not as a valid non-object.
      od::array array;
      error = doc.get_array().get(array);
      if (!error) error = validate_array(array, 1);
      break;
    }
    case od::json_type::object:
      break;
  }
  if (!error && !at_document_end(doc)) error = simdjson::TRAILING_CONTENT;
  if (error) return malformed(error, text);
  bump(stats_.not_an_object);
  shape_log_.warn("decode: JSON value is not an event object: '{}'", Quoted{text});
}

void JsonDecoder::deliver(const Scan& scan, std::string_view text, EventSink& sink) {
  if (scan.event_not_string) {
    bump(stats_.wrong_type);
    wrong_type_log_.warn("decode: \"event\" is not a string: '{}'", Quoted{text});
    return;
  }
  if (scan.name.empty()) {
    bump(stats_.missing_event);
    missing_event_log_.warn("decode: object without an event name: '{}'", Quoted{text});
    return;
  }
  if (scan.fields.wrong_type > 0) {
    bump(stats_.wrong_type, scan.fields.wrong_type);
    bump(stats_.wrong_type_fields, scan.fields.wrong_type);
    wrong_type_log_.warn("decode: dropped {} field(s) of an unsupported type (object, array, null or a "
                         "key that is not a string): '{}'",
                         scan.fields.wrong_type, Quoted{text});
  }
  if (scan.fields.dropped > 0) {
    bump(stats_.dropped_fields, scan.fields.dropped);
    dropped_fields_log_.warn("decode: dropped {} field(s) beyond the limit of {}: '{}'", scan.fields.dropped,
                             options_.max_fields, Quoted{text});
  }
  Event event;
  event.name = scan.name;
  const NameParts parts = split_event_name(scan.name);
  event.family = parts.family;
  event.phase = parts.phase;
  event.fields = fields_.view();
  bump(stats_.events);
  sink.on_event(event);
}

void JsonDecoder::malformed(error_code error, std::string_view text) {
  bump(stats_.malformed_json);
  malformed_log_.warn("decode: malformed JSON ({}): '{}'", simdjson::error_message(error), Quoted{text});
}

}  // namespace decode_detail

std::unique_ptr<Decoder> create_decoder(const DecodeOptions& options, DecodeStats& stats) {
  return std::make_unique<decode_detail::JsonDecoder>(options, stats);
}

}  // namespace bto

#include "decode/decoder.h"

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "decode/padded_buffer.h"
#include "decode/quoted.h"
#include "decode/utf8.h"

namespace bto {

static_assert(kLinePadding == simdjson::SIMDJSON_PADDING, "LineReader padding must match simdjson's");

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Parsers start with room for lines this long; they grow (once) for longer ones.
constexpr size_t kInitialParserCapacity = 64 * 1024;

// DecodeStats has one writer (the reader thread): a relaxed load and store
// keep readers tear-free without the cost of a locked read-modify-write.
void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

bool is_json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_json_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_json_space(text.back())) text.remove_suffix(1);
  return text;
}

// How an object's "type"/"data"/"event" members are read.
enum class Mode : uint8_t {
  kAuto,    // outer line: a string "type" ahead of any "event" makes it a bpftrace record
  kRaw,     // an event object: "type" and "data" are ordinary members
  kRecord,  // a bpftrace record whose "data" came before its "type"
};

enum class RecordType : uint8_t { kPrintf, kValue, kLostEvents, kHelperError, kOther };

// True once every token of the document has been consumed, i.e. nothing
// trails the value just read ("{...} {...}" or "42 requests").
bool at_document_end(od::document& doc) noexcept {
  const char* location = nullptr;
  return doc.current_location().get(location) == simdjson::OUT_OF_BOUNDS;
}

RecordType record_type_of(std::string_view type) noexcept {
  if (type == "printf") return RecordType::kPrintf;
  if (type == "value") return RecordType::kValue;
  if (type == "lost_events") return RecordType::kLostEvents;
  if (type == "helper_error") return RecordType::kHelperError;
  return RecordType::kOther;
}

// Everything learnt from one pass over an object.
struct Scan {
  std::string_view name;
  std::string_view record_type_name;
  std::string_view printf_data;
  uint64_t lost = 0;
  uint32_t wrong_type_fields = 0;
  uint32_t dropped_fields = 0;
  RecordType record_type = RecordType::kOther;
  bool has_event = false;
  bool event_not_string = false;
  bool record = false;
  bool data_before_type = false;  // "data" read as an event member before "type" was seen
  bool redo_as_raw = false;       // "event" turned up after "type": really an event
  bool bad_record_shape = false;
  bool has_printf_data = false;
};

class JsonDecoder final : public Decoder {
 public:
  JsonDecoder(const DecodeOptions& options, DecodeStats& stats) : options_(options), stats_(stats) {
    fields_.resize(options_.max_fields);
    // Allocation failure here only means the parsers allocate on first use.
    error_code ignored = outer_parser_.allocate(kInitialParserCapacity);
    ignored = inner_parser_.allocate(kInitialParserCapacity);
    (void)ignored;
  }

  void decode_line(std::string_view line, EventSink& sink) noexcept override;

 private:
  void decode_outer(std::string_view line, size_t readable, EventSink& sink);
  void decode_printf(std::string_view data, EventSink& sink);
  void decode_inner(std::string_view piece, size_t readable, EventSink& sink);

  error_code scan_object(od::object& object, Mode mode, Scan& scan);
  error_code handle_record_data(od::value& data, Scan& scan);
  error_code read_tuple(od::value& data, Scan& scan);
  // Inlined into its callers: passing simdjson iterators through memory costs
  // more than the call (store-forwarding stalls on every field).
  [[gnu::always_inline]] inline error_code append_field(std::string_view key, od::value& value, Scan& scan);
  error_code append_nested(od::value& data, Scan& scan);

  // Counts a document that was not a JSON object, telling broken JSON from
  // valid JSON of the wrong shape.
  void reject_non_object(od::document& doc, od::json_type type, std::string_view text);
  void deliver(const Scan& scan, std::string_view text, EventSink& sink);
  void malformed(error_code error, std::string_view text);

  DecodeOptions options_;
  DecodeStats& stats_;
  od::parser outer_parser_;
  od::parser inner_parser_;  // printf payloads; the outer document (and its strings) stays intact
  // Sized once to max_fields; the first field_count_ entries are the current
  // event's. Slots are overwritten member by member, never value-initialised.
  std::vector<EventField> fields_;
  size_t field_count_ = 0;
  PaddedBuffer utf8_scratch_;
  PaddedBuffer printf_scratch_;

  RateLimitedLog malformed_log_;
  RateLimitedLog shape_log_;
  RateLimitedLog missing_event_log_;
  RateLimitedLog wrong_type_log_;
  RateLimitedLog utf8_log_;
  RateLimitedLog oversized_log_;
  RateLimitedLog dropped_fields_log_;
  RateLimitedLog lost_events_log_;
  RateLimitedLog helper_error_log_;
};

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
  od::document doc;
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
  bump(stats_.documents);
  od::json_type type{};
  if (!error) error = doc.type().get(type);
  if (error) return malformed(error, line);
  if (type != od::json_type::object) return reject_non_object(doc, type, line);

  Scan scan;
  Mode mode = Mode::kAuto;
  for (int pass = 0;; ++pass) {
    od::object object;
    error = doc.get_object().get(object);
    if (!error) error = scan_object(object, mode, scan);
    if (error) return malformed(error, line);
    const RecordType record_type = scan.record_type;
    if (pass == 0 && scan.redo_as_raw) {
      mode = Mode::kRaw;
    } else if (pass == 0 && scan.record && scan.data_before_type) {
      mode = Mode::kRecord;
    } else {
      break;
    }
    // Rewinding reuses the structural index: no second stage 1.
    doc.rewind();
    scan = Scan{};
    if (mode == Mode::kRecord) {
      scan.record = true;
      scan.record_type = record_type;
    }
  }
  if (!at_document_end(doc)) return malformed(simdjson::TRAILING_CONTENT, line);

  if (!scan.record) return deliver(scan, line, sink);

  // A bpftrace output record.
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
      if (scan.name.empty() && !scan.has_event) {
        // "data" missing altogether.
        bump(stats_.not_an_object);
        shape_log_.warn("decode: bpftrace value record without data: '{}'", Quoted{line});
        return;
      }
      return deliver(scan, line, sink);
    case RecordType::kLostEvents:
      bump(stats_.ignored_records);
      bump(stats_.lost_events, scan.lost);
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

void JsonDecoder::decode_printf(std::string_view data, EventSink& sink) {
  // The outer string lives in outer_parser_'s buffer; the inner parser needs
  // padding after it, so copy it once and parse each line in place.
  char* copy = printf_scratch_.reserve(data.size());
  std::memcpy(copy, data.data(), data.size());
  const std::string_view text(copy, data.size());
  bool any = false;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view piece = trim(text.substr(begin, end - begin));
    if (!piece.empty()) {
      // The record itself was counted as the first document.
      if (any) bump(stats_.documents);
      any = true;
      decode_inner(piece, printf_scratch_.readable_from(piece.data()), sink);
    }
    begin = end + 1;
  }
  if (!any) bump(stats_.ignored_records);
}

void JsonDecoder::decode_inner(std::string_view piece, size_t readable, EventSink& sink) {
  od::document doc;
  od::json_type type{};
  error_code error = inner_parser_.iterate(piece.data(), piece.size(), readable).get(doc);
  if (!error) error = doc.type().get(type);
  if (error) {
    bump(stats_.malformed_json);
    malformed_log_.warn("decode: printf text is not a JSON event ({}): '{}'", simdjson::error_message(error),
                        Quoted{piece});
    return;
  }
  if (type != od::json_type::object) return reject_non_object(doc, type, piece);
  Scan scan;
  od::object object;
  error = doc.get_object().get(object);
  if (!error) error = scan_object(object, Mode::kRaw, scan);
  if (!error && !at_document_end(doc)) error = simdjson::TRAILING_CONTENT;
  if (error) return malformed(error, piece);
  deliver(scan, piece, sink);
}

error_code JsonDecoder::scan_object(od::object& object, Mode mode, Scan& scan) {
  field_count_ = 0;
  for (auto member : object) {
    if (error_code error = member.error()) return error;
    od::field& field = member.value_unsafe();
    std::string_view key;
    if (error_code error = field.unescaped_key().get(key)) return error;
    od::value value = field.value();

    if (key == "event" && mode != Mode::kRecord) {
      if (scan.record) {
        scan.redo_as_raw = true;
        return simdjson::SUCCESS;
      }
      if (scan.has_event) continue;  // first one wins
      scan.has_event = true;
      od::json_type type{};
      if (error_code error = value.type().get(type)) return error;
      if (type != od::json_type::string) {
        scan.event_not_string = true;
        continue;
      }
      if (error_code error = value.get_string().get(scan.name)) return error;
      continue;
    }
    if (key == "type" && mode != Mode::kRaw && !scan.has_event && (!scan.record || mode == Mode::kRecord)) {
      od::json_type type{};
      if (error_code error = value.type().get(type)) return error;
      if (type == od::json_type::string) {
        if (error_code error = value.get_string().get(scan.record_type_name)) return error;
        scan.record = true;
        scan.record_type = record_type_of(scan.record_type_name);
        continue;
      }
    }
    if (key == "data") {
      if (scan.record) {
        if (error_code error = handle_record_data(value, scan)) return error;
        continue;
      }
      if (mode == Mode::kAuto && !scan.has_event) scan.data_before_type = true;
      od::json_type type{};
      if (error_code error = value.type().get(type)) return error;
      if (type == od::json_type::object) {
        // The seed's nested form: {"event":"x","data":{...fields...}}.
        if (error_code error = append_nested(value, scan)) return error;
        continue;
      }
    }
    if (scan.record) continue;  // other members of a bpftrace record (helper_error's msg, ...)
    if (error_code error = append_field(key, value, scan)) return error;
  }
  return simdjson::SUCCESS;
}

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
      if (type != od::json_type::array) {
        scan.bad_record_shape = true;
        return simdjson::SUCCESS;
      }
      return read_tuple(data, scan);
    case RecordType::kLostEvents: {
      if (type != od::json_type::object) return simdjson::SUCCESS;
      od::object object;
      if (error_code error = data.get_object().get(object)) return error;
      for (auto member : object) {
        if (error_code error = member.error()) return error;
        od::field& field = member.value_unsafe();
        std::string_view key;
        if (error_code error = field.unescaped_key().get(key)) return error;
        if (key != "events") continue;
        uint64_t count = 0;
        if (!field.value().get_uint64().get(count)) scan.lost += count;
      }
      return simdjson::SUCCESS;
    }
    case RecordType::kHelperError:
    case RecordType::kOther:
      return simdjson::SUCCESS;
  }
  return simdjson::SUCCESS;
}

error_code JsonDecoder::read_tuple(od::value& data, Scan& scan) {
  od::array array;
  if (error_code error = data.get_array().get(array)) return error;
  field_count_ = 0;
  bool first = true;
  bool have_key = false;
  bool skip_value = false;  // the value after a non-string key
  std::string_view key;
  for (auto element : array) {
    if (error_code error = element.error()) return error;
    od::value& value = element.value_unsafe();
    od::json_type type{};
    if (error_code error = value.type().get(type)) return error;
    if (first) {
      first = false;
      if (type != od::json_type::string) {
        scan.bad_record_shape = true;
        return simdjson::SUCCESS;
      }
      scan.has_event = true;
      if (error_code error = value.get_string().get(scan.name)) return error;
      continue;
    }
    if (skip_value) {
      skip_value = false;
      continue;
    }
    if (!have_key) {
      if (type != od::json_type::string) {
        ++scan.wrong_type_fields;
        skip_value = true;
        continue;
      }
      if (error_code error = value.get_string().get(key)) return error;
      have_key = true;
      continue;
    }
    have_key = false;
    if (error_code error = append_field(key, value, scan)) return error;
  }
  if (first) scan.bad_record_shape = true;  // []
  if (have_key) ++scan.wrong_type_fields;   // a key without a value
  return simdjson::SUCCESS;
}

error_code JsonDecoder::append_nested(od::value& data, Scan& scan) {
  od::object object;
  if (error_code error = data.get_object().get(object)) return error;
  for (auto member : object) {
    if (error_code error = member.error()) return error;
    od::field& field = member.value_unsafe();
    std::string_view key;
    if (error_code error = field.unescaped_key().get(key)) return error;
    od::value value = field.value();
    if (error_code error = append_field(key, value, scan)) return error;
  }
  return simdjson::SUCCESS;
}

error_code JsonDecoder::append_field(std::string_view key, od::value& value, Scan& scan) {
  od::json_type type{};
  if (error_code error = value.type().get(type)) return error;
  if (field_count_ >= options_.max_fields) {
    ++scan.dropped_fields;
    return simdjson::SUCCESS;
  }
  // Written member by member into a preallocated slot (no value-initialisation).
  EventField& field = fields_[field_count_];
  field.key = key;
  FieldValue& out = field.value;
  out.int_value = 0;
  out.double_value = 0;
  out.bool_value = false;
  out.string_value = {};
  switch (type) {
    case od::json_type::number: {
      od::number number;
      error_code error = value.get_number().get(number);
      if (error) {
        // Integers beyond 64 bits: keep them as the nearest double.
        if (value.get_double().get(out.double_value)) {
          return error;
        }
        out.type = ValueType::kDouble;
        ++field_count_;
        return simdjson::SUCCESS;
      }
      switch (number.get_number_type()) {
        case od::number_type::signed_integer:
          out.type = ValueType::kInt;
          out.int_value = number.get_int64();
          break;
        case od::number_type::unsigned_integer:
          out.type = ValueType::kDouble;
          out.double_value = static_cast<double>(number.get_uint64());
          break;
        case od::number_type::floating_point_number:
          out.type = ValueType::kDouble;
          out.double_value = number.get_double();
          break;
      }
      ++field_count_;
      return simdjson::SUCCESS;
    }
    case od::json_type::string:
      out.type = ValueType::kString;
      if (error_code error = value.get_string().get(out.string_value)) return error;
      ++field_count_;
      return simdjson::SUCCESS;
    case od::json_type::boolean:
      out.type = ValueType::kBool;
      if (error_code error = value.get_bool().get(out.bool_value)) return error;
      ++field_count_;
      return simdjson::SUCCESS;
    case od::json_type::null: {
      bool is_null = false;
      if (error_code error = value.is_null().get(is_null)) return error;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      ++scan.wrong_type_fields;
      return simdjson::SUCCESS;
    }
    case od::json_type::object:
    case od::json_type::array:
      // Skipped by the iterator when it moves on.
      ++scan.wrong_type_fields;
      return simdjson::SUCCESS;
  }
  return simdjson::SUCCESS;
}

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
    case od::json_type::array:
    case od::json_type::object:
      break;
  }
  if (!error && type != od::json_type::array && !at_document_end(doc)) error = simdjson::TRAILING_CONTENT;
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
  if (scan.wrong_type_fields > 0) {
    bump(stats_.wrong_type, scan.wrong_type_fields);
    bump(stats_.wrong_type_fields, scan.wrong_type_fields);
    wrong_type_log_.warn("decode: dropped {} field(s) of an unsupported type (object, array, null or a "
                         "key that is not a string): '{}'",
                         scan.wrong_type_fields, Quoted{text});
  }
  if (scan.dropped_fields > 0) {
    bump(stats_.dropped_fields, scan.dropped_fields);
    dropped_fields_log_.warn("decode: dropped {} field(s) beyond the limit of {}: '{}'", scan.dropped_fields,
                             options_.max_fields, Quoted{text});
  }
  Event event;
  event.name = scan.name;
  const NameParts parts = split_event_name(scan.name);
  event.family = parts.family;
  event.phase = parts.phase;
  event.fields = std::span<const EventField>(fields_.data(), field_count_);
  bump(stats_.events);
  sink.on_event(event);
}

void JsonDecoder::malformed(error_code error, std::string_view text) {
  bump(stats_.malformed_json);
  malformed_log_.warn("decode: malformed JSON ({}): '{}'", simdjson::error_message(error), Quoted{text});
}

}  // namespace

std::unique_ptr<Decoder> create_decoder(const DecodeOptions& options, DecodeStats& stats) {
  return std::make_unique<JsonDecoder>(options, stats);
}

}  // namespace bto

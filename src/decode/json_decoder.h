#pragma once
// Private to decode/: the decoder behind create_decoder(), shared by its
// translation units, one per input shape:
//   json_decoder.cpp  the outer line dispatch: parse, bpftrace record or raw
//                     event, record types, counting and delivery
//   raw_shape.cpp     {"event":"x",...} and {"event":"x","data":{...}}; the one
//                     pass over an object that also recognises bpftrace records
//   tuple_shape.cpp   {"type":"value","data":["x","key",value,...]}
//   printf_shape.cpp  {"type":"printf","data":"<event JSON>\n..."}
//   otlp_shape.cpp    {"resourceSpans":[...]}: a recording's OTLP/JSON line (decode/otlp_json.h)
//   record_shape.cpp  {"type":"value","data":{"event":"x","key":value,...}} (bpftrace 0.25+)
//   event_fields.h    the field appender all shapes write through
// A new shape: a read_<shape>() member in its own <shape>_shape.cpp, reached
// from handle_record_data() (bpftrace records) or scan_object() (raw objects).

#include <simdjson.h>

#include <cstdint>
#include <string_view>

#include "common/log.h"
#include "common/counter.h"
#include "decode/decoder.h"
#include "decode/escape_repair.h"
#include "decode/event_fields.h"
#include "decode/otlp_json.h"
#include "decode/padded_buffer.h"

namespace bto::decode_detail {

namespace od = simdjson::ondemand;
using simdjson::error_code;

using bto::bump;  // DecodeStats has one writer, the reader thread

inline bool is_json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_json_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_json_space(text.back())) text.remove_suffix(1);
  return text;
}

// True once every token of the document has been consumed, i.e. nothing
// trails the value just read ("{...} {...}" or "42 requests").
inline bool at_document_end(od::document& doc) noexcept {
  const char* location = nullptr;
  return doc.current_location().get(location) == simdjson::OUT_OF_BOUNDS;
}

// How an object's "type"/"data"/"event" members are read.
enum class Mode : uint8_t {
  kAuto,    // outer line: a string "type" ahead of any "event" makes it a bpftrace record
  kRaw,     // an event object: "type" and "data" are ordinary members
  kRecord,  // a bpftrace record whose "data" came before its "type"
};

enum class RecordType : uint8_t { kPrintf, kValue, kLostEvents, kHelperError, kOther };

RecordType record_type_of(std::string_view type) noexcept;

// Everything learnt from one pass over an object.
struct Scan {
  std::string_view name;
  std::string_view record_type_name;
  std::string_view printf_data;
  uint64_t lost = 0;
  FieldCounts fields;
  RecordType record_type = RecordType::kOther;
  bool has_event = false;
  bool event_not_string = false;
  bool record = false;
  bool data_before_type = false;  // "data" read as an event member before "type" was seen
  bool redo_as_raw = false;       // "event" turned up after "type": really an event
  bool bad_record_shape = false;
  bool has_printf_data = false;
  bool record_object = false;  // a bpftrace 0.25+ record: {"type":"value","data":{...}}
};

// The "event" member: its name when a string, else marked as not one.
inline error_code read_event_name(od::value& value, Scan& scan) {
  scan.has_event = true;
  od::json_type type{};
  if (error_code error = value.type().get(type)) return error;
  if (type != od::json_type::string) {
    scan.event_not_string = true;
    return simdjson::SUCCESS;
  }
  return value.get_string().get(scan.name);
}

// One member of an object being iterated: its unescaped key and its value.
inline error_code read_member(simdjson::simdjson_result<od::field>& member, std::string_view& key,
                              od::value& value) {
  if (error_code error = member.error()) return error;
  od::field& field = member.value_unsafe();
  if (error_code error = field.unescaped_key().get(key)) return error;
  value = field.value();
  return simdjson::SUCCESS;
}

class JsonDecoder final : public Decoder {
 public:
  JsonDecoder(const DecodeOptions& options, DecodeStats& stats);

  void decode_line(std::string_view line, EventSink& sink) noexcept override;

 private:
  // json_decoder.cpp: the outer line. The pieces of decode_outer() are
  // inlined into it (a call each costs ~1 % of the decoder's instructions).
  void decode_outer(std::string_view line, size_t readable, EventSink& sink);
  [[gnu::always_inline]] inline error_code iterate_outer(std::string_view& line, size_t readable, od::document& doc);
  std::string_view repair_escapes(std::string_view line);
  [[gnu::always_inline]] inline error_code scan_outer_object(od::document& doc, Scan& scan);
  [[gnu::always_inline]] inline void dispatch_record(const Scan& scan, std::string_view line, EventSink& sink);
  error_code handle_record_data(od::value& data, Scan& scan);
  error_code read_lost_events(od::value& data, Scan& scan);

  // raw_shape.cpp
  error_code scan_object(od::object& object, Mode mode, Scan& scan);
  error_code append_nested(od::value& data, Scan& scan);

  // tuple_shape.cpp
  error_code read_tuple(od::value& data, Scan& scan);

  // otlp_shape.cpp
  void decode_otlp(OtlpLineKind kind, std::string_view line, size_t readable, EventSink& sink);
  // record_shape.cpp
  error_code read_record(od::value& data, Scan& scan);

  // printf_shape.cpp
  void decode_printf(std::string_view data, EventSink& sink);
  void decode_inner(std::string_view piece, size_t readable, EventSink& sink);

  // json_decoder.cpp: outcomes. Counts a document that was not a JSON object,
  // telling broken JSON from valid JSON of the wrong shape.
  void reject_non_object(od::document& doc, od::json_type type, std::string_view text);
  void deliver(const Scan& scan, std::string_view text, EventSink& sink);
  void malformed(error_code error, std::string_view text);

  DecodeOptions options_;
  DecodeStats& stats_;
  od::parser outer_parser_;
  od::parser inner_parser_;  // printf payloads; the outer document (and its strings) stays intact
  EventFields fields_;       // the current event's
  SignExtendedEscapes escapes_;
  PaddedBuffer escape_scratch_;
  PaddedBuffer utf8_scratch_;
  PaddedBuffer printf_scratch_;
  OtlpJsonReader otlp_reader_;  // recordings replayed with --input

  RateLimitedLog malformed_log_;
  RateLimitedLog shape_log_;
  RateLimitedLog missing_event_log_;
  RateLimitedLog wrong_type_log_;
  RateLimitedLog utf8_log_;
  RateLimitedLog escape_log_;
  RateLimitedLog oversized_log_;
  RateLimitedLog dropped_fields_log_;
  RateLimitedLog lost_events_log_;
  RateLimitedLog helper_error_log_;
  RateLimitedLog otlp_log_;
};

}  // namespace bto::decode_detail

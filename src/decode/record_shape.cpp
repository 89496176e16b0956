// Records, bpftrace 0.25+: print((event="name", key=value, ...)) prints
// {"type":"value","data":{"event":"name","key":value,...}}. The recommended
// shape where available: fields are named, and bpftrace's JSON writer escapes
// every string (docs/event-format.md).

#include "decode/json_decoder.h"

namespace bto::decode_detail {

error_code JsonDecoder::read_record(od::value& data, Scan& scan) {
  od::object object;
  if (error_code error = data.get_object().get(object)) return error;
  fields_.clear();
  scan.record_object = true;
  for (auto member : object) {
    if (error_code error = member.error()) return error;
    od::field& field = member.value_unsafe();
    std::string_view key;
    if (error_code error = field.unescaped_key().get(key)) return error;
    od::value value = field.value();
    if (key == "event" && !scan.has_event) {
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
    if (error_code error = fields_.append(key, value, scan.fields)) return error;
  }
  return simdjson::SUCCESS;
}

}  // namespace bto::decode_detail

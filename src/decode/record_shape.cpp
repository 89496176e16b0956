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
    std::string_view key;
    od::value value;
    if (error_code error = read_member(member, key, value)) return error;
    if (key == "event" && !scan.has_event) {
      if (error_code error = read_event_name(value, scan)) return error;
      continue;
    }
    if (error_code error = fields_.append(key, value, scan.fields)) return error;
  }
  return simdjson::SUCCESS;
}

}  // namespace bto::decode_detail

// Raw event objects: {"event":"name","key":value,...} (a line of bpftrace's
// text mode, or one line of printf data) and the seed's nested form
// {"event":"name","data":{...fields...}}. The same pass over an outer object
// recognises a bpftrace record by its "type" and hands its "data" to
// handle_record_data().

#include "decode/json_decoder.h"

namespace bto::decode_detail {

error_code JsonDecoder::scan_object(od::object& object, Mode mode, Scan& scan) {
  fields_.clear();
  for (auto member : object) {
    std::string_view key;
    od::value value;
    if (error_code error = read_member(member, key, value)) return error;

    if (key == "event" && mode != Mode::kRecord) {
      if (scan.record) {
        scan.redo_as_raw = true;
        return simdjson::SUCCESS;
      }
      if (scan.has_event) continue;  // first one wins
      if (error_code error = read_event_name(value, scan)) return error;
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
    if (error_code error = fields_.append(key, value, scan.fields)) return error;
  }
  return simdjson::SUCCESS;
}

error_code JsonDecoder::append_nested(od::value& data, Scan& scan) {
  od::object object;
  if (error_code error = data.get_object().get(object)) return error;
  for (auto member : object) {
    std::string_view key;
    od::value value;
    if (error_code error = read_member(member, key, value)) return error;
    if (error_code error = fields_.append(key, value, scan.fields)) return error;
  }
  return simdjson::SUCCESS;
}

}  // namespace bto::decode_detail

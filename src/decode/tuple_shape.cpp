// Tuple events, the recommended shape: print(("name", "key", value, ...))
// prints {"type":"value","data":["name","key",value,...]}.

#include "decode/json_decoder.h"

namespace bto::decode_detail {

error_code JsonDecoder::read_tuple(od::value& data, Scan& scan) {
  od::array array;
  if (error_code error = data.get_array().get(array)) return error;
  fields_.clear();
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
        ++scan.fields.wrong_type;
        skip_value = true;
        continue;
      }
      if (error_code error = value.get_string().get(key)) return error;
      have_key = true;
      continue;
    }
    have_key = false;
    if (error_code error = fields_.append(key, value, scan.fields)) return error;
  }
  if (first) scan.bad_record_shape = true;  // []
  if (have_key) ++scan.fields.wrong_type;   // a key without a value
  return simdjson::SUCCESS;
}

}  // namespace bto::decode_detail

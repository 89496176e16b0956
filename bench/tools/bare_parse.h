#pragma once
// The bare simdjson floor that the decode benchmarks measure us against: one
// On-Demand pass over a document that visits every value and unescapes every
// key and string, building nothing. Used by decode_bench (per line) and
// parse_floor (per stream). Inline in a header on purpose: each user compiles
// it with its own flags (parse_floor_v3 for x86-64-v3), and the floor must not
// pay calls into another translation unit.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace bto::bench {

// Visits every value below `value`; the sum of sizes it returns keeps the
// compiler from dropping the work.
inline uint64_t touch(simdjson::ondemand::value value) {
  namespace od = simdjson::ondemand;
  od::json_type type{};
  if (value.type().get(type)) return 0;
  uint64_t sum = 0;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (value.get_object().get(object)) return 0;
      for (auto member : object) {
        od::field field;
        if (std::move(member).get(field)) return sum;
        std::string_view key;
        if (!field.unescaped_key().get(key)) sum += key.size();
        sum += touch(field.value());
      }
      return sum;
    }
    case od::json_type::array: {
      od::array array;
      if (value.get_array().get(array)) return 0;
      for (auto element : array) {
        od::value child;
        if (std::move(element).get(child)) return sum;
        sum += touch(child);
      }
      return sum;
    }
    case od::json_type::number: {
      od::number number;
      if (!value.get_number().get(number)) sum += static_cast<uint64_t>(number.get_number_type());
      return sum;
    }
    case od::json_type::string: {
      std::string_view text;
      if (!value.get_string().get(text)) sum += text.size();
      return sum;
    }
    case od::json_type::boolean: {
      bool flag = false;
      if (!value.get_bool().get(flag)) sum += flag;
      return sum;
    }
    case od::json_type::null:
      return sum;
  }
  return sum;
}

// Parses the `size` bytes at `data` (readable up to `capacity`: simdjson's
// padding) as one document and touches every value, adding to `checksum`.
// False when the bytes are not a document.
inline bool parse_and_touch(simdjson::ondemand::parser& parser, const char* data, size_t size, size_t capacity,
                            uint64_t& checksum) {
  simdjson::ondemand::document doc;
  if (parser.iterate(data, size, capacity).get(doc)) return false;
  simdjson::ondemand::value root;
  if (doc.get_value().get(root)) return false;
  checksum += touch(root);
  return true;
}

}  // namespace bto::bench

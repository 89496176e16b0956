#pragma once
// Reading protobuf wire format from untrusted bytes, one field at a time: just
// enough for what a collector answers (partial_success, google.rpc.Status,
// RetryInfo). Never reads past the end, allocates nothing, throws nothing.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bto {

class ProtobufReader {
 public:
  explicit ProtobufReader(std::string_view data) noexcept : data_(data) {}
  bool done() const noexcept { return pos_ >= data_.size(); }

  bool varint(uint64_t& v) noexcept {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      v |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  // One field: a varint lands in `value`, a length-delimited payload in `bytes`
  // (a view into the input); fixed32/fixed64 are skipped. False when malformed.
  bool field(uint32_t& number, uint32_t& wire_type, uint64_t& value, std::string_view& bytes) noexcept {
    uint64_t key;
    if (!varint(key)) return false;
    number = static_cast<uint32_t>(key >> 3);
    wire_type = static_cast<uint32_t>(key & 7);
    if (number == 0) return false;
    switch (wire_type) {
      case 0:
        return varint(value);
      case 1:
        return skip(8);
      case 5:
        return skip(4);
      case 2: {
        uint64_t length;
        if (!varint(length) || length > data_.size() - pos_) return false;
        bytes = data_.substr(pos_, length);
        pos_ += length;
        return true;
      }
      default:
        return false;  // groups are not used by OTLP or google.rpc
    }
  }

 private:
  bool skip(size_t n) noexcept {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }

  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace bto

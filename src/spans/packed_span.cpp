#include "spans/packed_span.h"

#include <cstring>
#include <string_view>

namespace bto {
namespace {

// Bounds-checked appends into PackedSpan::bytes.
class Packer {
 public:
  explicit Packer(PackedSpan& out) noexcept : out_(out) {}

  template <typename T>
  bool put(const T& value) noexcept {
    if (sizeof(T) > room()) return false;
    std::memcpy(out_.bytes.data() + used_, &value, sizeof(T));
    used_ += sizeof(T);
    return true;
  }
  bool put_text(std::string_view text) noexcept {
    if (text.size() > UINT16_MAX || !put(static_cast<uint16_t>(text.size())) || text.size() > room()) return false;
    std::memcpy(out_.bytes.data() + used_, text.data(), text.size());
    used_ += text.size();
    return true;
  }
  uint8_t used() const noexcept { return static_cast<uint8_t>(used_); }

 private:
  size_t room() const noexcept { return out_.bytes.size() - used_; }
  PackedSpan& out_;
  size_t used_ = 0;
};

class Unpacker {
 public:
  explicit Unpacker(const PackedSpan& in) noexcept : in_(in) {}

  template <typename T>
  T get() noexcept {
    T value;
    std::memcpy(&value, in_.bytes.data() + read_, sizeof(T));
    read_ += sizeof(T);
    return value;
  }
  std::string_view get_text() noexcept {
    const uint16_t size = get<uint16_t>();
    const std::string_view text(in_.bytes.data() + read_, size);
    read_ += size;
    return text;
  }
  bool done() const noexcept { return read_ >= in_.used; }

 private:
  const PackedSpan& in_;
  size_t read_ = 0;
};

// Attribute flags byte: the type in the low bits, truncation above.
constexpr uint8_t kTruncatedFlag = 0x80;

}  // namespace

bool pack_open_span(const SpanRecord& span, PackedSpan& out) noexcept {
  if (!span.events.empty() || span.end_time_unix_ns != 0) return false;
  // Only what the header's bit-fields hold (SpanKind and StatusCode as OTLP numbers them).
  if (static_cast<uint8_t>(span.kind) > 7 || static_cast<uint8_t>(span.status) > 3) return false;
  Packer packer(out);
  if (!packer.put_text(span.name) || !packer.put_text(span.status_message)) return false;
  for (const Attribute& attribute : span.attributes.items()) {
    const uint8_t flags = static_cast<uint8_t>(attribute.type) | (attribute.truncated ? kTruncatedFlag : 0);
    if (!packer.put(attribute.key.data()) || !packer.put(static_cast<uint16_t>(attribute.key.size())) ||
        attribute.key.size() > UINT16_MAX || !packer.put(flags)) {
      return false;
    }
    bool fits = false;
    switch (attribute.type) {
      case AttrType::kString:
        fits = packer.put_text(attribute.string_value);
        break;
      case AttrType::kInt:
        fits = packer.put(attribute.int_value);
        break;
      case AttrType::kDouble:
        fits = packer.put(attribute.double_value);
        break;
      case AttrType::kBool:
        fits = packer.put(attribute.bool_value);
        break;
    }
    if (!fits) return false;
  }
  out.trace_id = span.trace_id;
  out.span_id = span.span_id;
  out.parent_span_id = span.parent_span_id;
  out.start_time_unix_ns = span.start_time_unix_ns;
  out.dropped_attributes = span.attributes.dropped();
  out.depth = span.depth;
  out.kind = static_cast<uint8_t>(span.kind) & 7;
  out.status = static_cast<uint8_t>(span.status) & 3;
  out.parent_remote = span.parent_remote ? 1 : 0;
  out.used = packer.used();
  return true;
}

void unpack_open_span(const PackedSpan& packed, SpanRecord& into) {
  into.trace_id = packed.trace_id;
  into.span_id = packed.span_id;
  into.parent_span_id = packed.parent_span_id;
  into.start_time_unix_ns = packed.start_time_unix_ns;
  into.depth = packed.depth;
  into.kind = static_cast<SpanKind>(packed.kind);
  into.status = static_cast<StatusCode>(packed.status);
  into.parent_remote = packed.parent_remote != 0;
  into.attributes.set_dropped(packed.dropped_attributes);
  Unpacker unpacker(packed);
  into.name.assign(unpacker.get_text());
  into.status_message.assign(unpacker.get_text());
  while (!unpacker.done()) {
    Attribute& attribute = into.attributes.append_checked_before();
    const char* key = unpacker.get<const char*>();
    attribute.key = std::string_view(key, unpacker.get<uint16_t>());
    const uint8_t flags = unpacker.get<uint8_t>();
    attribute.type = static_cast<AttrType>(flags & ~kTruncatedFlag);
    attribute.truncated = (flags & kTruncatedFlag) != 0;
    switch (attribute.type) {
      case AttrType::kString:
        attribute.string_value.assign(unpacker.get_text());
        break;
      case AttrType::kInt:
        attribute.int_value = unpacker.get<int64_t>();
        break;
      case AttrType::kDouble:
        attribute.double_value = unpacker.get<double>();
        break;
      case AttrType::kBool:
        attribute.bool_value = unpacker.get<bool>();
        break;
    }
  }
}

}  // namespace bto

#pragma once
// Writing protobuf wire format in two passes, sizes first, then bytes into a
// buffer of exactly that size; the counterpart of protobuf_reader.h. Shared by
// the OTLP trace and metrics encoders, which also share the common/v1
// messages below (KeyValue/AnyValue attributes, InstrumentationScope).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "export/span_exporter.h"
#include "spans/span_record.h"

namespace bto::protobuf {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

constexpr size_t varint_size(uint64_t v) noexcept {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

constexpr size_t tag_size(uint32_t field) noexcept { return varint_size(uint64_t{field} << 3); }

// A length-delimited field of `length` payload bytes.
constexpr size_t ld_size(uint32_t field, size_t length) noexcept {
  return tag_size(field) + varint_size(length) + length;
}

constexpr size_t fixed64_size(uint32_t field) noexcept { return tag_size(field) + 8; }

// Writes into a buffer already sized by the sizing pass: no bounds checks here.
class Writer {
 public:
  explicit Writer(char* p) noexcept : p_(p) {}
  char* position() const noexcept { return p_; }

  void varint(uint64_t v) noexcept {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void tag(uint32_t field, WireType type) noexcept { varint((uint64_t{field} << 3) | type); }
  void bytes(const void* data, size_t size) noexcept {
    if (size != 0) std::memcpy(p_, data, size);
    p_ += size;
  }
  void length_delimited(uint32_t field, const void* data, size_t size) noexcept {
    begin_message(field, size);
    bytes(data, size);
  }
  void string(uint32_t field, std::string_view s) noexcept { length_delimited(field, s.data(), s.size()); }
  void begin_message(uint32_t field, size_t size) noexcept {
    tag(field, kLengthDelimited);
    varint(size);
  }
  void raw64(uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
  }
  void fixed64(uint32_t field, uint64_t v) noexcept {
    tag(field, kFixed64);
    raw64(v);
  }
  void double_field(uint32_t field, double d) noexcept { fixed64(field, bits(d)); }
  void varint_field(uint32_t field, uint64_t v) noexcept {
    tag(field, kVarint);
    varint(v);
  }
  static uint64_t bits(double d) noexcept {
    uint64_t b;
    std::memcpy(&b, &d, sizeof b);
    return b;
  }

 private:
  char* p_;
};

// ---- common/v1: KeyValue, AnyValue, InstrumentationScope ------------------

namespace key_value { inline constexpr uint32_t kKey = 1, kValue = 2; }
namespace any_value { inline constexpr uint32_t kString = 1, kBool = 2, kInt = 3, kDouble = 4, kArray = 5; }
namespace array_value { inline constexpr uint32_t kValues = 1; }
namespace scope { inline constexpr uint32_t kName = 1, kVersion = 2; }

inline size_t any_value_size(const Attribute& a) noexcept {
  switch (a.type) {
    case AttrType::kString: return ld_size(any_value::kString, a.string_value.size());
    case AttrType::kBool: return tag_size(any_value::kBool) + 1;
    // int64 as varint: negative values take ten bytes (two's complement).
    case AttrType::kInt: return tag_size(any_value::kInt) + varint_size(static_cast<uint64_t>(a.int_value));
    case AttrType::kDouble: return fixed64_size(any_value::kDouble);
  }
  return 0;
}

inline size_t key_value_size(const Attribute& a) noexcept {
  size_t n = ld_size(key_value::kValue, any_value_size(a));
  if (!a.key.empty()) n += ld_size(key_value::kKey, a.key.size());
  return n;
}

// `list` as repeated KeyValue field `field`.
inline size_t attributes_size(uint32_t field, const AttributeList& list) noexcept {
  size_t n = 0;
  for (const Attribute& a : list.items()) n += ld_size(field, key_value_size(a));
  return n;
}

inline void write_attributes(Writer& w, uint32_t field, const AttributeList& list) noexcept {
  for (const Attribute& a : list.items()) {
    w.begin_message(field, key_value_size(a));
    if (!a.key.empty()) w.string(key_value::kKey, a.key);
    w.begin_message(key_value::kValue, any_value_size(a));
    switch (a.type) {
      case AttrType::kString: w.string(any_value::kString, a.string_value); break;
      case AttrType::kBool: w.varint_field(any_value::kBool, a.bool_value ? 1 : 0); break;
      case AttrType::kInt: w.varint_field(any_value::kInt, static_cast<uint64_t>(a.int_value)); break;
      case AttrType::kDouble: w.double_field(any_value::kDouble, a.double_value); break;
    }
  }
}

// string[] attributes (process.command_args) as KeyValue{key, AnyValue{array_value}}.
inline size_t array_body_size(const StringArrayAttribute& a) noexcept {
  size_t n = 0;
  for (const std::string& v : a.values) n += ld_size(array_value::kValues, ld_size(any_value::kString, v.size()));
  return n;
}

inline size_t array_key_value_size(const StringArrayAttribute& a) noexcept {
  return ld_size(key_value::kKey, a.key.size()) +
         ld_size(key_value::kValue, ld_size(any_value::kArray, array_body_size(a)));
}

inline size_t arrays_size(uint32_t field, std::span<const StringArrayAttribute> arrays) noexcept {
  size_t n = 0;
  for (const StringArrayAttribute& a : arrays) n += ld_size(field, array_key_value_size(a));
  return n;
}

inline void write_arrays(Writer& w, uint32_t field, std::span<const StringArrayAttribute> arrays) noexcept {
  for (const StringArrayAttribute& a : arrays) {
    w.begin_message(field, array_key_value_size(a));
    w.string(key_value::kKey, a.key);
    const size_t body = array_body_size(a);
    w.begin_message(key_value::kValue, ld_size(any_value::kArray, body));
    w.begin_message(any_value::kArray, body);
    for (const std::string& v : a.values) {
      w.begin_message(array_value::kValues, ld_size(any_value::kString, v.size()));
      w.string(any_value::kString, v);
    }
  }
}

// ---- resource/v1: Resource --------------------------------------------------

// A process's resource, or the exporter's own (`resource` null).
struct ResourceView {
  const AttributeList& attributes;
  std::span<const StringArrayAttribute> arrays;

  ResourceView(const Resource* resource, const ResourceInfo& own) noexcept
      : attributes(resource != nullptr ? resource->attributes : own.attributes),
        arrays(resource != nullptr ? std::span<const StringArrayAttribute>(resource->arrays)
                                   : std::span<const StringArrayAttribute>()) {}
};

namespace resource_msg { inline constexpr uint32_t kAttributes = 1; }

// The Resource message body.
inline size_t resource_size(const ResourceView& r) noexcept {
  return attributes_size(resource_msg::kAttributes, r.attributes) + arrays_size(resource_msg::kAttributes, r.arrays);
}

inline void write_resource(Writer& w, uint32_t field, const ResourceView& r, size_t body) noexcept {
  w.begin_message(field, body);
  write_attributes(w, resource_msg::kAttributes, r.attributes);
  write_arrays(w, resource_msg::kAttributes, r.arrays);
}

// The InstrumentationScope message body (name, version).
inline size_t scope_size(const ResourceInfo& r) noexcept {
  size_t n = 0;
  if (!r.scope_name.empty()) n += ld_size(scope::kName, r.scope_name.size());
  if (!r.scope_version.empty()) n += ld_size(scope::kVersion, r.scope_version.size());
  return n;
}

inline void write_scope(Writer& w, uint32_t field, const ResourceInfo& r) noexcept {
  w.begin_message(field, scope_size(r));
  if (!r.scope_name.empty()) w.string(scope::kName, r.scope_name);
  if (!r.scope_version.empty()) w.string(scope::kVersion, r.scope_version);
}

}  // namespace bto::protobuf

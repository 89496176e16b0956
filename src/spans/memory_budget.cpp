#include "spans/memory_budget.h"

#include <string>

namespace bto {
namespace {

// The small-string buffer's size. Not constexpr: clang refuses
// std::string's constructor in a constant expression (libstdc++ 12).
const size_t kInlineCapacity = std::string().capacity();

// Heap bytes of a string: nothing while it fits the small-string buffer.
size_t heap_bytes(const std::string& text) noexcept {
  return text.capacity() > kInlineCapacity ? text.capacity() + 1 : 0;
}

size_t attribute_bytes(const AttributeList& attributes) noexcept {
  size_t bytes = attributes.slot_capacity() * sizeof(Attribute);
  for (const Attribute& slot : attributes.all_slots()) bytes += heap_bytes(slot.string_value);
  return bytes;
}

}  // namespace

size_t span_record_bytes(const SpanRecord& span) noexcept {
  size_t bytes = sizeof(SpanRecord) + heap_bytes(span.name) + heap_bytes(span.status_message) +
                 attribute_bytes(span.attributes) + span.events.capacity() * sizeof(SpanEventRecord);
  for (const SpanEventRecord& record : span.events) {
    bytes += heap_bytes(record.name) + attribute_bytes(record.attributes);
  }
  return bytes;
}

}  // namespace bto

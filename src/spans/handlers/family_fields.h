#pragma once
// Private to spans/handlers/: the fields a declared family's templates and
// rules name, resolved to references at start-up, and where their values are
// found for one event: the event's own field first, then the attribute the
// start left on the span (renamed names are followed, dropped fields are gone).

#include <cstddef>
#include <span>
#include <string>

#include "decode/event.h"
#include "spans/handlers/field_util.h"
#include "spans/span_record.h"

namespace bto {

// A field name referenced by a template or rule, resolved at start-up.
struct FieldRef {
  std::string field;      // event field key
  std::string attribute;  // where the start leaves it on the span; empty = not kept
  bool dropped = false;   // explicitly dropped (or unmapped with drop_unmapped)
};

// The values of one event (and the span so far) behind a handler's refs.
struct FieldSource {
  std::span<const FieldRef> refs;
  const Event& event;
  const AttributeList* attributes;  // nullptr on the start event

  const FieldRef& ref(int index) const noexcept { return refs[static_cast<size_t>(index)]; }

  // Always inlined: a call per placeholder and per rule condition is measurable.
  [[gnu::always_inline]] inline bool get(int index, FieldValue& out) const noexcept {
    const FieldRef& wanted = ref(index);
    if (const FieldValue* value = event.find(wanted.field)) {
      out = *value;
      return true;
    }
    if (attributes != nullptr && !wanted.attribute.empty()) {
      if (const Attribute* attribute = attributes->find(wanted.attribute)) {
        out = handler_util::value_of(*attribute);
        return true;
      }
    }
    return false;
  }
};

}  // namespace bto

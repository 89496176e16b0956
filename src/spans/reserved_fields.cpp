#include "spans/reserved_fields.h"

namespace bto {

bool CorrelationIdReader::read_composite(const Event& event, std::span<const std::string> key_fields, IdText& id) {
  composite_.clear();
  for (const std::string& name : key_fields) {
    IdText part;
    const FieldValue* value = event.find(name);
    if (value != nullptr && value->type == ValueType::kBool) {
      part.text = value->bool_value ? "true" : "false";
    } else if (!part.set(value)) {
      return false;
    }
    if (&name != &key_fields.front()) composite_.push_back('\x1e');
    composite_.append(part.text);
    if (composite_.size() > kMaxIdBytes) return false;
  }
  id.text = composite_;
  return true;
}

}  // namespace bto

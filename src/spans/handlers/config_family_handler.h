#pragma once
// Event families declared in the config file ([[family]]): a span name
// template, a kind, an attribute mapping, status rules and correlation key
// fields, turned into an EventHandler with no C++ per family.
//
// Templates: literal text with {field} placeholders; `{{` and `}}` are literal
// braces; a placeholder may name an event field or the attribute a field is
// renamed to, and may carry filters applied left to right: {uri|route} (ids
// and numbers collapsed to {id}, query stripped), {method|upper}, {x|lower},
// {sql|first_word|upper}.
// Rules: `field OP literal` with OP one of == != < <= > >=, joined by && and
// ||; literals are integers, decimals, "strings" or 'strings', true, false.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "spans/handlers/event_handler.h"
#include "spans/span_record.h"

namespace bto {

// Conversion applied to a field's value before it becomes an attribute.
enum class FamilyValueType : uint8_t { kAsIs, kString, kInt, kDouble, kBool };

struct FamilyAttribute {
  std::string field;  // event field name
  std::string name;   // attribute name; empty = the field's own name
  FamilyValueType type = FamilyValueType::kAsIs;
  bool drop = false;
};

struct FamilySpec {
  std::string name;       // family: events NAME_start/NAME_end or a single NAME
  std::string span_name;  // template; empty = the family name
  SpanKind kind = SpanKind::kInternal;
  std::vector<std::string> key_fields;  // pair start and end on these; empty = request_id
  // Any matching rule makes the span an error. None: a non-zero error/errno
  // field does (as for the built-in handlers).
  std::vector<std::string> error_when;
  std::string status_message;  // template; empty = "field=value" of the rule that matched
  std::vector<FamilyAttribute> attributes;
  bool drop_unmapped = false;  // fields without a mapping: dropped instead of kept
};

// Shared by every declared family (reader thread writes, anyone reads).
struct FamilyStats {
  std::atomic<uint64_t> template_fields_missing{0};  // placeholder with no value: rendered as ""
  std::atomic<uint64_t> rule_fields_missing{0};      // rule on an absent field: false
  std::atomic<uint64_t> conversions_failed{0};       // value kept with its own type
};

// Start-up validation, so the config reader can name the line: "" when the
// text is valid, else the problem.
std::string check_family_template(std::string_view text);
std::string check_status_rule(std::string_view text);

// Throws StartupError when the spec is invalid (the config reader validates
// first, with positions). `stats` must outlive the handler.
std::unique_ptr<EventHandler> create_config_family_handler(const FamilySpec& spec, FamilyStats& stats);

// Adds one handler per spec; call before register_builtin_handlers() so a
// declared family can replace a built-in one (e.g. http_request).
void register_config_families(HandlerRegistry& registry, const std::vector<FamilySpec>& specs,
                              FamilyStats& stats);

}  // namespace bto

#pragma once
// Private to spans/handlers/: the status-rule language of declared families
// (status.error_when; syntax in config_family_handler.h). Parsed and checked
// at start-up; evaluated per event against the handler's field references.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spans/handlers/family_fields.h"

namespace bto {

enum class Op : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
enum class LiteralKind : uint8_t { kInt, kDouble, kString, kBool };

struct ParsedCondition {
  std::string field;
  Op op = Op::kEq;
  LiteralKind kind = LiteralKind::kInt;
  int64_t int_value = 0;
  double double_value = 0;
  bool bool_value = false;
  std::string string_value;
};

// OR of AND groups.
using ParsedRule = std::vector<std::vector<ParsedCondition>>;

// Returns "" or the problem.
std::string parse_rule(std::string_view text, ParsedRule& out);

// A compiled condition: the field as a reference into the handler's refs.
struct Condition {
  int ref = 0;
  ParsedCondition test;
};

// All conditions must hold.
struct RuleGroup {
  std::vector<Condition> all;
};

enum class GroupResult : uint8_t { kHolds, kFails, kFieldMissing };

// Conditions are checked in order up to the first that fails; a condition on
// a field with no value fails with kFieldMissing and `missing` set to it.
GroupResult evaluate(const RuleGroup& group, const FieldSource& fields, const FieldRef*& missing) noexcept;

}  // namespace bto

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

// The first group whose conditions all hold (checked in order, each group up
// to its first failing condition), or nullptr. A condition on a field with no
// value fails; when `missing` is not null it counts those, except on fields
// explicitly dropped unless `count_dropped`. One call per event: the groups
// loop here, next to the comparisons.
const RuleGroup* first_match(const std::vector<RuleGroup>& groups, const FieldSource& fields, uint64_t* missing,
                             bool count_dropped) noexcept;

}  // namespace bto

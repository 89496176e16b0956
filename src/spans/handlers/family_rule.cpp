#include "spans/handlers/family_rule.h"

#include <charconv>
#include <fmt/format.h>

#include "spans/handlers/config_family_handler.h"
#include "spans/handlers/field_util.h"

namespace bto {
namespace {

using handler_util::as_double;
using handler_util::as_int;
using handler_util::to_bool;

class RuleParser {
 public:
  explicit RuleParser(std::string_view text) : text_(text) {}

  std::string parse(ParsedRule& out) {
    out.clear();
    skip_spaces();
    if (pos_ == text_.size()) return "empty rule";
    out.emplace_back();
    while (true) {
      ParsedCondition condition;
      if (std::string problem = condition_at(condition); !problem.empty()) return problem;
      out.back().push_back(std::move(condition));
      skip_spaces();
      if (pos_ == text_.size()) return "";
      if (text_.substr(pos_, 2) == "&&") {
        pos_ += 2;
      } else if (text_.substr(pos_, 2) == "||") {
        pos_ += 2;
        out.emplace_back();
      } else {
        return fmt::format("expected && or || at offset {}, found '{}'", pos_, text_.substr(pos_, 8));
      }
    }
  }

 private:
  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  std::string condition_at(ParsedCondition& out) {
    skip_spaces();
    const size_t field_start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
            c == '-')) {
        break;
      }
      ++pos_;
    }
    if (pos_ == field_start) {
      return fmt::format("expected a field name at offset {}", field_start);
    }
    out.field.assign(text_.substr(field_start, pos_ - field_start));
    skip_spaces();
    const std::string_view rest = text_.substr(pos_);
    if (rest.starts_with("==")) {
      out.op = Op::kEq;
      pos_ += 2;
    } else if (rest.starts_with("!=")) {
      out.op = Op::kNe;
      pos_ += 2;
    } else if (rest.starts_with("<=")) {
      out.op = Op::kLe;
      pos_ += 2;
    } else if (rest.starts_with(">=")) {
      out.op = Op::kGe;
      pos_ += 2;
    } else if (rest.starts_with("<")) {
      out.op = Op::kLt;
      pos_ += 1;
    } else if (rest.starts_with(">")) {
      out.op = Op::kGt;
      pos_ += 1;
    } else {
      return fmt::format("expected an operator (== != < <= > >=) after '{}'", out.field);
    }
    skip_spaces();
    return literal_at(out);
  }

  std::string literal_at(ParsedCondition& out) {
    if (pos_ == text_.size()) return fmt::format("expected a value after the operator on '{}'", out.field);
    const char first = text_[pos_];
    if (first == '"' || first == '\'') {
      const size_t close = text_.find(first, pos_ + 1);
      if (close == std::string_view::npos) return fmt::format("unterminated string at offset {}", pos_);
      out.kind = LiteralKind::kString;
      out.string_value.assign(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      return "";
    }
    size_t end = pos_;
    while (end < text_.size() && text_[end] != ' ' && text_[end] != '\t' && text_[end] != '&' && text_[end] != '|') {
      ++end;
    }
    const std::string_view word = text_.substr(pos_, end - pos_);
    pos_ = end;
    if (word == "true" || word == "false") {
      if (out.op != Op::kEq && out.op != Op::kNe) {
        return fmt::format("'{}' can only be compared with == or !=", word);
      }
      out.kind = LiteralKind::kBool;
      out.bool_value = word == "true";
      return "";
    }
    const char* begin = word.data();
    const char* stop = word.data() + word.size();
    if (auto [ptr, ec] = std::from_chars(begin, stop, out.int_value); ec == std::errc() && ptr == stop) {
      out.kind = LiteralKind::kInt;
      return "";
    }
    if (auto [ptr, ec] = std::from_chars(begin, stop, out.double_value); ec == std::errc() && ptr == stop) {
      out.kind = LiteralKind::kDouble;
      return "";
    }
    return fmt::format("'{}' is not a value (a number, \"text\", true or false)", word);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

template <typename T>
bool compare(Op op, const T& a, const T& b) noexcept {
  switch (op) {
    case Op::kEq:
      return a == b;
    case Op::kNe:
      return a != b;
    case Op::kLt:
      return a < b;
    case Op::kLe:
      return a <= b;
    case Op::kGt:
      return a > b;
    case Op::kGe:
      return a >= b;
  }
  return false;
}

// Numbers compare numerically across int, double, bool and numeric text;
// text only with text.
bool holds(const ParsedCondition& test, const FieldValue& value) noexcept {
  switch (test.kind) {
    case LiteralKind::kString:
      return value.type == ValueType::kString && compare(test.op, value.string_value,
                                                         std::string_view(test.string_value));
    case LiteralKind::kBool: {
      bool b = false;
      if (!to_bool(value, b)) return false;
      return compare(test.op, b, test.bool_value);
    }
    case LiteralKind::kInt: {
      int64_t i = 0;
      if (value.type != ValueType::kDouble && value.type != ValueType::kBool && as_int(value, i)) {
        return compare(test.op, i, test.int_value);
      }
      double d = 0;
      return as_double(value, d) && compare(test.op, d, static_cast<double>(test.int_value));
    }
    case LiteralKind::kDouble: {
      double d = 0;
      return as_double(value, d) && compare(test.op, d, test.double_value);
    }
  }
  return false;
}

}  // namespace

std::string parse_rule(std::string_view text, ParsedRule& out) { return RuleParser(text).parse(out); }

std::string check_status_rule(std::string_view text) {
  ParsedRule parsed;
  return parse_rule(text, parsed);
}

const RuleGroup* first_match(const std::vector<RuleGroup>& groups, const FieldSource& fields, uint64_t* missing,
                             bool count_dropped) noexcept {
  for (const RuleGroup& group : groups) {
    bool all = true;
    for (const Condition& condition : group.all) {
      FieldValue value;
      if (!fields.get(condition.ref, value)) {
        if (missing != nullptr && (count_dropped || !fields.ref(condition.ref).dropped)) ++*missing;
        all = false;
        break;
      }
      if (!holds(condition.test, value)) {
        all = false;
        break;
      }
    }
    if (all) return &group;
  }
  return nullptr;
}

}  // namespace bto

// A family declared in the config file. Everything is compiled at start-up
// (templates into segments, rules into comparisons, field names into refs);
// per event the handler only compares keys and appends into pooled strings.
//
// Which values a template or rule sees: on the start event, that event's
// fields; on the end (or single) event, the end's fields first, then the
// attributes the start left on the span (renamed names are followed, dropped
// fields are gone). The span name is rendered at start and again at the end
// only when the end carries a field the start lacked.

#include "spans/handlers/config_family_handler.h"

#include <array>
#include <charconv>
#include <cmath>
#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "spans/handlers/field_util.h"

#include "spans/route_normalizer.h"

namespace bto {
namespace {

using handler_util::as_int;
using handler_util::is_reserved;


// ---- templates -------------------------------------------------------------

enum class Filter : uint8_t { kRoute, kUpper, kLower, kFirstWord };
constexpr size_t kMaxFilters = 4;

// Applied left to right: {sql|first_word|upper}.
struct FilterChain {
  std::array<Filter, kMaxFilters> items{};
  uint8_t size = 0;
};

struct Segment {
  std::string literal;  // used when ref < 0
  int ref = -1;         // index into the handler's refs
  FilterChain filters;
};

struct ParsedPlaceholder {
  std::string name;
  FilterChain filters;
};

struct ParsedTemplate {
  // Literal segments carry text; placeholders carry a name to resolve.
  struct Part {
    std::string literal;
    bool placeholder = false;
    ParsedPlaceholder field;
  };
  std::vector<Part> parts;
};

bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Returns "" or the problem.
std::string parse_template(std::string_view text, ParsedTemplate& out) {
  out.parts.clear();
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      i += 2;
      continue;
    }
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal.push_back('}');
        i += 2;
        continue;
      }
      return fmt::format("unmatched '}}' at offset {} (write '}}}}' for a literal brace)", i);
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 1);
    if (close == std::string_view::npos) {
      return fmt::format("unclosed '{{' at offset {} (write '{{{{' for a literal brace)", i);
    }
    const std::string_view inside = text.substr(i + 1, close - i - 1);
    if (inside.find('{') != std::string_view::npos) {
      return fmt::format("unclosed '{{' at offset {} (write '{{{{' for a literal brace)", i);
    }
    const size_t bar = inside.find('|');
    const std::string_view name = trim(inside.substr(0, bar));
    if (name.empty()) return fmt::format("empty placeholder at offset {}", i);
    if (!valid_field_name(name)) {
      return fmt::format("'{}' is not a field name (letters, digits, '_', '.', '-')", name);
    }
    FilterChain filters;
    size_t next = bar;
    while (next != std::string_view::npos) {
      const size_t following = inside.find('|', next + 1);
      const std::string_view filter_name = trim(inside.substr(next + 1, following == std::string_view::npos
                                                                             ? std::string_view::npos
                                                                             : following - next - 1));
      Filter filter = Filter::kRoute;
      if (filter_name == "route") {
        filter = Filter::kRoute;
      } else if (filter_name == "upper") {
        filter = Filter::kUpper;
      } else if (filter_name == "lower") {
        filter = Filter::kLower;
      } else if (filter_name == "first_word") {
        filter = Filter::kFirstWord;
      } else {
        return fmt::format("unknown filter '{}' in '{{{}}}' (known: route, upper, lower, first_word)", filter_name,
                           inside);
      }
      if (filters.size == kMaxFilters) return fmt::format("more than {} filters in '{{{}}}'", kMaxFilters, inside);
      filters.items[filters.size++] = filter;
      next = following;
    }
    if (!literal.empty()) {
      out.parts.push_back({std::move(literal), false, {}});
      literal.clear();
    }
    out.parts.push_back({"", true, {std::string(name), filters}});
    i = close + 1;
  }
  if (!literal.empty()) out.parts.push_back({std::move(literal), false, {}});
  return "";
}

// ---- rules -----------------------------------------------------------------

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

// ---- values ----------------------------------------------------------------

// Appends a value's text without allocating beyond `out`'s capacity.
void append_value(std::string& out, const FieldValue& value) {
  char buffer[40];
  switch (value.type) {
    case ValueType::kString:
      out.append(value.string_value);
      return;
    case ValueType::kBool:
      out.append(value.bool_value ? "true" : "false");
      return;
    case ValueType::kInt: {
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, value.int_value);
      out.append(buffer, result.ptr);
      return;
    }
    case ValueType::kDouble: {
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, value.double_value);
      out.append(buffer, result.ptr);
      return;
    }
  }
}

bool as_double(const FieldValue& value, double& out) noexcept {
  switch (value.type) {
    case ValueType::kInt:
      out = static_cast<double>(value.int_value);
      return true;
    case ValueType::kDouble:
      out = value.double_value;
      return true;
    case ValueType::kBool:
      out = value.bool_value ? 1 : 0;
      return true;
    case ValueType::kString: {
      const std::string_view s = value.string_value;
      if (s.empty()) return false;
      const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc() && ptr == s.data() + s.size();
    }
  }
  return false;
}

bool to_int(const FieldValue& value, int64_t& out) noexcept {
  if (value.type == ValueType::kBool) {
    out = value.bool_value ? 1 : 0;
    return true;
  }
  if (as_int(value, out)) return true;
  double d = 0;
  // A fractional number is cut toward zero, as a C cast would.
  if (as_double(value, d) && std::isfinite(d) && std::fabs(d) < 9.2e18) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

bool to_bool(const FieldValue& value, bool& out) noexcept {
  switch (value.type) {
    case ValueType::kBool:
      out = value.bool_value;
      return true;
    case ValueType::kInt:
      out = value.int_value != 0;
      return true;
    case ValueType::kDouble:
      out = value.double_value != 0;
      return true;
    case ValueType::kString: {
      const std::string_view s = value.string_value;
      if (s == "1" || equals_ignoring_case(s, "true") || equals_ignoring_case(s, "yes")) {
        out = true;
        return true;
      }
      if (s == "0" || equals_ignoring_case(s, "false") || equals_ignoring_case(s, "no")) {
        out = false;
        return true;
      }
      return false;
    }
  }
  return false;
}

// An attribute read back as a field value (views into the attribute).
FieldValue value_of(const Attribute& attribute) noexcept {
  FieldValue value;
  switch (attribute.type) {
    case AttrType::kString:
      value.type = ValueType::kString;
      value.string_value = attribute.string_value;
      break;
    case AttrType::kBool:
      value.type = ValueType::kBool;
      value.bool_value = attribute.bool_value;
      break;
    case AttrType::kInt:
      value.type = ValueType::kInt;
      value.int_value = attribute.int_value;
      break;
    case AttrType::kDouble:
      value.type = ValueType::kDouble;
      value.double_value = attribute.double_value;
      break;
  }
  return value;
}

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

// ---- the handler -------------------------------------------------------------

// A field name referenced by a template or rule, resolved at start-up.
struct FieldRef {
  std::string field;      // event field key
  std::string attribute;  // where the start leaves it on the span; empty = not kept
  bool dropped = false;   // explicitly dropped (or unmapped with drop_unmapped)
};

struct Condition {
  int ref = 0;
  ParsedCondition test;
};

struct RuleGroup {
  std::vector<Condition> all;
};

struct Mapping {
  std::string field;
  std::string name;  // attribute name
  FamilyValueType type = FamilyValueType::kAsIs;
  bool drop = false;
};

class ConfigFamilyHandler final : public EventHandler {
 public:
  ConfigFamilyHandler(const FamilySpec& spec, FamilyStats& stats)
      : family_(spec.name),
        kind_(spec.kind),
        key_fields_(spec.key_fields),
        drop_unmapped_(spec.drop_unmapped),
        stats_(stats) {
    if (family_.empty()) throw StartupError("family: empty name");
    for (const FamilyAttribute& attribute : spec.attributes) {
      Mapping mapping;
      mapping.field = attribute.field;
      mapping.name = attribute.name.empty() ? attribute.field : attribute.name;
      mapping.type = attribute.type;
      mapping.drop = attribute.drop;
      mappings_.push_back(std::move(mapping));
    }
    if (spec.span_name.empty()) {
      name_segments_.push_back({family_, -1, {}});
    } else {
      compile_template(spec.span_name, name_segments_, "span_name");
    }
    has_message_ = !spec.status_message.empty();
    if (has_message_) compile_template(spec.status_message, message_segments_, "status.message");
    for (const std::string& text : spec.error_when) {
      ParsedRule parsed;
      if (std::string problem = RuleParser(text).parse(parsed); !problem.empty()) {
        throw StartupError(fmt::format("family '{}': status rule '{}': {}", family_, text, problem));
      }
      for (auto& group : parsed) {
        RuleGroup compiled;
        for (ParsedCondition& condition : group) {
          const int ref = ref_for(condition.field);
          compiled.all.push_back({ref, std::move(condition)});
        }
        rules_.push_back(std::move(compiled));
      }
    }
    // Refs whose value the name needs: checked at the end for a re-render.
    for (const Segment& segment : name_segments_) {
      if (segment.ref >= 0) name_refs_.push_back(segment.ref);
    }
  }

  bool can_handle(std::string_view family) const override { return family == family_; }

  std::span<const std::string> key_fields() const noexcept override { return key_fields_; }

  void on_start(const Event& event, SpanRecord& span) override {
    span.kind = kind_;
    apply_fields(event, span);
    span.name.clear();
    render(name_segments_, event, nullptr, span.name);
    finish_name(span.name);
    apply_status(event, nullptr, span, false);
  }

  void on_end(const Event& event, SpanRecord& span) override {
    const bool single = event.phase == EventPhase::kSingle;
    bool rerender = false;
    if (!single) {
      for (int ref : name_refs_) {
        const FieldRef& field = refs_[static_cast<size_t>(ref)];
        if (event.find(field.field) == nullptr) continue;
        if (field.attribute.empty() || span.attributes.find(field.attribute) == nullptr) rerender = true;
      }
    }
    // A single event went through on_start already: its fields are applied.
    if (!single) apply_fields(event, span);
    if (rerender) {
      span.name.clear();
      render(name_segments_, event, &span.attributes, span.name);
      finish_name(span.name);
    }
    // Counted once per span, here: a start may lack what its end carries.
    for (int ref : name_refs_) {
      FieldValue value;
      const FieldRef& field = refs_[static_cast<size_t>(ref)];
      if (!lookup(field, event, &span.attributes, value) && (single || !field.dropped)) {
        stats_.template_fields_missing.fetch_add(1, std::memory_order_relaxed);
        missing_log_.warn("family {}: no field {} for the span name: rendered as empty", quote_bytes(family_),
                          quote_bytes(field.field));
      }
    }
    apply_status(event, &span.attributes, span, true);
  }

 private:
  int ref_for(std::string_view name) {
    // The name may be an event field or the attribute a field is renamed to.
    std::string_view field = name;
    const Mapping* mapping = find_mapping(name);
    if (mapping == nullptr) {
      for (const Mapping& candidate : mappings_) {
        if (!candidate.drop && candidate.name == name) {
          mapping = &candidate;
          field = candidate.field;
          break;
        }
      }
    }
    for (size_t i = 0; i < refs_.size(); ++i) {
      if (refs_[i].field == field) return static_cast<int>(i);
    }
    FieldRef ref;
    ref.field.assign(field);
    if (mapping != nullptr) {
      ref.dropped = mapping->drop;
      if (!mapping->drop) ref.attribute = mapping->name;
    } else if (drop_unmapped_ || is_reserved(field)) {
      ref.dropped = true;
    } else {
      ref.attribute = field == "tid" ? std::string("thread.id") : std::string(field);
    }
    refs_.push_back(std::move(ref));
    return static_cast<int>(refs_.size() - 1);
  }

  void compile_template(std::string_view text, std::vector<Segment>& out, std::string_view what) {
    ParsedTemplate parsed;
    if (std::string problem = parse_template(text, parsed); !problem.empty()) {
      throw StartupError(fmt::format("family '{}': {} '{}': {}", family_, what, text, problem));
    }
    for (ParsedTemplate::Part& part : parsed.parts) {
      Segment segment;
      if (part.placeholder) {
        segment.ref = ref_for(part.field.name);
        segment.filters = part.field.filters;
      } else {
        segment.literal = std::move(part.literal);
      }
      out.push_back(std::move(segment));
    }
  }

  const Mapping* find_mapping(std::string_view field) const noexcept {
    for (const Mapping& mapping : mappings_) {
      if (mapping.field == field) return &mapping;
    }
    return nullptr;
  }

  // The event's own field first, then what the start left on the span.
  static bool lookup(const FieldRef& ref, const Event& event, const AttributeList* attributes,
                     FieldValue& out) noexcept {
    if (const FieldValue* value = event.find(ref.field)) {
      out = *value;
      return true;
    }
    if (attributes != nullptr && !ref.attribute.empty()) {
      if (const Attribute* attribute = attributes->find(ref.attribute)) {
        out = value_of(*attribute);
        return true;
      }
    }
    return false;
  }

  void render(const std::vector<Segment>& segments, const Event& event, const AttributeList* attributes,
              std::string& out) {
    for (const Segment& segment : segments) {
      if (segment.ref < 0) {
        out.append(segment.literal);
        continue;
      }
      FieldValue value;
      if (!lookup(refs_[static_cast<size_t>(segment.ref)], event, attributes, value)) continue;
      const size_t from = out.size();
      append_value(out, value);
      for (uint8_t i = 0; i < segment.filters.size; ++i) apply_filter(segment.filters.items[i], out, from);
    }
  }

  static void trim_spaces(std::string& text) noexcept {
    size_t end = text.size();
    while (end > 0 && text[end - 1] == ' ') --end;
    text.resize(end);
    size_t begin = 0;
    while (begin < text.size() && text[begin] == ' ') ++begin;
    text.erase(0, begin);
  }

  // Rewrites out[from..] in place (route: through the reused scratch strings).
  void apply_filter(Filter filter, std::string& out, size_t from) {
    switch (filter) {
      case Filter::kRoute:
        route_input_.assign(out, from);
        normalize_route(route_input_, route_scratch_);
        out.resize(from);
        out.append(route_scratch_);
        return;
      case Filter::kUpper:
        for (size_t i = from; i < out.size(); ++i) {
          if (out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 'a' + 'A');
        }
        return;
      case Filter::kLower:
        for (size_t i = from; i < out.size(); ++i) {
          if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] - 'A' + 'a');
        }
        return;
      case Filter::kFirstWord: {
        // A word: letters, digits, '_' ("SELECT*FROM t" -> "SELECT").
        const auto word = [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        };
        size_t begin = from;
        while (begin < out.size() && !word(out[begin])) ++begin;
        size_t end = begin;
        while (end < out.size() && word(out[end])) ++end;
        out.resize(end);
        out.erase(from, begin - from);
        return;
      }
    }
  }

  // Spaces left by missing placeholders are trimmed; nothing left: the family name.
  void finish_name(std::string& name) const {
    trim_spaces(name);
    if (name.empty()) name.assign(family_);
  }

  void apply_fields(const Event& event, SpanRecord& span) {
    for (const EventField& field : event.fields) {
      if (const Mapping* mapping = find_mapping(field.key)) {
        if (!mapping->drop) set_converted(span.attributes, mapping->name, mapping->type, field.value);
        continue;
      }
      if (drop_unmapped_ || is_reserved(field.key)) continue;
      handler_util::set_attribute(span.attributes, field.key == "tid" ? std::string_view("thread.id") : field.key,
                                  field.value);
    }
  }

  void set_converted(AttributeList& attributes, std::string_view key, FamilyValueType type, const FieldValue& value) {
    bool converted = true;
    switch (type) {
      case FamilyValueType::kAsIs:
        break;
      case FamilyValueType::kString:
        if (value.type != ValueType::kString) {
          text_scratch_.clear();
          append_value(text_scratch_, value);
          attributes.set_string(key, text_scratch_);
          return;
        }
        break;
      case FamilyValueType::kInt: {
        int64_t out = 0;
        if ((converted = to_int(value, out))) {
          attributes.set_int(key, out);
          return;
        }
        break;
      }
      case FamilyValueType::kDouble: {
        double out = 0;
        if ((converted = as_double(value, out))) {
          attributes.set_double(key, out);
          return;
        }
        break;
      }
      case FamilyValueType::kBool: {
        bool out = false;
        if ((converted = to_bool(value, out))) {
          attributes.set_bool(key, out);
          return;
        }
        break;
      }
    }
    if (!converted) {
      stats_.conversions_failed.fetch_add(1, std::memory_order_relaxed);
      conversion_log_.warn("family {}: attribute {} could not be converted, kept as is", quote_bytes(family_),
                           quote_bytes(key));
    }
    handler_util::set_attribute(attributes, key, value);
  }

  static bool holds(const ParsedCondition& test, const FieldValue& value) noexcept {
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

  void apply_status(const Event& event, const AttributeList* attributes, SpanRecord& span, bool count_missing) {
    if (rules_.empty()) {
      default_status(event, span);
      return;
    }
    for (const RuleGroup& group : rules_) {
      bool all = true;
      for (const Condition& condition : group.all) {
        FieldValue value;
        const FieldRef& ref = refs_[static_cast<size_t>(condition.ref)];
        if (!lookup(ref, event, attributes, value)) {
          // Counted, not logged: an error field that only failures carry is normal.
          if (count_missing && (event.phase == EventPhase::kSingle || !ref.dropped)) {
            stats_.rule_fields_missing.fetch_add(1, std::memory_order_relaxed);
          }
          all = false;
          break;
        }
        if (!holds(condition.test, value)) {
          all = false;
          break;
        }
      }
      if (!all) continue;
      span.status = StatusCode::kError;
      span.status_message.clear();
      if (has_message_) {
        render(message_segments_, event, attributes, span.status_message);
        trim_spaces(span.status_message);
      } else {
        const Condition& first = group.all.front();
        const FieldRef& ref = refs_[static_cast<size_t>(first.ref)];
        FieldValue value;
        span.status_message.append(ref.field);
        span.status_message.push_back('=');
        if (lookup(ref, event, attributes, value)) append_value(span.status_message, value);
      }
      return;
    }
  }

  // As the built-in handlers: a non-zero error/errno (or a non-empty error text).
  static void default_status(const Event& event, SpanRecord& span) {
    for (const EventField& field : event.fields) {
      if (field.key != "error" && field.key != "errno") continue;
      int64_t code = 0;
      if (field.value.type == ValueType::kBool) {
        if (!field.value.bool_value) continue;
        span.status = StatusCode::kError;
        span.status_message.assign(field.key);
      } else if (as_int(field.value, code)) {
        if (code != 0) handler_util::set_error(span, field.key == "errno" ? "errno " : "error ", code);
      } else if (field.value.type == ValueType::kString && !field.value.string_value.empty()) {
        span.status = StatusCode::kError;
        span.status_message.assign(field.value.string_value);
      }
    }
  }

  const std::string family_;
  const SpanKind kind_;
  const std::vector<std::string> key_fields_;
  const bool drop_unmapped_;
  std::vector<Mapping> mappings_;
  std::vector<FieldRef> refs_;
  std::vector<Segment> name_segments_;
  std::vector<int> name_refs_;
  std::vector<Segment> message_segments_;
  bool has_message_ = false;
  std::vector<RuleGroup> rules_;
  FamilyStats& stats_;
  // Reader-thread scratch, kept for its capacity.
  std::string route_input_;
  std::string route_scratch_;
  std::string text_scratch_;
  RateLimitedLog missing_log_;
  RateLimitedLog conversion_log_;
};

}  // namespace

std::string check_family_template(std::string_view text) {
  ParsedTemplate parsed;
  return parse_template(text, parsed);
}

std::string check_status_rule(std::string_view text) {
  ParsedRule parsed;
  return RuleParser(text).parse(parsed);
}

std::unique_ptr<EventHandler> create_config_family_handler(const FamilySpec& spec, FamilyStats& stats) {
  return std::make_unique<ConfigFamilyHandler>(spec, stats);
}

void register_config_families(HandlerRegistry& registry, const std::vector<FamilySpec>& specs, FamilyStats& stats) {
  for (const FamilySpec& spec : specs) registry.add(create_config_family_handler(spec, stats));
}

}  // namespace bto

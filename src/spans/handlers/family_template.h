#pragma once
// Private to spans/handlers/: the template language of declared families
// (span_name, status.message; syntax in config_family_handler.h). Parsed and
// checked at start-up into segments; rendered per event without allocating
// beyond the output's capacity.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spans/handlers/family_fields.h"

namespace bto {

enum class Filter : uint8_t { kRoute, kUpper, kLower, kFirstWord };
constexpr size_t kMaxFilters = 4;

// Applied left to right: {sql|first_word|upper}.
struct FilterChain {
  std::array<Filter, kMaxFilters> items{};
  uint8_t size = 0;
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

// Returns "" or the problem.
std::string parse_template(std::string_view text, ParsedTemplate& out);

// A compiled template part: literal text, or a field reference with filters.
struct Segment {
  std::string literal;  // used when ref < 0
  int ref = -1;         // index into the handler's refs
  FilterChain filters;
};

// Renders compiled templates; keeps the route filter's scratch strings for
// their capacity (reader thread only).
class TemplateRenderer {
 public:
  // Appends the rendered text to `out`; a field with no value renders as "".
  void render(const std::vector<Segment>& segments, const FieldSource& fields, std::string& out);

 private:
  // Rewrites out[from..] in place.
  void apply_filter(Filter filter, std::string& out, size_t from);

  std::string route_input_;
  std::string route_scratch_;
};

// Spaces at both ends removed (left by placeholders rendered as "").
void trim_spaces(std::string& text) noexcept;

}  // namespace bto

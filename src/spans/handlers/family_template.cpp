#include "spans/handlers/family_template.h"

#include <fmt/format.h>

#include "spans/handlers/config_family_handler.h"
#include "spans/route_normalizer.h"

namespace bto {
namespace {

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

// The filters after the name in a placeholder's `inside` text, from the
// first '|' at `bar` (npos: none). Returns "" or the problem.
std::string parse_filters(std::string_view inside, size_t bar, FilterChain& filters) {
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
  return "";
}

}  // namespace

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
    if (std::string problem = parse_filters(inside, bar, filters); !problem.empty()) return problem;
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

std::string check_family_template(std::string_view text) {
  ParsedTemplate parsed;
  return parse_template(text, parsed);
}

void TemplateRenderer::render(const std::vector<Segment>& segments, const FieldSource& fields, std::string& out) {
  for (const Segment& segment : segments) {
    if (segment.ref < 0) {
      out.append(segment.literal);
      continue;
    }
    FieldValue value;
    if (!fields.get(segment.ref, value)) continue;
    const size_t from = out.size();
    handler_util::append_value(out, value);
    for (uint8_t i = 0; i < segment.filters.size; ++i) apply_filter(segment.filters.items[i], out, from);
  }
}

void TemplateRenderer::apply_filter(Filter filter, std::string& out, size_t from) {
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

void trim_spaces(std::string& text) noexcept {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == ' ') --end;
  text.resize(end);
  size_t begin = 0;
  while (begin < text.size() && text[begin] == ' ') ++begin;
  text.erase(0, begin);
}

}  // namespace bto

#include "spans/route_normalizer.h"

namespace bto {
namespace {

constexpr std::string_view kPlaceholder = "{id}";
constexpr size_t kMinHexId = 8;
constexpr size_t kMinTokenId = 16;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_letter(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool all_of(std::string_view s, bool (*pred)(char) noexcept) noexcept {
  for (const char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool is_uuid(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

bool is_token_id(std::string_view s) noexcept {
  if (s.size() < kMinTokenId) return false;
  bool digit = false;
  bool letter = false;
  for (const char c : s) {
    if (is_digit(c)) {
      digit = true;
    } else if (is_letter(c)) {
      letter = true;
    } else if (c != '-' && c != '_' && c != '.' && c != '~') {
      return false;
    }
  }
  return digit && letter;
}

bool is_id(std::string_view segment) noexcept {
  if (segment.empty()) return false;
  if (all_of(segment, is_digit)) return true;
  if (segment.size() >= kMinHexId && all_of(segment, is_hex)) return true;
  return is_uuid(segment) || is_token_id(segment);
}

}  // namespace

void normalize_route(std::string_view path, std::string& out) {
  out.clear();
  // An absolute URL (legacy http.url, url.full): keep only its path.
  if (const size_t scheme = path.find("://");
      scheme != std::string_view::npos && path.find_first_of("/?#") > scheme) {
    const size_t path_start = path.find_first_of("/?#", scheme + 3);
    path = path_start == std::string_view::npos ? std::string_view{} : path.substr(path_start);
  }
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) {
    out.push_back('/');
    return;
  }
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(start, slash - start);
    out.append(is_id(segment) ? kPlaceholder : segment);
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
}

}  // namespace bto

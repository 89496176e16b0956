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
  // An absolute URL (legacy http.url, url.full): keep only its path. "://"
  // counts only before the first '/', '?' or '#'.
  for (size_t i = 0; i < path.size() && path[i] != '/' && path[i] != '?' && path[i] != '#'; ++i) {
    if (path[i] == ':' && path.substr(i, 3) == "://") {
      const size_t path_start = path.find_first_of("/?#", i + 3);
      path = path_start == std::string_view::npos ? std::string_view{} : path.substr(path_start);
      break;
    }
  }
  // One pass: each segment is judged and copied as its end is found; the
  // query or fragment ends the path.
  size_t start = 0;
  size_t i = 0;
  for (;; ++i) {
    const bool end = i == path.size() || path[i] == '?' || path[i] == '#';
    if (!end && path[i] != '/') continue;
    const std::string_view segment = path.substr(start, i - start);
    out.append(is_id(segment) ? kPlaceholder : segment);
    if (end) break;
    out.push_back('/');
    start = i + 1;
  }
  if (out.empty()) out.push_back('/');
}

}  // namespace bto

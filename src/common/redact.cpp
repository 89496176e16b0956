#include "common/redact.h"

#include <array>

namespace bto {
namespace {

constexpr std::array<std::string_view, 17> kSecretWords = {
    "password", "passwd",     "passphrase", "secret",    "token",      "apikey",     "api_key",     "accesskey",
    "access_key", "privatekey", "private_key", "credential", "cookie", "sessionid", "session_id", "signature",
    "bearer"};
constexpr std::array<std::string_view, 6> kSecretSegments = {"pass", "pwd", "auth", "authorization", "key", "sig"};

char normalized(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  if (c == '-' || c == '.') return '_';
  return c;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

std::string_view without_dashes(std::string_view arg) {
  while (!arg.empty() && arg.front() == '-') arg.remove_prefix(1);
  return arg;
}

bool is_scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
         c == '.';
}

bool ends_url(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '>'; }

// Query "a=1&token=x": secret-looking parameters get kRedacted as value.
void append_redacted_query(std::string_view query, std::string& out) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view member = query.substr(start, end - start);
    const size_t eq = member.find('=');
    if (eq != std::string_view::npos && is_secret_name(member.substr(0, eq))) {
      out.append(member.substr(0, eq + 1)).append(kRedacted);
    } else {
      out.append(member);
    }
    if (end < query.size()) out.push_back('&');
    start = end + 1;
  }
}

// Every "scheme://userinfo@host/path?query" inside `arg`.
std::string redact_urls(std::string_view arg) {
  std::string out;
  size_t done = 0;
  size_t search = 0;
  for (;;) {
    const size_t sep = arg.find("://", search);
    if (sep == std::string_view::npos) break;
    size_t scheme = sep;
    while (scheme > 0 && is_scheme_char(arg[scheme - 1])) --scheme;
    const size_t authority = sep + 3;
    size_t url_end = authority;
    while (url_end < arg.size() && !ends_url(arg[url_end])) ++url_end;
    if (scheme == sep) {  // "://" without a scheme: not a URL
      search = authority;
      continue;
    }
    const std::string_view url = arg.substr(authority, url_end - authority);
    out.append(arg.substr(done, authority - done));
    const size_t authority_end = std::min(url.find_first_of("/?#"), url.size());
    const std::string_view host_part = url.substr(0, authority_end);
    const size_t at = host_part.rfind('@');
    if (at != std::string_view::npos) {
      out.append(host_part.substr(0, at).find(':') != std::string_view::npos ? "REDACTED:REDACTED" : kRedacted);
      out.append(host_part.substr(at));
    } else {
      out.append(host_part);
    }
    const std::string_view rest = url.substr(authority_end);
    const size_t query = rest.find('?');
    if (query == std::string_view::npos) {
      out.append(rest);
    } else {
      out.append(rest.substr(0, query + 1));
      const std::string_view after = rest.substr(query + 1);
      const size_t fragment = std::min(after.find('#'), after.size());
      append_redacted_query(after.substr(0, fragment), out);
      out.append(after.substr(fragment));
    }
    done = url_end;
    search = url_end;
  }
  out.append(arg.substr(done));
  return out;
}

// "--name" (no '=') naming a secret: its value is the next argument.
bool takes_secret_value(std::string_view arg) {
  return arg.size() > 1 && arg.front() == '-' && arg.find('=') == std::string_view::npos &&
         is_secret_name(without_dashes(arg));
}

}  // namespace

bool is_secret_name(std::string_view name) {
  std::string lower;
  lower.reserve(name.size());
  for (const char c : name) lower.push_back(normalized(c));
  for (const std::string_view word : kSecretWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  size_t start = 0;
  while (start <= lower.size()) {
    size_t end = lower.find('_', start);
    if (end == std::string::npos) end = lower.size();
    const std::string_view segment = std::string_view(lower).substr(start, end - start);
    for (const std::string_view word : kSecretSegments) {
      if (segment == word) return true;
    }
    start = end + 1;
  }
  return false;
}

std::string redact_argument(std::string_view arg) {
  // NAME=VALUE, --NAME=VALUE
  const size_t eq = arg.find('=');
  if (eq != std::string_view::npos) {
    const std::string_view name = without_dashes(arg.substr(0, eq));
    if (is_token(name) && is_secret_name(name)) return std::string(arg.substr(0, eq + 1)).append(kRedacted);
  }
  // "NAME: VALUE" (an HTTP header given to curl -H and the like)
  const size_t colon = arg.find(':');
  if (colon != std::string_view::npos && arg.substr(colon, 3) != "://") {
    const std::string_view name = arg.substr(0, colon);
    if (is_token(name) && is_secret_name(name)) {
      return std::string(name).append(": ").append(kRedacted);
    }
  }
  return redact_urls(arg);
}

std::vector<std::string> redact_command_args(std::span<const std::string> args) {
  std::vector<std::string> out;
  out.reserve(args.size());
  bool value_is_secret = false;
  for (const std::string& arg : args) {
    if (value_is_secret && !arg.starts_with("--")) {
      out.emplace_back(kRedacted);
      value_is_secret = false;
      continue;
    }
    out.push_back(redact_argument(arg));
    value_is_secret = takes_secret_value(arg);
  }
  return out;
}

std::string redact_command_line(std::span<const std::string> args) {
  std::string line;
  for (const std::string& arg : redact_command_args(args)) {
    if (!line.empty()) line.push_back(' ');
    line += arg;
  }
  return line;
}

}  // namespace bto

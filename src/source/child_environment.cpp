#include "source/child_environment.h"

#include <algorithm>

namespace bto {
namespace {

constexpr std::string_view kOtlpPrefix = "OTEL_EXPORTER_OTLP_";

// "scheme://user:pw@host/..." or "...?token=...": a URL that holds a secret.
bool url_carries_credentials(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  return url.substr(authority, authority_end - authority).find('@') != std::string_view::npos ||
         url.find('?') != std::string_view::npos;
}

}  // namespace

bool is_exporter_credential(std::string_view entry) {
  const size_t eq = entry.find('=');
  const std::string_view name = entry.substr(0, eq);
  const std::string_view value = eq == std::string_view::npos ? std::string_view{} : entry.substr(eq + 1);
  if (name == "OTEL_ENDPOINT") return url_carries_credentials(value);
  if (!name.starts_with(kOtlpPrefix)) return false;
  if (name.ends_with("HEADERS") || name.ends_with("CLIENT_KEY") || name.ends_with("CLIENT_CERTIFICATE")) {
    return true;
  }
  return name.ends_with("ENDPOINT") && url_carries_credentials(value);
}

std::vector<std::string> child_environment(char* const* environment) {
  std::vector<std::string> out;
  for (char* const* entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
    if (!is_exporter_credential(*entry)) out.emplace_back(*entry);
  }
  return out;
}

}  // namespace bto

#pragma once
// The environment of every process we start (bpftrace, and through it the
// command given with -c): ours minus our exporter credentials. bpftrace never
// needs them, and the traced command is not trusted with them (issue 17.3).
//
// Removed (names are case-sensitive, as the OTel SDKs read them):
//   OTEL_EXPORTER_OTLP_[<SIGNAL>_]HEADERS               tokens, API keys
//   OTEL_EXPORTER_OTLP_[<SIGNAL>_]CLIENT_KEY            mTLS identity (path to the key)
//   OTEL_EXPORTER_OTLP_[<SIGNAL>_]CLIENT_CERTIFICATE
//   OTEL_EXPORTER_OTLP_[<SIGNAL>_]ENDPOINT, OTEL_ENDPOINT   only when the URL carries
//                                                        user information or a query
// Everything else (PATH, LANG, the target's own settings) is passed on.

#include <string>
#include <string_view>
#include <vector>

namespace bto {

// `entry` is "NAME=VALUE".
bool is_exporter_credential(std::string_view entry);

// `environment`: a NULL-terminated array like `environ`.
std::vector<std::string> child_environment(char* const* environment);

}  // namespace bto

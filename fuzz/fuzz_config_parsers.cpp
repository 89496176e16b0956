// The settings a user (or an orchestrator template) types: OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_HEADERS, the endpoint URL helper, durations, numbers and
// booleans, and the whole load_config() with a fuzzed environment. load_config
// may reject a value only with StartupError; anything else escaping is a bug.
// Checked: the documented postconditions of each parser, and that no header
// value ever appears in --print-config output (secrets are masked).

#include <fuzzer/FuzzedDataProvider.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/errors.h"
#include "config/app_options.h"
#include "config/value_parsers.h"
#include "export/otlp_exporter.h"
#include "export/resource.h"
#include "fuzz_support.h"

namespace {

using namespace bto;

// Every variable the configuration reads (src/config/*.cpp), plus the span
// limit and sampler names being added. BTO_CONFIG is left out: it names a file to read.
const char* const kEnvNames[] = {
    "BPFTRACE_PATH", "BPF_SCRIPT", "BTO_INSECURE_SKIP_VERIFY", "BTO_MAX_CONCURRENT_EXPORTS",
    "BTO_MAX_OPEN_SPANS", "BTO_RESTART", "BTO_SPAN_TIMEOUT", "EXPORTER_MODE", "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_ENDPOINT",
    "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_LOG_LEVEL", "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SEMCONV_STABILITY_OPT_IN", "OTEL_SERVICE_NAME", "OTEL_TRACES_EXPORTER", "SERVICE_NAME", "TARGET_PID",
    "TRACER_NAME", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
};
constexpr size_t kEnvCount = sizeof(kEnvNames) / sizeof(kEnvNames[0]);

bool is_token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

void check_key_values(const KeyValueParse& parsed) {
  if (!parsed.ok()) BTO_FUZZ_CHECK(parsed.pairs.empty());
  for (const auto& [key, value] : parsed.pairs) BTO_FUZZ_CHECK(!key.empty());
}

void parsers(FuzzedDataProvider& in) {
  const std::string text = in.ConsumeRandomLengthString(512);
  check_key_values(parse_resource_attributes(text));

  const KeyValueParse headers = parse_otlp_headers(text);
  check_key_values(headers);
  for (const auto& [name, value] : headers.pairs) {
    for (unsigned char c : name) BTO_FUZZ_CHECK(is_token_char(c));
    BTO_FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
  }
  // The error text must not quote a value (it may be a credential).
  if (!headers.ok()) {
    for (const auto& [name, value] : parse_resource_attributes(text).pairs) {
      if (value.size() >= 12) BTO_FUZZ_CHECK(headers.error.find(value) == std::string::npos);
    }
  }

  const std::string url = otlp_traces_url_from_base(text);
  if (!text.empty()) BTO_FUZZ_CHECK(url.size() >= std::string_view("/v1/traces").size());

  for (auto unit : {std::chrono::nanoseconds(1), std::chrono::nanoseconds(1'000'000),
                    std::chrono::nanoseconds(1'000'000'000)}) {
    if (const auto d = parse_duration(text, unit)) BTO_FUZZ_CHECK(d->count() >= 0);
  }
  (void)parse_unsigned(text);
  if (const auto b = parse_bool(text)) (void)*b;
}

void whole_config(FuzzedDataProvider& in) {
  std::map<std::string, std::string, std::less<>> env;
  const int count = in.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < count; ++i) {
    const char* name = kEnvNames[in.ConsumeIntegralInRange<size_t>(0, kEnvCount - 1)];
    env[name] = in.ConsumeRandomLengthString(256);
  }
  // A recognisable credential: it must never be printed.
  const std::string secret = "Sekr1t" + std::to_string(in.ConsumeIntegral<uint32_t>()) + "Tok3n";
  const bool with_secret = in.ConsumeBool();
  bool secret_elsewhere = false;  // the fuzzer may learn the token and put it in another value
  for (const auto& [name, value] : env) secret_elsewhere |= value.find(secret) != std::string::npos;
  const bool check_secret = with_secret && !secret_elsewhere;
  if (with_secret) env["OTEL_EXPORTER_OTLP_HEADERS"] = "authorization=Bearer%20" + secret;

  std::vector<std::string> args = {"bpftrace-otel", "--input", "/dev/null", "--print-config"};
  const EnvLookup lookup = [&env](std::string_view name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  try {
    const LoadedConfig config = load_config(args, lookup);
    const std::string printed = format_config(config);
    if (check_secret) BTO_FUZZ_CHECK(printed.find(secret) == std::string::npos);
  } catch (const StartupError& error) {
    if (check_secret) BTO_FUZZ_CHECK(std::string_view(error.what()).find(secret) == std::string_view::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    parsers(in);
  } else {
    whole_config(in);
  }
  return 0;
}

// Settings that shape the spans themselves: trace context, nesting, sampling
// and the OpenTelemetry span limits. Where OpenTelemetry defines a variable
// (OTEL_TRACES_SAMPLER, OTEL_SPAN_*_LIMIT) it is used with the standard
// precedence: the span-specific variable first, then the generic one.

#include <fmt/format.h>

#include <charconv>

#include "common/errors.h"
#include "common/log.h"
#include "config/settings.h"
#include "config/setting_values.h"
#include "config/value_parsers.h"

namespace bto {
namespace {

constexpr uint64_t kMinMaxMemory = 1ull << 20;
constexpr uint64_t kMaxMaxMemory = 1ull << 40;

// 0 disables the tail rule: say so rather than print "0s".
std::string show_optional_duration(std::chrono::nanoseconds value) {
  return value.count() == 0 ? "0 (off)" : show_duration(value);
}

struct SamplerName {
  std::string_view name;
  SamplerKind kind;
};

constexpr SamplerName kSamplers[] = {
    {"always_on", SamplerKind::kAlwaysOn},
    {"always_off", SamplerKind::kAlwaysOff},
    {"traceidratio", SamplerKind::kTraceIdRatio},
    {"parentbased_always_on", SamplerKind::kParentBasedAlwaysOn},
    {"parentbased_always_off", SamplerKind::kParentBasedAlwaysOff},
    {"parentbased_traceidratio", SamplerKind::kParentBasedTraceIdRatio},
};
constexpr std::string_view kSamplerList =
    "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or "
    "parentbased_traceidratio";

bool uses_ratio(SamplerKind kind) {
  return kind == SamplerKind::kTraceIdRatio || kind == SamplerKind::kParentBasedTraceIdRatio;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out.push_back(',');
    out += item;
  }
  return out;
}

}  // namespace

void add_trace_settings(std::vector<Setting>& s) {
  const std::string group = "Spans";
  // ---- Trace context and nesting
  s.push_back({"auto_nesting", "--auto-nesting", {"BTO_AUTO_NESTING"}, group,
               "A span starting on a thread (tid) where a span of a nesting family is open becomes its "
               "child: true or false",
               "BOOL", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.auto_nesting = bool_or_reject("spans.auto_nesting", v, src);
               },
               [](const AppOptions& o) { return show_bool(o.correlator.auto_nesting); }});
  s.push_back({"nesting_families", "--nesting-families", {"BTO_NESTING_FAMILIES"}, group,
               "Comma-separated event families whose open spans are parents for automatic nesting",
               "LIST", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 std::vector<std::string> families;
                 size_t start = 0;
                 while (start <= v.size()) {
                   size_t end = v.find(',', start);
                   if (end == std::string::npos) end = v.size();
                   std::string item = trim_spaces(std::string_view(v).substr(start, end - start));
                   if (!item.empty()) families.push_back(std::move(item));
                   start = end + 1;
                 }
                 if (families.empty()) {
                   reject("spans.nesting_families", src, v,
                          "a comma-separated list of event families, e.g. http_request,request");
                 }
                 o.correlator.nesting_families = std::move(families);
               },
               [](const AppOptions& o) { return join(o.correlator.nesting_families); }});
  s.push_back({"max_families", "--max-families", {"BTO_MAX_FAMILIES"}, group,
               "Most distinct event families accepted; events of further families are dropped and counted",
               "N", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.max_families = count_or_reject("spans.max_families", v, src, 1, 1'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.correlator.max_families); }});
  s.push_back({"max_memory", "--max-memory", {"BTO_MAX_MEMORY"}, group,
               "Bytes of span state (open spans, ends held for their start, queued spans): at the limit the "
               "oldest open span is emitted with an error, and queued spans (at most half) are dropped as "
               "when the queue is full (e.g. 64MiB, 1GiB)",
               "SIZE", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 const auto bytes = parse_size(v);
                 if (!bytes || *bytes < kMinMaxMemory || *bytes > kMaxMaxMemory) {
                   reject("spans.max_memory", src, v, "a size from 1MiB to 1TiB, such as 64MiB or 1GiB");
                 }
                 o.correlator.max_memory = *bytes;
               },
               [](const AppOptions& o) { return show_size(o.correlator.max_memory); }});
  // ---- Sampling
  s.push_back({"sampler", "--sampler", {"OTEL_TRACES_SAMPLER"}, group,
               "Head sampler: always_on, always_off, traceidratio, parentbased_always_on, "
               "parentbased_always_off, parentbased_traceidratio",
               "NAME", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 const std::string name = trim_spaces(v);
                 for (const SamplerName& entry : kSamplers) {
                   if (entry.name == name) {
                     o.correlator.sampler.kind = entry.kind;
                     return;
                   }
                 }
                 reject("spans.sampler", src, v, std::string(kSamplerList));
               },
               [](const AppOptions& o) {
                 for (const SamplerName& entry : kSamplers) {
                   if (entry.kind == o.correlator.sampler.kind) return std::string(entry.name);
                 }
                 return std::string("always_on");
               }});
  // Applied after `sampler` (table order), so it knows whether a ratio is wanted.
  s.push_back({"sampler_arg", "--sampler-arg", {"OTEL_TRACES_SAMPLER_ARG"}, group,
               "Sampling probability from 0 to 1 for the traceidratio samplers (ignored by the others)",
               "RATIO", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (!uses_ratio(o.correlator.sampler.kind)) return;
                 const std::string text = trim_spaces(v);
                 double ratio = -1;
                 const auto result = std::from_chars(text.data(), text.data() + text.size(), ratio);
                 if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size() ||
                     !(ratio >= 0.0 && ratio <= 1.0)) {
                   reject("spans.sampler_arg", src, v, "a probability from 0 to 1, e.g. 0.25");
                 }
                 o.correlator.sampler.ratio = ratio;
               },
               [](const AppOptions& o) { return fmt::format("{}", o.correlator.sampler.ratio); }});
  s.push_back({"keep_errors", "--keep-errors", {"BTO_SAMPLER_KEEP_ERRORS"}, group,
               "Tail rule: emit a span the sampler dropped if it ended in error: true or false", "BOOL",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.sampler.keep_errors = bool_or_reject("spans.keep_errors", v, src);
               },
               [](const AppOptions& o) { return show_bool(o.correlator.sampler.keep_errors); }});
  s.push_back({"keep_slower_than", "--keep-slower-than", {"BTO_SAMPLER_KEEP_SLOWER_THAN"}, group,
               "Tail rule: emit a span the sampler dropped if it lasted longer than this (0 = off; bare "
               "number: milliseconds)",
               "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.sampler.keep_slower_than = duration_or_reject(
                     "spans.keep_slower_than", v, src,
                     {std::chrono::milliseconds(1), std::chrono::nanoseconds(1), std::chrono::hours(24), "off"});
               },
               [](const AppOptions& o) { return show_optional_duration(o.correlator.sampler.keep_slower_than); }});
  // ---- OpenTelemetry span limits
  s.push_back({"attribute_value_length_limit", "--attribute-value-length-limit",
               {"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"}, group,
               "Longest string attribute value in bytes; longer values are cut at a UTF-8 boundary and counted",
               "BYTES", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.limits.attribute_value_length =
                     count_or_reject("spans.attribute_value_length_limit", v, src, 0, 64ull << 20);
               },
               [](const AppOptions& o) { return std::to_string(o.correlator.limits.attribute_value_length); }});
  s.push_back({"attribute_count_limit", "--attribute-count-limit",
               {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"}, group,
               "Most attributes per span (and per span event); further ones are dropped and counted", "N",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.limits.attribute_count =
                     count_or_reject("spans.attribute_count_limit", v, src, 0, 100'000);
               },
               [](const AppOptions& o) { return std::to_string(o.correlator.limits.attribute_count); }});
  s.push_back({"event_count_limit", "--event-count-limit", {"OTEL_SPAN_EVENT_COUNT_LIMIT"}, group,
               "Most span events (point events) per span; further ones are dropped and counted", "N", false,
               false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.limits.event_count = count_or_reject("spans.event_count_limit", v, src, 0, 100'000);
               },
               [](const AppOptions& o) { return std::to_string(o.correlator.limits.event_count); }});
}

}  // namespace bto

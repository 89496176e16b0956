#include <gtest/gtest.h>

#include <map>

#include "common/errors.h"
#include "config/app_options.h"
#include "config/config_test_util.h"

namespace bto {
namespace {

using config_test::origin_of;

// Every case replays a file, so no bpftrace settings are needed.
std::vector<std::string> with_input(std::vector<std::string> args) {
  args.insert(args.begin(), {"-i", "x"});
  return args;
}

LoadedConfig load(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return config_test::load_args(with_input(std::move(args)), std::move(env));
}

std::string startup_error(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return config_test::startup_error_of(with_input(std::move(args)), std::move(env));
}

TEST(TraceSettings, defaults) {
  const CorrelatorOptions o = load({}).options.correlator;
  EXPECT_TRUE(o.auto_nesting);
  EXPECT_EQ(o.nesting_families, (std::vector<std::string>{"http_request", "request"}));
  EXPECT_EQ(o.max_families, 1024u);
  EXPECT_EQ(o.sampler.kind, SamplerKind::kAlwaysOn);
  EXPECT_EQ(o.sampler.ratio, 1.0);
  EXPECT_FALSE(o.sampler.keep_errors);
  EXPECT_EQ(o.sampler.keep_slower_than.count(), 0);
  EXPECT_EQ(o.limits.attribute_value_length, 4096u);
  EXPECT_EQ(o.limits.attribute_count, 128u);
  EXPECT_EQ(o.limits.event_count, 128u);
  const LoadedConfig config = load({});
  EXPECT_EQ(origin_of(config, "spans.sampler").value, "always_on");
  EXPECT_EQ(origin_of(config, "spans.sampler").source, "default");
}

TEST(TraceSettings, sampler_and_ratio_from_environment) {
  const LoadedConfig config =
      load({}, {{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}});
  EXPECT_EQ(config.options.correlator.sampler.kind, SamplerKind::kParentBasedTraceIdRatio);
  EXPECT_EQ(config.options.correlator.sampler.ratio, 0.25);
  EXPECT_EQ(origin_of(config, "spans.sampler").source, "env OTEL_TRACES_SAMPLER");
  EXPECT_EQ(origin_of(config, "spans.sampler_arg").value, "0.25");
}

TEST(TraceSettings, every_sampler_name_is_accepted) {
  const std::map<std::string, SamplerKind> names = {
      {"always_on", SamplerKind::kAlwaysOn},
      {"always_off", SamplerKind::kAlwaysOff},
      {"traceidratio", SamplerKind::kTraceIdRatio},
      {"parentbased_always_on", SamplerKind::kParentBasedAlwaysOn},
      {"parentbased_always_off", SamplerKind::kParentBasedAlwaysOff},
      {"parentbased_traceidratio", SamplerKind::kParentBasedTraceIdRatio},
  };
  for (const auto& [name, kind] : names) {
    EXPECT_EQ(load({"--sampler", name}).options.correlator.sampler.kind, kind) << name;
    EXPECT_EQ(origin_of(load({"--sampler", name}), "spans.sampler").value, name);
  }
}

TEST(TraceSettings, unknown_sampler_names_the_setting_and_the_choices) {
  const std::string error = startup_error({}, {{"OTEL_TRACES_SAMPLER", "jaeger_remote"}});
  EXPECT_NE(error.find("spans.sampler"), std::string::npos) << error;
  EXPECT_NE(error.find("env OTEL_TRACES_SAMPLER"), std::string::npos) << error;
  EXPECT_NE(error.find("jaeger_remote"), std::string::npos) << error;
  EXPECT_NE(error.find("parentbased_traceidratio"), std::string::npos) << error;
}

TEST(TraceSettings, bad_ratio_is_an_error_for_ratio_samplers_only) {
  for (const char* bad : {"1.5", "-0.1", "half", "nan", "0.5x", " "}) {
    const std::string error =
        startup_error({}, {{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", bad}});
    EXPECT_NE(error.find("spans.sampler_arg"), std::string::npos) << bad << ": " << error;
    EXPECT_NE(error.find("from 0 to 1"), std::string::npos) << error;
  }
  // An argument meant for another sampler does not stop always_on.
  const LoadedConfig config = load({}, {{"OTEL_TRACES_SAMPLER_ARG", "endpoint=http://x"}});
  EXPECT_EQ(config.options.correlator.sampler.kind, SamplerKind::kAlwaysOn);
  EXPECT_EQ(config.options.correlator.sampler.ratio, 1.0);
  EXPECT_EQ(load({"--sampler", "traceidratio", "--sampler-arg", "0"}).options.correlator.sampler.ratio, 0.0);
}

TEST(TraceSettings, tail_rules) {
  const LoadedConfig config =
      load({"--keep-slower-than", "250"}, {{"BTO_SAMPLER_KEEP_ERRORS", "true"}});
  EXPECT_TRUE(config.options.correlator.sampler.keep_errors);
  EXPECT_EQ(config.options.correlator.sampler.keep_slower_than, std::chrono::milliseconds(250));
  EXPECT_EQ(load({}, {{"BTO_SAMPLER_KEEP_SLOWER_THAN", "2s"}}).options.correlator.sampler.keep_slower_than,
            std::chrono::seconds(2));
  EXPECT_NE(startup_error({"--keep-errors", "maybe"}).find("spans.keep_errors"), std::string::npos);
  EXPECT_NE(startup_error({"--keep-slower-than", "fast"}).find("spans.keep_slower_than"), std::string::npos);
}

TEST(TraceSettings, span_specific_limit_beats_the_generic_one) {
  const LoadedConfig both = load({}, {{"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100"},
                                      {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200"},
                                      {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"},
                                      {"OTEL_ATTRIBUTE_COUNT_LIMIT", "20"},
                                      {"OTEL_SPAN_EVENT_COUNT_LIMIT", "5"}});
  EXPECT_EQ(both.options.correlator.limits.attribute_value_length, 100u);
  EXPECT_EQ(both.options.correlator.limits.attribute_count, 10u);
  EXPECT_EQ(both.options.correlator.limits.event_count, 5u);
  EXPECT_EQ(origin_of(both, "spans.attribute_value_length_limit").source,
            "env OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT");
  const LoadedConfig generic =
      load({}, {{"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200"}, {"OTEL_ATTRIBUTE_COUNT_LIMIT", "20"}});
  EXPECT_EQ(generic.options.correlator.limits.attribute_value_length, 200u);
  EXPECT_EQ(generic.options.correlator.limits.attribute_count, 20u);
  EXPECT_EQ(load({"--attribute-count-limit", "7"}, {{"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"}})
                .options.correlator.limits.attribute_count,
            7u);
  const std::string error = startup_error({}, {{"OTEL_ATTRIBUTE_COUNT_LIMIT", "-1"}});
  EXPECT_NE(error.find("spans.attribute_count_limit"), std::string::npos) << error;
}

TEST(TraceSettings, nesting_switch_and_families) {
  EXPECT_FALSE(load({"--auto-nesting", "false"}).options.correlator.auto_nesting);
  EXPECT_FALSE(load({}, {{"BTO_AUTO_NESTING", "off"}}).options.correlator.auto_nesting);
  EXPECT_NE(startup_error({"--auto-nesting", "sometimes"}).find("spans.auto_nesting"), std::string::npos);
  const LoadedConfig config = load({}, {{"BTO_NESTING_FAMILIES", " job, rpc_call ,,"}});
  EXPECT_EQ(config.options.correlator.nesting_families, (std::vector<std::string>{"job", "rpc_call"}));
  EXPECT_EQ(origin_of(config, "spans.nesting_families").value, "job,rpc_call");
  EXPECT_NE(startup_error({"--nesting-families", ","}).find("spans.nesting_families"), std::string::npos);
}

TEST(TraceSettings, max_families_bounds) {
  EXPECT_EQ(load({"--max-families", "16"}).options.correlator.max_families, 16u);
  EXPECT_NE(startup_error({"--max-families", "0"}).find("spans.max_families"), std::string::npos);
}

}  // namespace
}  // namespace bto

// The metrics rows of the settings table (src/config/metrics_settings.cpp):
// standard OTEL_* variables, endpoint derivation, rejected values.

#include <gtest/gtest.h>

#include "config/config_test_util.h"

namespace bto {
namespace {

using config_test::load_args;
using config_test::startup_error_of;

TEST(MetricsSettings, defaults_follow_the_options_struct) {
  const AppOptions o = load_args({"--input", "x"}).options;
  EXPECT_TRUE(o.metrics.enabled);
  EXPECT_EQ(o.metrics.exporter, MetricsExporterKind::kAuto);
  EXPECT_EQ(o.metrics.export_interval, std::chrono::milliseconds(60000));
  EXPECT_EQ(o.metrics.cardinality_limit, 2000u);
  EXPECT_EQ(o.metrics.endpoint, "");
  EXPECT_FALSE(o.handlers.span_name_route);
}

TEST(MetricsSettings, standard_variables_are_read) {
  const AppOptions o = load_args({"--input", "x"}, {{"OTEL_METRICS_EXPORTER", "console"},
                                                    {"OTEL_METRIC_EXPORT_INTERVAL", "1500"},
                                                    {"OTEL_METRIC_EXPORT_TIMEOUT", "2500"},
                                                    {"BTO_METRICS_CARDINALITY_LIMIT", "10"},
                                                    {"BTO_SPAN_NAME_ROUTE", "true"},
                                                    {"BTO_METRICS_DURATION_BUCKETS", "0.001, 0.01,1"}})
                            .options;
  EXPECT_EQ(o.metrics.exporter, MetricsExporterKind::kConsole);
  EXPECT_EQ(o.metrics.export_interval, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.metrics.export_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.metrics.cardinality_limit, 10u);
  EXPECT_TRUE(o.handlers.span_name_route);
  EXPECT_EQ(o.metrics.duration_buckets, (std::vector<double>{0.001, 0.01, 1}));
}

TEST(MetricsSettings, endpoint_precedence_and_base_url_rule) {
  EXPECT_EQ(load_args({"--input", "x"}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"}}).options.metrics.endpoint,
            "http://c:4318/v1/metrics");
  EXPECT_EQ(load_args({"--input", "x"}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                                         {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://m:1/custom"}})
                .options.metrics.endpoint,
            "https://m:1/custom");
  EXPECT_EQ(load_args({"--input", "x", "--metrics-endpoint", "http://f/v1/metrics"}).options.metrics.endpoint,
            "http://f/v1/metrics");
  // The traces-only variable leaves metrics next to the traces URL (resolved at start).
  EXPECT_EQ(load_args({"--input", "x"}, {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t/v1/traces"}})
                .options.metrics.endpoint,
            "");
}

TEST(MetricsSettings, bad_values_name_the_setting) {
  EXPECT_NE(startup_error_of({"--input", "x", "--metrics-exporter", "prometheus"}).find("metrics_exporter"),
            std::string::npos);
  EXPECT_NE(startup_error_of({"--input", "x", "--metric-export-interval", "0"}).find("export_interval"),
            std::string::npos);
  EXPECT_NE(startup_error_of({"--input", "x", "--metrics-duration-buckets", "1,0.5"}).find("duration_buckets"),
            std::string::npos);
  EXPECT_NE(startup_error_of({"--input", "x", "--metrics-cardinality-limit", "0"}).find("cardinality_limit"),
            std::string::npos);
  EXPECT_NE(startup_error_of({"--input", "x", "--metrics-endpoint", "collector:4318"}).find("metrics_endpoint"),
            std::string::npos);
}

}  // namespace
}  // namespace bto

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "common/errors.h"
#include "config/app_options.h"
#include "config/config_test_util.h"
#include "config/value_parsers.h"

namespace bto {
namespace {

using config_test::origin_of;

LoadedConfig load(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return config_test::load_args(std::move(args), std::move(env));
}

std::string startup_error(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return config_test::startup_error_of(std::move(args), std::move(env));
}

TEST(Config, defaults_replay_to_console) {
  const LoadedConfig config = load({"--input", "x.jsonl"});
  EXPECT_EQ(config.options.input_path, "x.jsonl");
  EXPECT_EQ(config.options.exporter, TracesExporter::kConsole);
  EXPECT_EQ(config.options.correlator.max_open_spans, 100000u);
  EXPECT_EQ(config.options.correlator.span_timeout, std::chrono::seconds(300));
  EXPECT_EQ(config.options.service_name, "unknown_service");
  EXPECT_EQ(origin_of(config, "spans.max_open_spans").source, "default");
}

TEST(Config, flag_beats_environment) {
  const LoadedConfig config =
      load({"-i", "x", "--max-open-spans", "7"}, {{"BTO_MAX_OPEN_SPANS", "9"}});
  EXPECT_EQ(config.options.correlator.max_open_spans, 7u);
  EXPECT_EQ(origin_of(config, "spans.max_open_spans").source, "flag --max-open-spans");
}

TEST(Config, environment_beats_default) {
  const LoadedConfig config = load({"-i", "x"}, {{"BTO_MAX_OPEN_SPANS", "9"}});
  EXPECT_EQ(config.options.correlator.max_open_spans, 9u);
  EXPECT_EQ(origin_of(config, "spans.max_open_spans").source, "env BTO_MAX_OPEN_SPANS");
}

TEST(Config, traces_endpoint_used_as_is_and_selects_otlp) {
  const LoadedConfig config = load(
      {"-i", "x"}, {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom"},
                    {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318"}});
  EXPECT_EQ(config.options.otlp.endpoint, "http://c:4318/custom");
  EXPECT_EQ(config.options.exporter, TracesExporter::kOtlp);
}

TEST(Config, generic_endpoint_gets_v1_traces) {
  const LoadedConfig config = load({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}});
  EXPECT_EQ(config.options.otlp.endpoint, "http://c:4318/v1/traces");
}

TEST(Config, seed_endpoint_is_host_port) {
  const LoadedConfig config = load({"-i", "x"}, {{"OTEL_ENDPOINT", "otel-collector:4318"}});
  EXPECT_EQ(config.options.otlp.endpoint, "http://otel-collector:4318/v1/traces");
  EXPECT_EQ(config.options.exporter, TracesExporter::kOtlp);
}

TEST(Config, endpoint_flag_without_path_gets_v1_traces) {
  const LoadedConfig config = load({"-i", "x", "--endpoint", "http://c:4318"});
  EXPECT_EQ(config.options.otlp.endpoint, "http://c:4318/v1/traces");
}

TEST(Config, traces_exporter_overrides_endpoint_selection) {
  const LoadedConfig config = load(
      {"-i", "x"}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_TRACES_EXPORTER", "none"}});
  EXPECT_EQ(config.options.exporter, TracesExporter::kNone);
}

TEST(Config, service_name_precedence) {
  EXPECT_EQ(load({"-i", "x"}, {{"OTEL_SERVICE_NAME", "a"}, {"SERVICE_NAME", "b"},
                               {"OTEL_RESOURCE_ATTRIBUTES", "service.name=c"}})
                .options.service_name,
            "a");
  EXPECT_EQ(load({"-i", "x"}, {{"SERVICE_NAME", "b"}, {"OTEL_RESOURCE_ATTRIBUTES", "service.name=c"}})
                .options.service_name,
            "b");
  EXPECT_EQ(load({"-i", "x"}, {{"OTEL_RESOURCE_ATTRIBUTES", "team=x,service.name=c%20d"}})
                .options.service_name,
            "c d");
}

TEST(Config, headers_are_masked_in_print_config) {
  const LoadedConfig config =
      load({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20s3cr3t"}});
  ASSERT_EQ(config.options.otlp.headers.size(), 1u);
  EXPECT_EQ(config.options.otlp.headers[0].second, "Bearer s3cr3t");
  const std::string printed = format_config(config);
  EXPECT_EQ(printed.find("s3cr3t"), std::string::npos);
  EXPECT_NE(printed.find("headers"), std::string::npos);
}

TEST(Config, bad_header_error_never_quotes_the_value) {
  const std::string error =
      startup_error({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_HEADERS", "s3cr3t-without-equals"}});
  EXPECT_NE(error.find("headers"), std::string::npos);
  EXPECT_EQ(error.find("s3cr3t"), std::string::npos);
}

TEST(Config, bad_values_name_the_setting_and_accepted_values) {
  EXPECT_NE(startup_error({"-i", "x", "--console-format", "xml"}).find("console_format"),
            std::string::npos);
  EXPECT_NE(startup_error({"-i", "x", "--console-format", "xml"}).find("text, json or tree"),
            std::string::npos);
  EXPECT_NE(startup_error({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc-web"}})
                .find("http/protobuf, http/json or grpc"),
            std::string::npos);
  EXPECT_NE(startup_error({"-i", "x", "--span-timeout", "soon"}).find("span_timeout"),
            std::string::npos);
  EXPECT_NE(startup_error({"-i", "x"}, {{"OTEL_BSP_MAX_QUEUE_SIZE", "-5"}}).find("OTEL_BSP_MAX_QUEUE_SIZE"),
            std::string::npos);
  EXPECT_NE(startup_error({"-i", "x"}, {{"EXPORTER_MODE", "kprobe"}}).find("usdt or native-usdt"),
            std::string::npos);
}

TEST(Config, metrics_listen_from_flag_or_env_and_validated) {
  EXPECT_EQ(load({"-i", "x.jsonl"}).options.metrics_listen, "");
  EXPECT_EQ(load({"-i", "x.jsonl", "--metrics-listen", "127.0.0.1:9464"}).options.metrics_listen,
            "127.0.0.1:9464");
  EXPECT_EQ(load({"-i", "x.jsonl"}, {{"BTO_METRICS_LISTEN", "[::1]:9464"}}).options.metrics_listen,
            "[::1]:9464");
  const std::string error = startup_error({"-i", "x.jsonl", "--metrics-listen", "9464"});
  EXPECT_NE(error.find("metrics_listen"), std::string::npos) << error;
  EXPECT_NE(error.find("HOST:PORT"), std::string::npos) << error;
}

TEST(Config, nothing_to_do_is_an_error) {
  EXPECT_NE(startup_error({}).find("--script"), std::string::npos);
}

TEST(Config, input_and_script_conflict) {
  EXPECT_NE(startup_error({"-i", "x", "--script", "a.bt"}).find("cannot be combined"),
            std::string::npos);
}

TEST(Config, live_settings_from_seed_environment) {
  const LoadedConfig config =
      load({"--", "-v"}, {{"TARGET_PID", "1234"}, {"BPF_SCRIPT", "/app/trace.bt"},
                          {"EXPORTER_MODE", "native-usdt"}});
  EXPECT_EQ(config.options.source.target_pid, 1234);
  EXPECT_EQ(config.options.source.script_path, "/app/trace.bt");
  EXPECT_EQ(config.options.source.mode, "native-usdt");
  EXPECT_EQ(config.options.source.extra_args, std::vector<std::string>{"-v"});
}

TEST(Config, bsp_durations_are_milliseconds) {
  const LoadedConfig config = load({"-i", "x"}, {{"OTEL_BSP_SCHEDULE_DELAY", "250"},
                                                 {"OTEL_EXPORTER_OTLP_TIMEOUT", "1500"}});
  EXPECT_EQ(config.options.batch.schedule_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(config.options.otlp.timeout, std::chrono::milliseconds(1500));
}

TEST(Config, semconv_opt_in) {
  EXPECT_EQ(load({"-i", "x"}, {{"OTEL_SEMCONV_STABILITY_OPT_IN", "database,http"}}).options.handlers.semconv,
            SemconvMode::kStable);
  EXPECT_EQ(load({"-i", "x"}, {{"OTEL_SEMCONV_STABILITY_OPT_IN", "http/dup"}}).options.handlers.semconv,
            SemconvMode::kDuplicate);
  EXPECT_EQ(load({"-i", "x"}).options.handlers.semconv, SemconvMode::kLegacy);
}

TEST(Config, help_and_version_exit_early) {
  const LoadedConfig help = load({"--help"});
  EXPECT_TRUE(help.exit_early);
  EXPECT_NE(help.early_output.find("OTLP export"), std::string::npos);
  EXPECT_NE(help.early_output.find("OTEL_EXPORTER_OTLP_ENDPOINT"), std::string::npos);
  const LoadedConfig version = load({"--version"});
  EXPECT_TRUE(version.exit_early);
  EXPECT_NE(version.early_output.find("bpftrace-otel"), std::string::npos);
}

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    // Per test and process: ctest runs these tests in parallel processes.
    path_ = ::testing::TempDir() + "bto_config_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
            "_" + std::to_string(::getpid()) + ".toml";
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(ConfigFileTest, file_values_apply_below_env_and_flags) {
  const std::string path = write(
      "log_level = \"debug\"\n[spans]\nmax_open_spans = 11\nspan_timeout = \"30s\"\n"
      "[otlp]\nendpoint = \"http://file:4318/v1/traces\"\ncompression = \"gzip\"\n");
  const LoadedConfig config =
      load({"-i", "x", "--config", path, "--span-timeout", "5s"}, {{"BTO_MAX_OPEN_SPANS", "22"}});
  EXPECT_EQ(config.options.log_level, "debug");
  EXPECT_EQ(config.options.correlator.max_open_spans, 22u);
  EXPECT_EQ(config.options.correlator.span_timeout, std::chrono::seconds(5));
  EXPECT_EQ(config.options.otlp.endpoint, "http://file:4318/v1/traces");
  EXPECT_EQ(config.options.otlp.compression, OtlpCompression::kGzip);
  EXPECT_EQ(config.options.exporter, TracesExporter::kOtlp);
  EXPECT_EQ(origin_of(config, "log_level").source, "file " + path + ":1");
}

TEST_F(ConfigFileTest, config_path_from_environment) {
  const std::string path = write("[spans]\nmax_open_spans = 33\n");
  EXPECT_EQ(load({"-i", "x"}, {{"BTO_CONFIG", path}}).options.correlator.max_open_spans, 33u);
}

TEST_F(ConfigFileTest, unknown_key_is_an_error_naming_the_line) {
  const std::string path = write("[spans]\nmax_open_spans = 1\nmax_open_spanz = 2\n");
  const std::string error = startup_error({"-i", "x", "--config", path});
  EXPECT_NE(error.find(path + ":3"), std::string::npos) << error;
  EXPECT_NE(error.find("spans.max_open_spanz"), std::string::npos) << error;
}

TEST_F(ConfigFileTest, bad_value_names_the_key_the_line_and_accepted_values) {
  const std::string path = write("\n[output]\nconsole_format = \"yaml\"\n");
  const std::string error = startup_error({"-i", "x", "--config", path});
  EXPECT_NE(error.find(path + ":3"), std::string::npos) << error;
  EXPECT_NE(error.find("text, json or tree"), std::string::npos) << error;
}

TEST_F(ConfigFileTest, syntax_error_names_line_and_column) {
  const std::string path = write("log_level = \"info\"\n[spans\n");
  const std::string error = startup_error({"-i", "x", "--config", path});
  EXPECT_NE(error.find(path + ":2:"), std::string::npos) << error;
}

TEST_F(ConfigFileTest, tables_are_not_values) {
  const std::string path = write("[otlp.endpoint]\nurl = \"x\"\n");
  const std::string error = startup_error({"-i", "x", "--config", path});
  EXPECT_NE(error.find("otlp.endpoint"), std::string::npos) << error;
}

TEST(ValueParsers, durations) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  EXPECT_EQ(parse_duration("250ms", seconds(1)), milliseconds(250));
  EXPECT_EQ(parse_duration("5m", seconds(1)), seconds(300));
  EXPECT_EQ(parse_duration("7", seconds(1)), seconds(7));
  EXPECT_EQ(parse_duration("7", milliseconds(1)), milliseconds(7));
  EXPECT_FALSE(parse_duration("", seconds(1)));
  EXPECT_FALSE(parse_duration("ms", seconds(1)));
  EXPECT_FALSE(parse_duration("5 parsecs", seconds(1)));
  EXPECT_FALSE(parse_duration("99999999999999999999h", seconds(1)));
  EXPECT_FALSE(parse_duration("9999999999999h", seconds(1)));
}

TEST(ValueParsers, booleans_and_counts) {
  EXPECT_EQ(parse_bool("TRUE"), true);
  EXPECT_EQ(parse_bool("off"), false);
  EXPECT_FALSE(parse_bool("maybe"));
  EXPECT_EQ(parse_unsigned("42"), 42u);
  EXPECT_FALSE(parse_unsigned("-1"));
  EXPECT_FALSE(parse_unsigned("4x"));
}

}  // namespace
}  // namespace bto

// Issue 17.6 (values at the edges) and 17.3 (secrets in settings): every case
// failed before the fix it is named after.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "config/app_options.h"
#include "config/config_test_util.h"
#include "config/setting_values.h"

namespace bto {
namespace {

using config_test::load_args;
using config_test::origin_of;
using config_test::startup_error_of;
using namespace std::chrono_literals;

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

struct DurationCase {
  const char* flag;
  const char* key;  // named in the error
  bool zero_accepted;
};

constexpr DurationCase kDurations[] = {
    {"--shutdown-timeout", "shutdown_timeout", true},
    {"--status-interval", "status_interval", true},
    {"--span-timeout", "span_timeout", false},
    {"--orphan-hold", "orphan_hold", true},
    {"--keep-slower-than", "spans.keep_slower_than", true},
    {"--schedule-delay", "bsp_schedule_delay", true},
    {"--export-timeout", "bsp_export_timeout", true},
    {"--timeout", "timeout", false},
    {"--stop-grace", "stop_grace", true},
    {"--read-coalesce", "read_coalesce", true},
    {"--metric-export-interval", "metrics.export_interval", false},
    {"--metric-export-timeout", "metrics.export_timeout", true},
};

TEST(EdgeValues, every_duration_validated_absurd_values_refused_naming_the_setting) {
  for (const DurationCase& d : kDurations) {
    // Near the int64 limit (used to overflow deadlines: spins, instant exits) and past it.
    for (const char* absurd : {"9223372036854775807ns", "2562047h", "99999999999999999999s", "1000000h"}) {
      const std::string error = startup_error_of({"-i", "x", d.flag, absurd});
      EXPECT_TRUE(contains(error, d.key) && contains(error, "a duration from")) << d.flag << " " << absurd << ": "
                                                                                  << error;
    }
    const std::string zero = startup_error_of({"-i", "x", d.flag, "0"});
    EXPECT_EQ(zero.empty(), d.zero_accepted) << d.flag << ": " << zero;
    if (!d.zero_accepted) {
      EXPECT_TRUE(contains(zero, "0 is refused")) << zero;
    }
  }
}

TEST(EdgeValues, durations_below_the_unit_are_refused_not_rounded_to_zero) {
  // 100us cast to milliseconds was 0: a busy loop for schedule_delay.
  EXPECT_TRUE(contains(startup_error_of({"-i", "x", "--schedule-delay", "100us"}), "bsp_schedule_delay"));
  EXPECT_TRUE(contains(startup_error_of({"-i", "x", "--timeout", "999us"}), "from 1ms"));
  EXPECT_EQ(load_args({"-i", "x", "--schedule-delay", "1ms"}).options.batch.schedule_delay, 1ms);
}

TEST(EdgeValues, schedule_delay_zero_means_send_at_once) {
  const LoadedConfig config = load_args({"-i", "x"}, {{"OTEL_BSP_SCHEDULE_DELAY", "0"}});
  EXPECT_EQ(config.options.batch.schedule_delay, 0ms);
}

TEST(EdgeValues, bsp_export_timeout_zero_is_no_limit) {
  // Used to be accepted as "0 ms" and dropped every batch at once.
  const LoadedConfig config = load_args({"-i", "x"}, {{"OTEL_BSP_EXPORT_TIMEOUT", "0"}});
  EXPECT_EQ(config.options.batch.export_timeout, kNoTimeLimit);
  EXPECT_EQ(config.options.otlp.retry.max_elapsed, kNoTimeLimit);
  EXPECT_EQ(origin_of(config, "batch.bsp_export_timeout").value, "0 (no limit)");
  const LoadedConfig metrics = load_args({"-i", "x"}, {{"OTEL_METRIC_EXPORT_TIMEOUT", "0"}});
  EXPECT_EQ(metrics.options.metrics.export_timeout, kNoTimeLimit);
}

TEST(EdgeValues, span_timeout_zero_is_refused) {
  const std::string error = startup_error_of({"-i", "x", "--span-timeout", "0"});
  EXPECT_TRUE(contains(error, "span_timeout") && contains(error, "time out every span")) << error;
  EXPECT_TRUE(contains(startup_error_of({"-i", "x"}, {{"BTO_SPAN_TIMEOUT", "0s"}}), "BTO_SPAN_TIMEOUT"));
}

TEST(EdgeValues, batch_size_above_queue_size_is_clamped_with_a_warning) {
  const LoadedConfig config = load_args({"-i", "x", "--max-queue-size", "100", "--max-export-batch-size", "512"});
  EXPECT_EQ(config.options.batch.max_export_batch_size, 100u);
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_TRUE(contains(config.warnings[0], "bsp_max_export_batch_size 512")) << config.warnings[0];
  EXPECT_TRUE(load_args({"-i", "x", "--max-queue-size", "512"}).warnings.empty());
}

class ConfigPath : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "bto_edge_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ::mkdir(dir_.c_str(), 0700);
  }
  void TearDown() override {
    for (const std::string& file : files_) std::remove(file.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string file(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = dir_ + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    ::chmod(path.c_str(), mode);
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ConfigPath, config_directory_is_an_error) {
  const std::string error = startup_error_of({"-i", "x", "--config", dir_});
  EXPECT_TRUE(contains(error, "is a directory")) << error;
}

TEST_F(ConfigPath, config_dev_zero_is_an_error) {
  const std::string error = startup_error_of({"-i", "x", "--config", "/dev/zero"});
  EXPECT_TRUE(contains(error, "/dev/zero") && contains(error, "larger than")) << error;
}

TEST_F(ConfigPath, config_missing_file_is_an_error) {
  const std::string error = startup_error_of({"-i", "x", "--config", dir_ + "/none.toml"});
  EXPECT_TRUE(contains(error, "cannot open")) << error;
}

TEST_F(ConfigPath, config_fifo_is_read) {
  const std::string fifo = dir_ + "/config.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  files_.push_back(fifo);
  std::thread writer([&] {
    std::FILE* f = std::fopen(fifo.c_str(), "w");
    std::fputs("[spans]\nmax_open_spans = 33\n", f);
    std::fclose(f);
  });
  const LoadedConfig config = load_args({"-i", "x", "--config", fifo});
  writer.join();
  EXPECT_EQ(config.options.correlator.max_open_spans, 33u);
}

TEST_F(ConfigPath, config_process_substitution_is_read) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // what bash's <(...) hands over: /dev/fd/N of a pipe
  const std::string text = "log_level = \"debug\"\n";
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  const LoadedConfig config = load_args({"-i", "x", "--config", "/dev/fd/" + std::to_string(fds[0])});
  ::close(fds[0]);
  EXPECT_EQ(config.options.log_level, "debug");
}

TEST_F(ConfigPath, print_config_masking_without_revealing_length) {
  const LoadedConfig short_token = load_args({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_HEADERS", "authorization=abc"}});
  const LoadedConfig long_token =
      load_args({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20a-much-longer-token-value"}});
  EXPECT_EQ(origin_of(short_token, "otlp.headers").value, origin_of(long_token, "otlp.headers").value);
  EXPECT_EQ(origin_of(long_token, "otlp.headers").value, "authorization=******");
  const std::string printed = format_config(long_token);
  EXPECT_FALSE(contains(printed, "chars")) << printed;
  EXPECT_FALSE(contains(printed, "longer")) << printed;
}

TEST_F(ConfigPath, world_readable_config_holding_headers_warns) {
  const std::string open_file = file("open.toml", "[otlp]\nheaders = \"authorization=s3cr3t\"\n", 0644);
  const LoadedConfig config = load_args({"-i", "x", "--config", open_file});
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_TRUE(contains(config.warnings[0], "every user may read it")) << config.warnings[0];
  EXPECT_FALSE(contains(config.warnings[0], "s3cr3t"));
  const std::string private_file = file("private.toml", "[otlp]\nheaders = \"authorization=s3cr3t\"\n", 0600);
  EXPECT_TRUE(load_args({"-i", "x", "--config", private_file}).warnings.empty());
  const std::string no_secret = file("plain.toml", "[spans]\nmax_open_spans = 5\n", 0644);
  EXPECT_TRUE(load_args({"-i", "x", "--config", no_secret}).warnings.empty());
}

TEST(EdgeValues, headers_on_the_command_line_warn) {
  const LoadedConfig flag = load_args({"-i", "x", "--headers", "authorization=s3cr3t"});
  ASSERT_EQ(flag.warnings.size(), 1u);
  EXPECT_TRUE(contains(flag.warnings[0], "visible to every user")) << flag.warnings[0];
  EXPECT_FALSE(contains(flag.warnings[0], "s3cr3t"));
  EXPECT_TRUE(load_args({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_HEADERS", "authorization=s3cr3t"}}).warnings.empty());
}

TEST(EdgeValues, grpc_trace_refused_while_headers_are_set) {
  const LoadedConfig with_headers =
      load_args({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_HEADERS", "authorization=s3cr3t"}, {"GRPC_TRACE", "http"}});
  EXPECT_EQ(with_headers.unset_environment, std::vector<std::string>{"GRPC_TRACE"});
  ASSERT_EQ(with_headers.warnings.size(), 1u);
  EXPECT_TRUE(contains(with_headers.warnings[0], "GRPC_TRACE ignored"));
  const LoadedConfig without = load_args({"-i", "x"}, {{"GRPC_TRACE", "http"}});
  EXPECT_TRUE(without.unset_environment.empty());
}

}  // namespace
}  // namespace bto

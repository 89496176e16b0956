// on_queue_full, spool_dir, spool_max_size: one row each in the settings
// table, from flag, environment or file, with the rules between them.

#include <gtest/gtest.h>

#include "config/config_test_util.h"
#include "config/value_parsers.h"

namespace bto {
namespace {

using config_test::load_args;
using config_test::origin_of;
using config_test::startup_error_of;

const std::map<std::string, std::string> kOtlp = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}};

TEST(QueueSettings, defaults_are_auto_and_no_spool) {
  const LoadedConfig config = load_args({"-i", "x"}, kOtlp);
  EXPECT_EQ(config.options.batch.on_queue_full, QueueFullPolicy::kAuto);
  EXPECT_TRUE(config.options.spool.dir.empty());
  EXPECT_EQ(config.options.spool.max_bytes, 1ull << 30);
  EXPECT_FALSE(config.options.otlp.failures_spooled);
  EXPECT_EQ(origin_of(config, "batch.on_queue_full").value, "auto");
  EXPECT_EQ(origin_of(config, "batch.spool_max_size").value, "1GiB");
}

TEST(QueueSettings, on_queue_full_from_flag_environment_or_file_and_checked) {
  EXPECT_EQ(load_args({"-i", "x", "--on-queue-full", "block"}).options.batch.on_queue_full, QueueFullPolicy::kBlock);
  const LoadedConfig env = load_args({"-i", "x"}, {{"BTO_ON_QUEUE_FULL", "drop"}});
  EXPECT_EQ(env.options.batch.on_queue_full, QueueFullPolicy::kDrop);
  EXPECT_EQ(origin_of(env, "batch.on_queue_full").source, "env BTO_ON_QUEUE_FULL");
  const std::string error = startup_error_of({"-i", "x", "--on-queue-full", "wait"});
  EXPECT_NE(error.find("on_queue_full"), std::string::npos) << error;
  EXPECT_NE(error.find("drop, block or auto"), std::string::npos) << error;
}

TEST(QueueSettings, spool_settings_from_flags_and_environment) {
  std::map<std::string, std::string> env = kOtlp;
  env["BTO_SPOOL_MAX_SIZE"] = "512MiB";
  const LoadedConfig config = load_args({"-i", "x", "--spool-dir", "/var/spool/bto"}, env);
  EXPECT_EQ(config.options.spool.dir, "/var/spool/bto");
  EXPECT_EQ(config.options.spool.max_bytes, 512ull << 20);
  EXPECT_TRUE(config.options.otlp.failures_spooled);
  EXPECT_EQ(origin_of(config, "batch.spool_max_size").value, "512MiB");
  EXPECT_EQ(load_args({"-i", "x", "--spool-max-size", "2GB"}, kOtlp).options.spool.max_bytes, 2'000'000'000u);
}

TEST(QueueSettings, spool_max_size_must_be_a_size_of_at_least_one_mebibyte) {
  for (const char* bad : {"100", "1.5GiB", "lots", "10 parsecs", "99999999999999TiB"}) {
    const std::string error = startup_error_of({"-i", "x", "--spool-max-size", bad}, kOtlp);
    EXPECT_NE(error.find("spool_max_size"), std::string::npos) << bad << ": " << error;
    EXPECT_NE(error.find("at least 1MiB"), std::string::npos) << bad << ": " << error;
  }
}

TEST(QueueSettings, a_spool_needs_the_otlp_exporter) {
  const std::string error = startup_error_of({"-i", "x", "--spool-dir", "/tmp/s"});
  EXPECT_NE(error.find("spool_dir"), std::string::npos) << error;
  EXPECT_NE(error.find("otlp exporter"), std::string::npos) << error;
  EXPECT_NE(startup_error_of({"-i", "x", "--spool-dir", "/tmp/s", "--exporter", "none"}, kOtlp), "");
}

TEST(ValueParsers, sizes) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("64KiB"), 64u << 10);
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_size("1g"), 1ull << 30);
  EXPECT_EQ(parse_size("100MB"), 100'000'000u);
  EXPECT_EQ(parse_size(" 3 mib "), 3u << 20);
  EXPECT_EQ(parse_size("2TB"), 2'000'000'000'000u);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("GiB"));
  EXPECT_FALSE(parse_size("-1GiB"));
  EXPECT_FALSE(parse_size("1.5GiB"));
  EXPECT_FALSE(parse_size("1 gigabyte"));
  EXPECT_FALSE(parse_size("20000000TiB"));  // overflows 64 bits
}

}  // namespace
}  // namespace bto

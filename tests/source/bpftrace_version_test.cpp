// `bpftrace --version`: parsing what real versions print, running it, and the
// behaviour that follows from the version (source/bpftrace_version.h).

#include "source/bpftrace_version.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "source/helpers/test_support.h"

namespace bto {
namespace {

using std::chrono::milliseconds;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(BpftraceVersion, parses_what_each_release_prints) {
  struct Case {
    std::string output;
    BpftraceVersion version;
    std::string text;
  };
  const Case cases[] = {
      {"bpftrace v0.17.0\n", {0, 17}, "0.17.0"},
      {"bpftrace v0.23.2\n", {0, 23}, "0.23.2"},
      {"bpftrace v0.27.1\n", {0, 27}, "0.27.1"},
      {"bpftrace v0.20.2-1ubuntu1\n", {0, 20}, "0.20.2-1ubuntu1"},  // distribution suffixes are kept
      {"bpftrace 0.21.0\n", {0, 21}, "0.21.0"},
      {"bpftrace v1.0.0\nmore text\n", {1, 0}, "1.0.0"},
  };
  for (const Case& c : cases) {
    const auto release = parse_bpftrace_version(c.output);
    ASSERT_TRUE(release.has_value()) << c.output;
    EXPECT_EQ(release->version, c.version) << c.output;
    EXPECT_EQ(release->text, c.text);
  }
}

TEST(BpftraceVersion, rejects_output_without_a_version) {
  for (const std::string output : {"", "bpftrace\n", "bpftrace vx.y\n", "usage: bpftrace [options]\n",
                                   "something v0.17.0\n", "bpftrace v0\n", "\nbpftrace v0.17.0\n"}) {
    EXPECT_FALSE(parse_bpftrace_version(output).has_value()) << output;
  }
}

// The recordings of tests/data/bpftrace/<version>/version.out (record.sh).
TEST(BpftraceVersion, parses_the_recorded_versions) {
  const std::filesystem::path data = std::string(BTO_SOURCE_DIR) + "/tests/data/bpftrace";
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data)) {
    if (!entry.is_directory()) continue;
    const auto release = parse_bpftrace_version(read_text(entry.path() / "version.out"));
    ASSERT_TRUE(release.has_value()) << entry.path();
    EXPECT_EQ(release->text, entry.path().filename().string());
    ++seen;
  }
  EXPECT_GE(seen, 3u);
}

TEST(BpftraceVersion, detect_runs_the_binary_by_argv) {
  testing::TempDir dir;
  const std::string fake = dir.write("bpftrace", "#!/bin/sh\n[ \"$1\" = --version ] && echo 'bpftrace v0.27.1'\n", 0755);
  const auto release = detect_bpftrace_version(fake, milliseconds(5000));
  ASSERT_TRUE(release.has_value());
  EXPECT_EQ(release->text, "0.27.1");
}

TEST(BpftraceVersion, detect_gives_up_on_a_silent_or_missing_binary) {
  testing::TempDir dir;
  const std::string silent = dir.write("bpftrace", "#!/bin/sh\nexec sleep 30\n", 0755);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(detect_bpftrace_version(silent, milliseconds(300)).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_FALSE(detect_bpftrace_version(dir.file("missing"), milliseconds(300)).has_value());
  const std::string failing = dir.write("other", "#!/bin/sh\necho 'no such option' >&2\nexit 1\n", 0755);
  EXPECT_FALSE(detect_bpftrace_version(failing, milliseconds(2000)).has_value());
}

TEST(BpftraceVersion, traits_follow_the_version) {
  EXPECT_FALSE(traits_of(BpftraceVersion{0, 17}).loss_counter_misses_last_cpu);
  EXPECT_FALSE(traits_of(BpftraceVersion{0, 23}).loss_counter_misses_last_cpu);
  EXPECT_TRUE(traits_of(BpftraceVersion{0, 24}).loss_counter_misses_last_cpu);
  EXPECT_TRUE(traits_of(BpftraceVersion{0, 27}).loss_counter_misses_last_cpu);
  EXPECT_FALSE(traits_of(BpftraceVersion{0, 23}).checks_capabilities_not_root);
  EXPECT_TRUE(traits_of(BpftraceVersion{0, 27}).checks_capabilities_not_root);
  EXPECT_FALSE(traits_of(BpftraceVersion{0, 23}).liveness_by_kill);
  EXPECT_TRUE(traits_of(BpftraceVersion{0, 25}).liveness_by_kill);
  // Unknown version: assume nothing.
  EXPECT_FALSE(traits_of(std::nullopt).loss_counter_misses_last_cpu);
}

}  // namespace
}  // namespace bto

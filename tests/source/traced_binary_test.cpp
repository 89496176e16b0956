// The --pid pre-flight for the binary a script's probes name ($1): which
// probes use a positional parameter, what a process maps, the USDT notes of an
// ELF file, and the resolution (a symlink to a mapped file is passed as the
// mapped file; an unmapped binary with USDT probes stops the start with the
// cause and the fix).

#include "source/traced_binary.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/errors.h"

namespace bto {
namespace {

TEST(TracedBinary, positional_probes_of_a_script) {
  const auto probes = positional_probes(
      "// usdt:$9:commented:out\n"
      "usdt:$1:python:gc__start { print(1); }\n"
      "usdt:$1:function__entry,\n"
      "uretprobe:$2:curl_easy_perform /pid == 1/ { }\n"
      "uprobe:/lib/libc.so.6:malloc { }\n"
      "tracepoint:syscalls:sys_enter_connect { }\n"
      "U:$3:node:http__server__request { }\n");
  ASSERT_EQ(probes.size(), 4u);
  EXPECT_EQ(probes[0].positional, 1);
  EXPECT_TRUE(probes[0].usdt);
  EXPECT_EQ(probes[0].provider, "python");
  EXPECT_EQ(probes[0].name, "gc__start");
  EXPECT_EQ(probes[1].provider, "");
  EXPECT_EQ(probes[1].name, "function__entry");
  EXPECT_EQ(probes[2].positional, 2);
  EXPECT_FALSE(probes[2].usdt);
  EXPECT_EQ(probes[2].name, "curl_easy_perform");
  EXPECT_EQ(probes[3].positional, 3);
  EXPECT_EQ(probes[3].provider, "node");
}

TEST(TracedBinary, the_shipped_scripts_name_their_probes_through_dollar_one) {
  for (const char* name : {"python.bt", "python-calls.bt", "curl.bt", "openssl.bt", "sqlite.bt"}) {
    std::ifstream in(std::string(BTO_SOURCE_DIR) + "/examples/scripts/" + name);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto probes = positional_probes(text);
    ASSERT_FALSE(probes.empty()) << name;
    for (const auto& p : probes) EXPECT_EQ(p.positional, 1) << name << " " << p.name;
  }
}

TEST(TracedBinary, cpython_version_from_a_path) {
  EXPECT_EQ(cpython_version("/usr/bin/python3.11"), "3.11");
  EXPECT_EQ(cpython_version("/opt/lib/libpython3.13.so.1.0"), "3.13");
  EXPECT_EQ(cpython_version("/usr/bin/python3"), "");
  EXPECT_EQ(cpython_version("/usr/bin/curl"), "");
}

TEST(TracedBinary, usdt_notes_of_an_elf_file) {
  EXPECT_FALSE(usdt_notes("/nonexistent").has_value());
  const std::string text_file = std::string(BTO_SOURCE_DIR) + "/README.md";
  EXPECT_FALSE(usdt_notes(text_file).has_value());
  // libstdc++ ships USDT probes (provider libstdcxx: throw, rethrow, catch).
  const auto libstdcxx = usdt_notes("/lib/x86_64-linux-gnu/libstdc++.so.6");
  ASSERT_TRUE(libstdcxx.has_value());
  bool throw_probe = false;
  for (const UsdtNote& n : *libstdcxx) throw_probe = throw_probe || (n.provider == "libstdcxx" && n.name == "throw");
  EXPECT_TRUE(throw_probe);
  if (::access("/usr/bin/python3.11", R_OK) == 0) {
    const auto python = usdt_notes("/usr/bin/python3.11");
    ASSERT_TRUE(python.has_value());
    bool gc = false;
    for (const UsdtNote& n : *python) gc = gc || (n.provider == "python" && n.name == "gc__start");
    EXPECT_TRUE(gc);
  }
}

class TracedBinaryResolve : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("bto-traced-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(TracedBinaryResolve, a_symlink_to_a_mapped_file_becomes_the_mapped_file) {
  // This test process maps libstdc++; a link to it (like /usr/bin/python3 -> python3.11).
  std::string libstdcxx_mapped;
  for (const std::string& file : mapped_files(::getpid())) {
    if (file.find("/libstdc++.so.6") != std::string::npos) libstdcxx_mapped = file;
  }
  ASSERT_FALSE(libstdcxx_mapped.empty());
  const auto link = dir_ / "libstdcxx-link.so";
  std::filesystem::create_symlink(libstdcxx_mapped, link);
  SourceOptions options;
  options.target_pid = ::getpid();
  options.extra_args = {"-q", link.string()};
  resolve_traced_binaries(options, "usdt:$1:libstdcxx:throw { }");
  // Through the process' root: one attachment on every bpftrace version.
  EXPECT_EQ(options.extra_args,
            (std::vector<std::string>{"-q", "/proc/" + std::to_string(::getpid()) + "/root" + libstdcxx_mapped}));
}

TEST_F(TracedBinaryResolve, an_unmapped_binary_without_the_probes_anywhere_stops_with_the_cause) {
  // A copy of libstdc++ is not mapped by this process; no file it maps has "nosuch:probe".
  const auto copy = dir_ / "other.so";
  std::filesystem::copy_file("/lib/x86_64-linux-gnu/libstdc++.so.6", copy);
  SourceOptions options;
  options.target_pid = ::getpid();
  options.extra_args = {copy.string()};
  try {
    resolve_traced_binaries(options, "usdt:$1:nosuch:probe { }");
    FAIL() << "no error";
  } catch (const StartupError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("does not run " + copy.string()), std::string::npos) << message;
    EXPECT_NE(message.find("its executable is /"), std::string::npos) << message;
    EXPECT_NE(message.find("readelf -n"), std::string::npos) << message;
  }
}

TEST_F(TracedBinaryResolve, an_unmapped_binary_whose_probes_the_process_has_elsewhere_is_replaced) {
  const auto copy = dir_ / "other.so";
  std::filesystem::copy_file("/lib/x86_64-linux-gnu/libstdc++.so.6", copy);
  SourceOptions options;
  options.target_pid = ::getpid();
  options.extra_args = {copy.string()};
  resolve_traced_binaries(options, "usdt:$1:libstdcxx:throw { }");
  EXPECT_NE(options.extra_args[0].find("/libstdc++.so.6"), std::string::npos) << options.extra_args[0];
}

TEST_F(TracedBinaryResolve, a_missing_probe_in_the_mapped_binary_is_named) {
  std::string libstdcxx_mapped;
  for (const std::string& file : mapped_files(::getpid())) {
    if (file.find("/libstdc++.so.6") != std::string::npos) libstdcxx_mapped = file;
  }
  SourceOptions options;
  options.target_pid = ::getpid();
  options.extra_args = {libstdcxx_mapped};
  try {
    resolve_traced_binaries(options, "usdt:$1:libstdcxx:throw { }\nusdt:$1:libstdcxx:no_such_probe { }");
    FAIL() << "no error";
  } catch (const StartupError& e) {
    EXPECT_NE(std::string(e.what()).find("has no USDT probe libstdcxx:no_such_probe"), std::string::npos) << e.what();
  }
}

TEST_F(TracedBinaryResolve, uprobes_on_an_unmapped_library_only_warn_and_no_pid_does_nothing) {
  SourceOptions options;
  options.target_pid = ::getpid();
  options.extra_args = {"/lib/x86_64-linux-gnu/libsqlite3.so.0"};
  EXPECT_NO_THROW(resolve_traced_binaries(options, "uprobe:$1:sqlite3_step { }"));
  EXPECT_EQ(options.extra_args[0], "/lib/x86_64-linux-gnu/libsqlite3.so.0");
  options.target_pid = 0;
  options.extra_args = {"/nonexistent"};
  EXPECT_NO_THROW(resolve_traced_binaries(options, "usdt:$1:python:gc__start { }"));
}

// The binary named in the script itself: with -p, bpftrace 0.24+ attached a
// USDT probe twice for a plain path (0.27.1: 20 events for 10 requests), once
// for /proc/PID/root/<path> (10 for 10), on 0.17 and 0.23 both give 10.
TEST_F(TracedBinaryResolve, a_path_in_the_script_becomes_the_targets_root_path) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string root = "/proc/" + std::to_string(::getpid()) + "/root";
  const std::string script = "// usdt:" + self + ":x:y in a comment stays\nusdt:" + self +
                             ":libstdcxx:throw { }\nuprobe:" + self + ":main, ur:" + self +
                             ":main { }\ntracepoint:syscalls:sys_enter_openat { printf(\"usdt\"); }\n"
                             "usdt:/nonexistent/bin:p:n { }\nusdt:$1:p:n { }\n";
  std::vector<std::string> rewritten;
  const std::string out = with_target_root_paths(script, ::getpid(), &rewritten);
  EXPECT_EQ(out, "// usdt:" + self + ":x:y in a comment stays\nusdt:" + root + self + ":libstdcxx:throw { }\nuprobe:" +
                     root + self + ":main, ur:" + root + self +
                     ":main { }\ntracepoint:syscalls:sys_enter_openat { printf(\"usdt\"); }\n"
                     "usdt:/nonexistent/bin:p:n { }\nusdt:$1:p:n { }\n");
  EXPECT_EQ(rewritten, (std::vector<std::string>{self, self, self}));
  // Already through a root, or no target: unchanged.
  EXPECT_EQ(with_target_root_paths(out, ::getpid()), out);
  EXPECT_EQ(with_target_root_paths(script, 0), script);
}

TEST_F(TracedBinaryResolve, a_script_file_with_a_rewritten_path_is_passed_as_program_text) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  SourceOptions options;
  options.target_pid = ::getpid();
  options.script_path = (dir_ / "x.bt").string();
  resolve_literal_binaries(options, "usdt:" + self + ":libstdcxx:throw { }");
  EXPECT_TRUE(options.script_path.empty());
  EXPECT_EQ(options.program_text, "usdt:/proc/" + std::to_string(::getpid()) + "/root" + self + ":libstdcxx:throw { }");
  // Nothing to change: the script file stays.
  SourceOptions plain;
  plain.target_pid = ::getpid();
  plain.script_path = (dir_ / "y.bt").string();
  resolve_literal_binaries(plain, "usdt:$1:libstdcxx:throw { }");
  EXPECT_EQ(plain.script_path, (dir_ / "y.bt").string());
  EXPECT_TRUE(plain.program_text.empty());
}

}  // namespace
}  // namespace bto

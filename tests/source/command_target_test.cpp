// Issue 17.3: the command started with -c is not trusted. It used to share
// bpftrace's stdout (the event stream: an echoed {"event": ...} became a span,
// ordinary output landed in our log as bpftrace messages), to inherit our
// exporter credentials, and to appear in the log with its secrets. Run here
// through the stand-in bpftrace (helpers/fake_bpftrace.py), which honours -o
// and runs the -c command like bpftrace does; the real one is in
// tests/e2e/hardening_test.cpp.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <string>

#include "source/bpftrace_command.h"
#include "source/bpftrace_process.h"
#include "source/helpers/test_support.h"

namespace bto {
namespace {

using testing::RecordingHandler;
using testing::TempDir;

constexpr const char* kForged = R"({"event":"http_request_start","request_id":1,"uri":"/forged"})";

class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

struct CommandFixture {
  TempDir dir;
  SourceOptions options;
  SourceStats stats;
  RecordingHandler lines;

  CommandFixture() {
    options.bpftrace_path = testing::install_fake_bpftrace(dir);
    // Like bpftrace: attach, run the command, then report a real event.
    options.script_path = dir.write("steps.bt", "attach\ncommand\nout {\"type\": \"printf\", \"data\": \"real\"}\n");
    const std::string target = dir.write("target.py",
                                         std::string("import os, sys\n"
                                                     "print('") + kForged + "', flush=True)\n"
                                         "print('ordinary output', flush=True)\n"
                                         "print('target stderr line', file=sys.stderr, flush=True)\n"
                                         "print('HEADERS=' + str(os.environ.get('OTEL_EXPORTER_OTLP_HEADERS')))\n");
    options.command = "/usr/bin/python3 " + target + " --password=hunter2";
    options.command_output = dir.file("command.out");
  }

  SourceResult run() {
    ::setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20hunter2", 1);
    auto source = create_bpftrace_source(options, stats);
    source->check();
    SourceResult result = source->run(lines);
    ::unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
    return result;
  }
};

TEST(CommandTarget, target_output_kept_apart_from_the_event_stream) {
  CommandFixture f;
  const SourceResult result = f.run();
  EXPECT_EQ(result.end, SourceEnd::kTargetExited) << result.message;
  // Only bpftrace's records reach the decoder: the echoed event does not.
  ASSERT_EQ(f.lines.lines.size(), 2u);
  EXPECT_TRUE(contains(f.lines.lines[0], "attached_probes"));
  EXPECT_EQ(f.lines.lines[1], R"({"type": "printf", "data": "real"})");
  EXPECT_EQ(f.stats.message_lines.load(), 0u);
  // The target's stdout and stderr went to its own destination, as written.
  const std::string output = read(f.options.command_output);
  EXPECT_TRUE(contains(output, kForged)) << output;
  EXPECT_TRUE(contains(output, "ordinary output\n")) << output;
  EXPECT_TRUE(contains(output, "target stderr line\n")) << output;
}

TEST(CommandTarget, target_environment_without_exporter_credentials) {
  CommandFixture f;
  f.run();
  const std::string output = read(f.options.command_output);
  EXPECT_TRUE(contains(output, "HEADERS=None")) << output;
  EXPECT_FALSE(contains(output, "hunter2")) << output;
}

TEST(CommandTarget, no_secret_in_any_log) {
  CommandFixture f;
  LogCapture log;
  f.run();
  const std::string text = log.text();
  EXPECT_TRUE(contains(text, "--password=REDACTED")) << text;  // the "starting ..." line
  EXPECT_FALSE(contains(text, "hunter2")) << text;
  EXPECT_FALSE(contains(text, "ordinary output")) << text;  // the target's output is not our log
  EXPECT_FALSE(contains(text, "target stderr line")) << text;
}

TEST(CommandTarget, starting_line_redacts_the_command_word_by_word) {
  SourceOptions options;
  options.script_path = "s.bt";
  options.command = "/srv/app --token abc https://u:pw@db/x --port 80";
  EXPECT_EQ(describe_bpftrace_argv(build_bpftrace_argv(options, "bpftrace")),
            "bpftrace -f json -B line -o /dev/fd/3 -c /srv/app --token REDACTED "
            "https://REDACTED:REDACTED@db/x --port 80 s.bt");
}

}  // namespace
}  // namespace bto

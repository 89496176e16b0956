// Issue #17, item 2: broken and stalled outputs. Each test is named after the
// case it reproduces; every one failed (or hung) before the fix.
//   - a write that fails is a failed export: counted, logged once, exit non-zero;
//   - a closed pipe (`| head -1`) ends the run quietly;
//   - a stalled output (a pipe nobody reads, a collector that never answers)
//     never defeats SIGTERM or --shutdown-timeout, for every exporter.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "app_process.h"

namespace bto::apptest {
namespace {

using Clock = std::chrono::steady_clock;

// `count` HTTP requests as bpftrace tuple events (start and end each).
std::string http_events(int count, int first_id = 1, const std::string& uri = "/api/items") {
  std::string text;
  for (int i = 0; i < count; ++i) {
    const int id = first_id + i;
    const long long t = 1'000'000'000LL + id * 10'000LL;
    text += "{\"type\":\"value\",\"data\":[\"http_request_start\",\"request_id\"," + std::to_string(id) +
            ",\"method\",\"GET\",\"uri\",\"" + uri + "\",\"timestamp\"," + std::to_string(t) + ",\"tid\",7]}\n";
    text += "{\"type\":\"value\",\"data\":[\"http_request_end\",\"request_id\"," + std::to_string(id) +
            ",\"status_code\",200,\"timestamp\"," + std::to_string(t + 5000) + ",\"tid\",7]}\n";
  }
  return text;
}

// Writes `text` to the child's stdin from a thread (the pipe holds 64 KiB),
// leaving it open: the run goes on until something stops it.
std::thread feed(int fd, std::string text) {
  return std::thread([fd, text = std::move(text)] {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n <= 0) return;  // the child went away
      done += static_cast<size_t>(n);
    }
  });
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class OutputFailures : public ::testing::Test {
 protected:
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }
  TempDir dir_;
  std::string err_ = dir_.file("stderr");
};

TEST_F(OutputFailures, console_write_to_dev_full_is_a_failed_export_logged_once_and_exits_nonzero) {
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(2000));
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  for (const std::string format : {"json", "text", "tree"}) {
    Process p = Process::start({exporter_path(), "--input", input, "--console-format", format}, {::open("/dev/null", O_RDONLY | O_CLOEXEC), full, err_});
    const auto code = p.wait_for(milliseconds(20000));
    ASSERT_TRUE(code.has_value()) << format;
    EXPECT_NE(*code, 0) << format;
    const std::string err = read_file(err_);
    EXPECT_EQ(summary_value(err, "exported"), format == "tree" ? 2000 : 0) << format << err;
    if (format == "tree") {
      EXPECT_EQ(summary_value(err, "spans_unprinted"), 2000) << err;  // taken in, never shown
    } else {
      EXPECT_EQ(summary_value(err, "output_failed"), 2000) << err;
    }
    EXPECT_EQ(count_of(err, "writing to stdout failed: No space left on device"), 1u) << err;
    EXPECT_NE(err.find("spans were lost"), std::string::npos) << err;
  }
  ::close(full);
}

TEST_F(OutputFailures, closed_pipe_ends_the_run_quietly) {
  Process p = Process::start({exporter_path(), "--input", "-", "--console-format", "text"}, {-1, -1, err_});
  std::thread writer = feed(p.in, http_events(20000));
  // Read the first line, then go away like `head -1`.
  std::string first;
  char c = 0;
  while (::read(p.out, &c, 1) == 1 && c != '\n') first.push_back(c);
  EXPECT_NE(first.find("HTTP GET /api/items"), std::string::npos) << first;
  p.close_out();
  const auto started = Clock::now();
  const auto code = p.wait_for(milliseconds(10000));
  p.close_in();
  writer.join();
  ASSERT_TRUE(code.has_value()) << "still running 10 s after its stdout was closed";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(seconds_since(started), 5.0);
  const std::string err = read_file(err_);
  EXPECT_NE(err.find("stdout was closed by its reader; stopped"), std::string::npos) << err;
  EXPECT_EQ(err.find(" error "), std::string::npos) << err;
  EXPECT_EQ(err.find(" warning "), std::string::npos) << err;
}

// stdout is a pipe nobody reads; stdin stays open, so only the signal ends the run.
void expect_sigterm_honoured_with_stalled_stdout(const std::vector<std::string>& extra, const std::string& err_path) {
  std::vector<std::string> argv = {exporter_path(), "--input", "-", "--shutdown-timeout", "1s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Process p = Process::start(argv, {-1, -1, err_path});
  std::thread writer = feed(p.in, http_events(3000));
  std::this_thread::sleep_for(milliseconds(1500));  // batches written until the pipe is full
  p.signal(SIGTERM);
  const auto started = Clock::now();
  const auto code = p.wait_for(milliseconds(15000));
  p.close_in();
  writer.join();
  ASSERT_TRUE(code.has_value()) << "SIGTERM ignored with a stalled stdout";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(seconds_since(started), 1.0 + 2.5) << "past --shutdown-timeout 1s";
  const std::string err = read_file(err_path);
  EXPECT_GT(summary_value(err, "shutdown") + summary_value(err, "spans_unprinted"), 0) << err;
}

TEST_F(OutputFailures, stalled_stdout_does_not_defeat_sigterm_text) {
  expect_sigterm_honoured_with_stalled_stdout({"--console-format", "text"}, err_);
}

TEST_F(OutputFailures, stalled_stdout_does_not_defeat_sigterm_tree) {
  expect_sigterm_honoured_with_stalled_stdout({"--console-format", "tree", "--tree-settle", "0"}, err_);
}

TEST_F(OutputFailures, stalled_stdout_does_not_defeat_sigterm_file_exporter) {
  expect_sigterm_honoured_with_stalled_stdout({"--exporter", "file", "--output", "-"}, err_);
}

// End of input with the output stalled: the flush at exit keeps its deadline.
void expect_shutdown_timeout_kept(const std::vector<std::string>& argv_tail, const std::string& err_path,
                                  int stdout_fd, double timeout_s) {
  std::vector<std::string> argv = {exporter_path()};
  argv.insert(argv.end(), argv_tail.begin(), argv_tail.end());
  Process p = Process::start(argv, {::open("/dev/null", O_RDONLY | O_CLOEXEC), stdout_fd, err_path});
  const auto started = Clock::now();
  const auto code = p.wait_for(milliseconds(30000));
  ASSERT_TRUE(code.has_value()) << "hung past --shutdown-timeout";
  EXPECT_LT(seconds_since(started), timeout_s + 3.0);
}

TEST_F(OutputFailures, stalled_stdout_does_not_defeat_shutdown_timeout) {
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(3000));
  for (const std::string format : {"text", "json", "tree"}) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    expect_shutdown_timeout_kept({"--input", input, "--console-format", format, "--shutdown-timeout", "1s"}, err_,
                                 out[1], 1.0);
    const std::string err = read_file(err_);
    EXPECT_GT(summary_value(err, "shutdown") + summary_value(err, "spans_unprinted"), 0) << format << err;
    ::close(out[0]);
    ::close(out[1]);
  }
}

TEST_F(OutputFailures, file_exporter_fifo_without_reader_does_not_defeat_shutdown_timeout) {
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(500));
  const std::string fifo = dir_.file("spans.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_shutdown_timeout_kept({"--input", input, "--exporter", "file", "--output", fifo, "--shutdown-timeout", "1s"},
                               err_, ::open("/dev/null", O_WRONLY | O_CLOEXEC), 1.0);
  EXPECT_EQ(summary_value(read_file(err_), "shutdown"), 500) << read_file(err_);
}

TEST_F(OutputFailures, file_exporter_fifo_nobody_reads_does_not_defeat_shutdown_timeout) {
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(3000));
  const std::string fifo = dir_.file("spans.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // open, never read
  ASSERT_GE(reader, 0);
  expect_shutdown_timeout_kept({"--input", input, "--exporter", "file", "--output", fifo, "--shutdown-timeout", "1s",
                                "--max-export-batch-size", "100"},
                               err_, ::open("/dev/null", O_WRONLY | O_CLOEXEC), 1.0);
  EXPECT_GT(summary_value(read_file(err_), "shutdown"), 0) << read_file(err_);
  ::close(reader);
}

TEST_F(OutputFailures, file_exporter_write_to_dev_full_is_a_failed_export_and_exits_nonzero) {
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(100));
  Process p = Process::start({exporter_path(), "--input", input, "--exporter", "file", "--output", "/dev/full"},
                             {::open("/dev/null", O_RDONLY | O_CLOEXEC), ::open("/dev/null", O_WRONLY | O_CLOEXEC), err_});
  const auto code = p.wait_for(milliseconds(20000));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  const std::string err = read_file(err_);
  EXPECT_EQ(summary_value(err, "output_failed"), 100) << err;
  EXPECT_EQ(count_of(err, "writing to /dev/full failed"), 1u) << err;
}

// A collector that accepts connections and never answers.
class SilentCollector {
 public:
  SilentCollector() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 64);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentCollector() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(OutputFailures, otlp_http_collector_that_never_answers_does_not_defeat_shutdown_timeout) {
  SilentCollector collector;
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(300));
  expect_shutdown_timeout_kept({"--input", input, "--endpoint", "http://127.0.0.1:" + std::to_string(collector.port()),
                                "--timeout", "30s", "--span-metrics", "false", "--shutdown-timeout", "1s"},
                               err_, ::open("/dev/null", O_WRONLY | O_CLOEXEC), 1.0);
  EXPECT_EQ(summary_value(read_file(err_), "shutdown"), 300) << read_file(err_);
}

TEST_F(OutputFailures, otlp_grpc_collector_that_never_answers_does_not_defeat_shutdown_timeout) {
  SilentCollector collector;
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(300));
  expect_shutdown_timeout_kept({"--input", input, "--protocol", "grpc", "--endpoint",
                                "http://127.0.0.1:" + std::to_string(collector.port()), "--timeout", "30s",
                                "--span-metrics", "false", "--shutdown-timeout", "1s"},
                               err_, ::open("/dev/null", O_WRONLY | O_CLOEXEC), 1.0);
  EXPECT_EQ(summary_value(read_file(err_), "shutdown"), 300) << read_file(err_);
}

TEST_F(OutputFailures, text_view_escapes_control_characters_and_terminal_escape_sequences) {
  // A URI that would clear the screen, set the window title and break the line.
  const std::string hostile = "/a\\u001b[2J\\u001b]0;owned\\u0007\\nforged line\\u009b31m\\u202eevil";
  const std::string input = dir_.file("events.jsonl");
  write_file(input, http_events(3, 1, hostile));
  for (const std::string format : {"text", "tree"}) {
    const std::string out = dir_.file("out-" + format);
    Process p = Process::start({exporter_path(), "--input", input, "--console-format", format, "--color", "never"},
                               {::open("/dev/null", O_RDONLY | O_CLOEXEC),
                                ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err_});
    ASSERT_EQ(p.wait_for(milliseconds(20000)), std::optional<int>(0));
    const std::string text = read_file(out);
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << format << ": " << text;
    EXPECT_EQ(text.find('\x07'), std::string::npos) << format;
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << format;       // C1 CSI
    EXPECT_EQ(text.find("\xe2\x80\xae"), std::string::npos) << format;   // right-to-left override
    EXPECT_EQ(count_of(text, "\nforged line"), 0u) << format;
    EXPECT_GE(count_of(text, "\\e[2J\\e]0;owned\\x07\\nforged line\\u009b31m\\u202eevil"), 3u) << format << text;
  }
}

}  // namespace
}  // namespace bto::apptest

#include "export/local_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "export/file_exporter.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class LocalOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);
    char pattern[] = "/tmp/bto-output-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string slurp(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string dir_;
  WriteCancel cancel_;
};

TEST_F(LocalOutputTest, rotation_keeps_n_files_and_never_splits_a_record) {
  LocalOutputOptions options;
  options.path = path("spans.jsonl");
  options.max_bytes = 1000;
  options.keep = 3;
  auto output = LocalOutput::open(options);
  const std::string record = std::string(299, 'r') + "\n";  // three fit in 1000 bytes
  for (int i = 0; i < 20; ++i) ASSERT_EQ(output->write(record, cancel_), WriteStatus::kOk);
  EXPECT_EQ(output->rotations(), 6u);  // 20 records, 3 per file: 7 files written
  EXPECT_EQ(slurp(options.path).size(), 2 * record.size());
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(slurp(options.path + "." + std::to_string(i)).size(), 3 * record.size()) << i;
  EXPECT_FALSE(std::filesystem::exists(options.path + ".4"));
  // A record larger than the limit gets a file of its own.
  const std::string huge(5000, 'h');
  ASSERT_EQ(output->write(huge, cancel_), WriteStatus::kOk);
  EXPECT_EQ(slurp(options.path), huge);
}

TEST_F(LocalOutputTest, appends_to_an_existing_file) {
  std::ofstream(path("old.jsonl")) << "earlier run\n";
  LocalOutputOptions options;
  options.path = path("old.jsonl");
  auto output = LocalOutput::open(options);
  ASSERT_EQ(output->write("this run\n", cancel_), WriteStatus::kOk);
  EXPECT_EQ(slurp(options.path), "earlier run\nthis run\n");
}

TEST_F(LocalOutputTest, unopenable_path_is_a_startup_error) {
  LocalOutputOptions options;
  options.path = path("no/such/dir/spans.jsonl");
  EXPECT_THROW(LocalOutput::open(options), std::exception);
}

TEST_F(LocalOutputTest, stalled_pipe_gives_up_at_the_deadline_and_on_cancel) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto output = LocalOutput::from_fd(fds[1], "pipe");
  const std::string big(1 << 20, 'x');  // far more than the pipe holds
  auto start = Clock::now();
  EXPECT_EQ(output->write(big, cancel_, Clock::now() + milliseconds(200)), WriteStatus::kTimedOut);
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  WriteCancel other;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    other.cancel();
  });
  start = Clock::now();
  EXPECT_EQ(output->write(big, other), WriteStatus::kCancelled);
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  canceller.join();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(LocalOutputTest, a_writer_waiting_for_another_still_honours_its_own_cancel) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto output = LocalOutput::from_fd(fds[1], "pipe");
  WriteCancel stuck;
  std::thread first([&] { output->write(std::string(1 << 20, 'x'), stuck); });
  std::this_thread::sleep_for(milliseconds(100));
  const auto start = Clock::now();
  EXPECT_EQ(output->write("second\n", cancel_, Clock::now() + milliseconds(200)), WriteStatus::kTimedOut);
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  stuck.cancel();
  first.join();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(LocalOutputTest, reader_gone_closes_the_output) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto output = LocalOutput::from_fd(fds[1], "pipe");
  ::close(fds[0]);
  EXPECT_EQ(output->write("x\n", cancel_), WriteStatus::kClosed);
  EXPECT_TRUE(output->closed());
  EXPECT_EQ(output->first_error(), 0);  // a closed pipe is not an error
  ::close(fds[1]);
}

TEST_F(LocalOutputTest, disk_full_fails_the_write_and_is_remembered) {
  LocalOutputOptions options;
  options.path = "/dev/full";
  auto output = LocalOutput::open(options);
  EXPECT_EQ(output->write("x\n", cancel_), WriteStatus::kFailed);
  EXPECT_EQ(output->write("y\n", cancel_), WriteStatus::kFailed);
  EXPECT_EQ(output->first_error(), ENOSPC);
  EXPECT_EQ(output->failed_writes(), 2u);
  EXPECT_FALSE(output->closed());
}

TEST_F(LocalOutputTest, fifo_without_reader_is_opened_by_the_first_write_once_a_reader_comes) {
  const std::string fifo = path("spans.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  LocalOutputOptions options;
  options.path = fifo;
  auto output = LocalOutput::open(options);  // no reader yet: does not block
  EXPECT_EQ(output->write("early\n", cancel_, Clock::now() + milliseconds(150)), WriteStatus::kTimedOut);
  std::string received;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY);
    char buffer[64];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) received.append(buffer, static_cast<size_t>(n));
    ::close(fd);
  });
  EXPECT_EQ(output->write("hello\n", cancel_, Clock::now() + milliseconds(5000)), WriteStatus::kOk);
  output.reset();  // closes the FIFO: the reader sees the end
  reader.join();
  EXPECT_EQ(received, "hello\n");
}

TEST_F(LocalOutputTest, concurrent_writers_never_interleave_records) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto output = LocalOutput::from_fd(fds[1], "pipe");
  std::string received;
  std::thread reader([&] {
    char buffer[65536];
    for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) received.append(buffer, static_cast<size_t>(n));
  });
  std::vector<std::thread> writers;
  for (char c = 'a'; c < 'e'; ++c) {
    writers.emplace_back([&, c] {
      WriteCancel cancel;
      const std::string record = std::string(100'000, c) + "\n";  // larger than the pipe
      for (int i = 0; i < 10; ++i) EXPECT_EQ(output->write(record, cancel), WriteStatus::kOk);
    });
  }
  for (auto& writer : writers) writer.join();
  output.reset();
  ::close(fds[1]);
  reader.join();
  size_t records = 0;
  for (size_t start = 0; start < received.size(); ++records) {
    const size_t end = received.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    ASSERT_EQ(end - start, 100'000u);
    ASSERT_EQ(received.find_first_not_of(received[start], start), end) << "records interleaved";
    start = end + 1;
  }
  EXPECT_EQ(records, 40u);
}

TEST_F(LocalOutputTest, file_exporter_writes_one_request_per_line) {
  LocalOutputOptions options;
  options.path = path("spans.jsonl");
  auto output = LocalOutput::open(options);
  ResourceInfo resource;
  resource.attributes.set_string("service.name", "demo");
  auto exporter = create_file_exporter(resource, output);
  SpanRecord span;
  span.trace_id.fill(1);
  span.span_id.fill(2);
  span.name = "line\nbreak";
  const SpanRecord* batch[] = {&span, &span};
  ASSERT_EQ(exporter->export_batch(batch), ExportResult::kSuccess);
  ASSERT_EQ(exporter->export_batch(batch), ExportResult::kSuccess);
  const std::string text = slurp(options.path);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(text.rfind("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\"", 0), 0u);
  EXPECT_NE(text.find("\"name\":\"line\\nbreak\""), std::string::npos);
}

}  // namespace
}  // namespace bto

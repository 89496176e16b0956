// LineReader over real pipes: partial lines, padding, oversized lines,
// end-of-file handling, and a randomised split against a reference.

#include "source/line_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "decode/decoder.h"
#include "source/helpers/test_support.h"

namespace bto {
namespace {

using testing::RecordingHandler;

class Pipe {
 public:
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    read_ = fds[0];
    write_ = fds[1];
    ::fcntl(write_, F_SETPIPE_SZ, 1 << 20);
  }
  ~Pipe() {
    ::close(read_);
    close_write();
  }
  int read_fd() const { return read_; }
  void write(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(write_, data.data(), data.size());
      ASSERT_GT(n, 0) << std::strerror(errno);
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  void close_write() {
    if (write_ >= 0) ::close(write_);
    write_ = -1;
  }

 private:
  int read_ = -1;
  int write_ = -1;
};

// Reads until the pipe is empty (or at end of file); returns the last status.
ReadStatus drain(LineReader& reader, LineHandler& handler) {
  for (;;) {
    const ReadStatus status = reader.read_some(handler);
    if (status != ReadStatus::kData) return status;
  }
}

// Touches the padding after every line: AddressSanitizer (BTO_SANITIZE)
// reports a read past the buffer.
class PaddingCheckingHandler : public RecordingHandler {
 public:
  void on_line(std::string_view line) override {
    unsigned sum = 0;
    for (size_t i = 0; i < kLinePadding; ++i) sum += static_cast<unsigned char>(line.data()[line.size() + i]);
    padding_sum = padding_sum + sum;
    RecordingHandler::on_line(line);
  }
  volatile unsigned padding_sum = 0;
};

TEST(LineReader, splits_complete_lines) {
  Pipe pipe;
  pipe.write("one\ntwo\nthree\n");
  LineReader reader(pipe.read_fd(), 100);
  RecordingHandler lines;
  EXPECT_EQ(reader.read_some(lines), ReadStatus::kData);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(reader.read_some(lines), ReadStatus::kWouldBlock);
  EXPECT_EQ(reader.bytes_read(), 14u);
  EXPECT_EQ(reader.fd(), pipe.read_fd());
}

TEST(LineReader, joins_a_line_split_across_reads) {
  Pipe pipe;
  LineReader reader(pipe.read_fd(), 100);
  RecordingHandler lines;
  pipe.write("{\"a\":");
  EXPECT_EQ(drain(reader, lines), ReadStatus::kWouldBlock);
  EXPECT_TRUE(lines.lines.empty());
  pipe.write(" 1}\n{\"b\"");
  EXPECT_EQ(drain(reader, lines), ReadStatus::kWouldBlock);
  pipe.write(": 2}\n");
  EXPECT_EQ(drain(reader, lines), ReadStatus::kWouldBlock);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"{\"a\": 1}", "{\"b\": 2}"}));
}

TEST(LineReader, skips_empty_lines) {
  Pipe pipe;
  pipe.write("\n\na\n\n\nb\n\n");
  pipe.close_write();
  LineReader reader(pipe.read_fd(), 100);
  RecordingHandler lines;
  EXPECT_EQ(drain(reader, lines), ReadStatus::kEndOfFile);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"a", "b"}));
}

TEST(LineReader, delivers_a_final_line_without_newline_once) {
  Pipe pipe;
  pipe.write("a\nlast");
  pipe.close_write();
  LineReader reader(pipe.read_fd(), 100);
  PaddingCheckingHandler lines;
  EXPECT_EQ(drain(reader, lines), ReadStatus::kEndOfFile);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"a", "last"}));
  EXPECT_EQ(reader.read_some(lines), ReadStatus::kEndOfFile);
  EXPECT_EQ(lines.lines.size(), 2u);
}

TEST(LineReader, line_of_exactly_the_limit_passes_one_more_byte_does_not) {
  Pipe pipe;
  const std::string at_limit(64, 'a');
  const std::string over(65, 'b');
  pipe.write(at_limit + "\n" + over + "\nend\n");
  LineReader reader(pipe.read_fd(), 64);
  RecordingHandler lines;
  drain(reader, lines);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{at_limit, "end"}));
  ASSERT_EQ(lines.oversized.size(), 1u);
  EXPECT_EQ(lines.oversized[0].prefix, over);
  EXPECT_EQ(lines.oversized[0].length, 65u);
}

TEST(LineReader, oversized_line_within_one_read_reports_a_256_byte_prefix) {
  Pipe pipe;
  std::string big;
  for (int i = 0; i < 1000; ++i) big.push_back(static_cast<char>('a' + i % 26));
  pipe.write("x\n" + big + "\ny\n");
  LineReader reader(pipe.read_fd(), 300);
  RecordingHandler lines;
  drain(reader, lines);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(lines.oversized.size(), 1u);
  EXPECT_EQ(lines.oversized[0].prefix, big.substr(0, 256));
  EXPECT_EQ(lines.oversized[0].length, 1000u);
}

TEST(LineReader, oversized_line_across_many_chunks_is_skipped_with_its_exact_length) {
  Pipe pipe;
  std::string big;
  for (int i = 0; i < 10'000; ++i) big.push_back(static_cast<char>('0' + i % 10));
  LineReader reader(pipe.read_fd(), 64, /*chunk_bytes=*/16);
  PaddingCheckingHandler lines;
  pipe.write("before\n" + big.substr(0, 5000));
  drain(reader, lines);
  EXPECT_TRUE(lines.oversized.empty());  // not reported before its end
  pipe.write(big.substr(5000) + "\nafter\n");
  drain(reader, lines);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"before", "after"}));
  ASSERT_EQ(lines.oversized.size(), 1u);
  EXPECT_EQ(lines.oversized[0].length, 10'000u);
  ASSERT_FALSE(lines.oversized[0].prefix.empty());
  EXPECT_LE(lines.oversized[0].prefix.size(), 256u);
  EXPECT_EQ(lines.oversized[0].prefix, big.substr(0, lines.oversized[0].prefix.size()));
}

TEST(LineReader, oversized_final_line_without_newline_is_reported_at_end_of_file) {
  Pipe pipe;
  const std::string big(500, 'z');
  pipe.write("ok\n" + big);
  pipe.close_write();
  LineReader reader(pipe.read_fd(), 64, 16);
  RecordingHandler lines;
  EXPECT_EQ(drain(reader, lines), ReadStatus::kEndOfFile);
  EXPECT_EQ(lines.lines, (std::vector<std::string>{"ok"}));
  ASSERT_EQ(lines.oversized.size(), 1u);
  EXPECT_EQ(lines.oversized[0].length, 500u);
  EXPECT_EQ(lines.oversized[0].prefix, big.substr(0, lines.oversized[0].prefix.size()));
}

TEST(LineReader, matches_a_reference_split_for_random_writes) {
  std::mt19937 random(12345);
  std::string data;
  std::vector<std::string> expected_lines;
  std::vector<size_t> expected_oversized;
  constexpr size_t kMax = 80;
  for (int i = 0; i < 3000; ++i) {
    const size_t length = random() % 7 == 0 ? random() % 400 : random() % (kMax + 1);
    std::string line;
    for (size_t j = 0; j < length; ++j) line.push_back(static_cast<char>('!' + random() % 90));
    data += line + "\n";
    if (length > kMax) {
      expected_oversized.push_back(length);
    } else if (length > 0) {
      expected_lines.push_back(line);
    }
  }
  Pipe pipe;
  LineReader reader(pipe.read_fd(), kMax, /*chunk_bytes=*/37);
  PaddingCheckingHandler lines;
  for (size_t at = 0; at < data.size();) {
    const size_t n = std::min<size_t>(1 + random() % 150, data.size() - at);
    pipe.write(std::string_view(data).substr(at, n));
    at += n;
    if (random() % 3 == 0) drain(reader, lines);
  }
  pipe.close_write();
  EXPECT_EQ(drain(reader, lines), ReadStatus::kEndOfFile);
  EXPECT_EQ(lines.lines, expected_lines);
  ASSERT_EQ(lines.oversized.size(), expected_oversized.size());
  for (size_t i = 0; i < expected_oversized.size(); ++i) EXPECT_EQ(lines.oversized[i].length, expected_oversized[i]);
  EXPECT_EQ(reader.bytes_read(), data.size());
}

TEST(LineReader, read_error_is_reported_with_errno) {
  LineReader reader(-1, 100);
  RecordingHandler lines;
  errno = 0;
  EXPECT_EQ(reader.read_some(lines), ReadStatus::kError);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace bto

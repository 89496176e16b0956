#pragma once
// Stage 1 (bytes -> lines): reads a file descriptor in large chunks and splits
// lines in place, without copying. Every line handed out has kLinePadding
// readable bytes after it (the decoder's simdjson padding). Lines longer than
// the limit are skipped up to their newline and reported with their prefix.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace bto {

class LineHandler {
 public:
  virtual ~LineHandler() = default;
  virtual void on_line(std::string_view line) = 0;
  // The first bytes of a line that exceeded the limit, and its full length.
  virtual void on_oversized_line(std::string_view prefix, size_t length) = 0;
};

enum class ReadStatus { kData, kEndOfFile, kWouldBlock, kError };

class LineReader {
 public:
  LineReader(int fd, size_t max_line_bytes, size_t chunk_bytes = 1 << 20);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // One read(2); complete lines go to the handler. At end of file a final
  // line without a newline is delivered too. kError leaves errno set.
  ReadStatus read_some(LineHandler& handler);
  int fd() const noexcept { return fd_; }
  uint64_t bytes_read() const noexcept { return bytes_read_; }

 private:
  void split_lines(LineHandler& handler, bool at_eof);

  int fd_;
  size_t max_line_bytes_;
  size_t chunk_bytes_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_;
  size_t begin_ = 0;  // start of the unconsumed (partial) line
  size_t end_ = 0;    // end of data
  size_t scanned_ = 0;  // bytes after begin_ already known to hold no newline
  bool skipping_ = false;  // inside an oversized line
  size_t skipped_length_ = 0;
  std::string oversized_prefix_;
  uint64_t bytes_read_ = 0;
};

}  // namespace bto

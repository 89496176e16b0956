#include "source/line_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "decode/decoder.h"

namespace bto {

LineReader::LineReader(int fd, size_t max_line_bytes, size_t chunk_bytes)
    : fd_(fd),
      max_line_bytes_(max_line_bytes),
      chunk_bytes_(chunk_bytes),
      capacity_(chunk_bytes + max_line_bytes + kLinePadding) {
  buffer_ = std::make_unique<char[]>(capacity_);
}

LineReader::~LineReader() = default;

ReadStatus LineReader::read_some(LineHandler& handler) {
  // Keep room for one chunk plus the padding after the data.
  if (capacity_ - end_ < chunk_bytes_ + kLinePadding) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const ssize_t n = ::read(fd_, buffer_.get() + end_, chunk_bytes_);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadStatus::kWouldBlock;
    if (errno == EINTR) return ReadStatus::kData;
    return ReadStatus::kError;
  }
  if (n == 0) {
    split_lines(handler, /*at_eof=*/true);
    return ReadStatus::kEndOfFile;
  }
  end_ += static_cast<size_t>(n);
  bytes_read_ += static_cast<uint64_t>(n);
  split_lines(handler, /*at_eof=*/false);
  return ReadStatus::kData;
}

void LineReader::split_lines(LineHandler& handler, bool at_eof) {
  char* const base = buffer_.get();
  while (begin_ < end_) {
    const size_t search_from = begin_ + scanned_;
    const void* found = std::memchr(base + search_from, '\n', end_ - search_from);
    if (found == nullptr) {
      scanned_ = end_ - begin_;
      break;
    }
    const size_t newline = static_cast<size_t>(static_cast<const char*>(found) - base);
    const size_t length = newline - begin_;
    if (skipping_) {
      skipping_ = false;
      handler.on_oversized_line(oversized_prefix_, skipped_length_ + length);
    } else if (length > max_line_bytes_) {
      handler.on_oversized_line({base + begin_, std::min<size_t>(length, 256)}, length);
    } else if (length > 0) {
      handler.on_line({base + begin_, length});
    }
    begin_ = newline + 1;
    scanned_ = 0;
  }
  const size_t pending = end_ - begin_;
  if (at_eof) {
    if (skipping_) {
      handler.on_oversized_line(oversized_prefix_, skipped_length_ + pending);
    } else if (pending > max_line_bytes_) {
      handler.on_oversized_line({base + begin_, std::min<size_t>(pending, 256)}, pending);
    } else if (pending > 0) {
      std::memset(base + end_, 0, kLinePadding);
      handler.on_line({base + begin_, pending});
    }
    begin_ = end_ = scanned_ = 0;
    skipping_ = false;
    return;
  }
  if (pending > max_line_bytes_ || (skipping_ && pending > 0)) {
    // Too long already: keep its prefix for the report, drop the bytes until
    // the newline arrives, so memory stays bounded by max_line_bytes.
    if (!skipping_) {
      oversized_prefix_.assign(base + begin_, std::min<size_t>(pending, 256));
      skipping_ = true;
      skipped_length_ = 0;
    }
    skipped_length_ += pending;
    begin_ = end_ = scanned_ = 0;
  }
}

}  // namespace bto

#include "export/spool_format.h"

#include <libdeflate.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace bto::spool_format {
namespace {

void put32(char* out, uint32_t value) noexcept {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

uint32_t get32(const char* in) noexcept {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return value;
}

// Header bytes 8..24 (length, spans, encoding + 3 reserved, payload CRC) are
// what the header CRC at 24 covers.
constexpr size_t kCoveredBegin = 8;
constexpr size_t kCoveredEnd = 24;

bool fits(const RecordHeader& header, uint64_t offset, uint64_t end) noexcept {
  return offset <= end && end - offset >= kSpoolRecordHeaderBytes &&
         header.length <= end - offset - kSpoolRecordHeaderBytes;
}

// The first offset in (from, end) where a valid record header that fits
// starts; `end` when there is none. Reads in 64 KiB windows.
uint64_t find_next_record(int fd, uint64_t from, uint64_t end) noexcept {
  constexpr size_t kWindow = 64 * 1024;
  std::vector<char> window(kWindow + kSpoolRecordHeaderBytes);
  char magic[4];
  put32(magic, kRecordMagic);
  for (uint64_t start = from + 1; start + kSpoolRecordHeaderBytes <= end; start += kWindow) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(window.size(), end - start));
    if (!pread_all(fd, window.data(), n, start)) return end;
    for (size_t i = 0; i + kSpoolRecordHeaderBytes <= n && i < kWindow; ++i) {
      if (std::memcmp(window.data() + i, magic, 4) != 0) continue;
      char bytes[kSpoolRecordHeaderBytes];
      std::memcpy(bytes, window.data() + i, sizeof bytes);
      RecordHeader header;
      if (read_record_header(bytes, header) && fits(header, start + i, end)) return start + i;
    }
  }
  return end;
}

}  // namespace

uint32_t crc32(std::string_view bytes) noexcept {
  return libdeflate_crc32(0, bytes.data(), bytes.size());
}

void write_segment_header(char (&out)[kSpoolSegmentHeaderBytes]) noexcept {
  std::memcpy(out, kSegmentMagic, sizeof kSegmentMagic);
  put32(out + 8, kFormatVersion);
  put32(out + 12, 0);
}

bool read_segment_header(const char (&in)[kSpoolSegmentHeaderBytes], uint32_t& version) noexcept {
  if (std::memcmp(in, kSegmentMagic, sizeof kSegmentMagic) != 0) return false;
  version = get32(in + 8);
  return true;
}

void write_record_header(const RecordHeader& header, char (&out)[kSpoolRecordHeaderBytes]) noexcept {
  put32(out, kRecordMagic);
  put32(out + kStateOffset, header.state);
  put32(out + 8, header.length);
  put32(out + 12, header.spans);
  out[16] = static_cast<char>(header.encoding);
  out[17] = out[18] = out[19] = 0;
  put32(out + 20, header.payload_crc);
  put32(out + 24, crc32(std::string_view(out + kCoveredBegin, kCoveredEnd - kCoveredBegin)));
}

bool read_record_header(const char (&in)[kSpoolRecordHeaderBytes], RecordHeader& header) noexcept {
  if (get32(in) != kRecordMagic) return false;
  if (get32(in + 24) != crc32(std::string_view(in + kCoveredBegin, kCoveredEnd - kCoveredBegin))) return false;
  header.state = get32(in + kStateOffset);
  header.length = get32(in + 8);
  header.spans = get32(in + 12);
  header.encoding = static_cast<uint8_t>(in[16]);
  header.payload_crc = get32(in + 20);
  return true;
}

bool pread_all(int fd, void* data, size_t size, uint64_t offset) noexcept {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool pwrite_all(int fd, const void* data, size_t size, uint64_t offset) noexcept {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool peek_record(int fd, uint64_t offset, uint64_t end, RecordHeader& header) noexcept {
  if (offset > end || end - offset < kSpoolRecordHeaderBytes) return false;
  char bytes[kSpoolRecordHeaderBytes];
  return pread_all(fd, bytes, sizeof bytes, offset) && read_record_header(bytes, header) &&
         fits(header, offset, end);
}

ReadResult read_record(int fd, uint64_t offset, uint64_t end, RecordHeader& header, std::string& body,
                       uint64_t& next) noexcept {
  if (offset >= end) return ReadResult::kEnd;
  if (!peek_record(fd, offset, end, header)) {
    next = find_next_record(fd, offset, end);
    return ReadResult::kDamaged;
  }
  next = offset + kSpoolRecordHeaderBytes + header.length;
  try {
    body.resize(header.length);
  } catch (const std::exception&) {
    return ReadResult::kDamaged;  // out of memory: skipped like a damaged record, and counted
  }
  if (!pread_all(fd, body.data(), body.size(), offset + kSpoolRecordHeaderBytes) ||
      crc32(body) != header.payload_crc) {
    // The header is sound, so its length is: only this record is lost.
    return ReadResult::kDamaged;
  }
  return ReadResult::kRecord;
}

}  // namespace bto::spool_format

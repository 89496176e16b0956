#pragma once
// The spool's on-disk format (layout in spool.h): segment and record headers,
// checksums, and reading a record back with everything checked. Integers are
// little-endian whatever the host. Internal to export/ (and its tests).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "export/spool.h"

namespace bto::spool_format {

inline constexpr char kSegmentMagic[8] = {'B', 'T', 'O', 'S', 'P', 'O', 'O', 'L'};
inline constexpr uint32_t kFormatVersion = 1;
// Record magic and states, as the ASCII they read as in a hex dump.
inline constexpr uint32_t kRecordMagic = 0x524F5442;  // "BTOR"
inline constexpr uint32_t kStateWait = 0x54494157;    // "WAIT": appended, never tried
inline constexpr uint32_t kStateSend = 0x444E4553;    // "SEND": being (or was being) sent
inline constexpr uint32_t kStateDone = 0x454E4F44;    // "DONE": accepted or refused for good
inline constexpr size_t kStateOffset = 4;             // of the state word in a record
// A record larger than this is not spooled (a length field is 32 bits).
inline constexpr uint64_t kMaxPayload = 0xFFFFFFFFull - kSpoolRecordHeaderBytes;

struct RecordHeader {
  uint32_t state = kStateWait;
  uint32_t length = 0;  // payload bytes
  uint32_t spans = 0;
  uint8_t encoding = 0;
  uint32_t payload_crc = 0;
};

uint32_t crc32(std::string_view bytes) noexcept;

void write_segment_header(char (&out)[kSpoolSegmentHeaderBytes]) noexcept;
// False unless `in` starts with the magic; `version` gets the format version.
bool read_segment_header(const char (&in)[kSpoolSegmentHeaderBytes], uint32_t& version) noexcept;

// Fills in the header CRC (over length, spans, encoding and payload CRC).
void write_record_header(const RecordHeader& header, char (&out)[kSpoolRecordHeaderBytes]) noexcept;
// False when the magic or the header CRC is wrong. The state word is not
// covered by the CRC (it is rewritten in place).
bool read_record_header(const char (&in)[kSpoolRecordHeaderBytes], RecordHeader& header) noexcept;

bool pread_all(int fd, void* data, size_t size, uint64_t offset) noexcept;
bool pwrite_all(int fd, const void* data, size_t size, uint64_t offset) noexcept;

enum class ReadResult {
  kRecord,   // header and body read, both CRCs right
  kDamaged,  // nothing usable at `offset`; the next valid record starts at `next`
  kEnd,      // offset >= end
};

// Reads the record at `offset` of a segment whose data ends at `end`. For
// kRecord `next` is the following record; for kDamaged it is the first offset
// after `offset` where a record with a valid header starts (or `end`): a torn
// or flipped record costs only itself.
ReadResult read_record(int fd, uint64_t offset, uint64_t end, RecordHeader& header, std::string& body,
                       uint64_t& next) noexcept;

// Reads only the header at `offset` (no payload CRC check): for counting what a
// dropped segment held. False when it is not a valid header that fits.
bool peek_record(int fd, uint64_t offset, uint64_t end, RecordHeader& header) noexcept;

}  // namespace bto::spool_format

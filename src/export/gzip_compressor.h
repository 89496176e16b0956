#pragma once
// gzip (RFC 1952) of a whole request body in one call (libdeflate): the body
// is complete in memory before it is sent, so a streaming API buys nothing.

#include <string>
#include <string_view>

struct libdeflate_compressor;

namespace bto {

// What the OTLP exporters compress with: level 1 costs about a third less CPU
// than 6 for about 10% more bytes, and CPU is the scarcer resource beside the
// traced application (docs/performance.md).
inline constexpr int kOtlpGzipLevel = 1;

class GzipCompressor {
 public:
  // Level 1..12 (libdeflate's scale; 1 is fastest). Out-of-range levels are clamped.
  explicit GzipCompressor(int level = 6);
  ~GzipCompressor();
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  // Replaces `out` with the compressed `in`. False only if the compressor
  // could not be created or `out` could not grow.
  bool compress(std::string_view in, std::string& out) noexcept;

 private:
  libdeflate_compressor* compressor_ = nullptr;
};

}  // namespace bto

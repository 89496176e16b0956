#include "export/gzip_compressor.h"

#include <libdeflate.h>

#include <algorithm>

namespace bto {

GzipCompressor::GzipCompressor(int level) : compressor_(libdeflate_alloc_compressor(std::clamp(level, 1, 12))) {}

GzipCompressor::~GzipCompressor() {
  if (compressor_ != nullptr) libdeflate_free_compressor(compressor_);
}

bool GzipCompressor::compress(std::string_view in, std::string& out) noexcept {
  if (compressor_ == nullptr) return false;
  const size_t bound = libdeflate_gzip_compress_bound(compressor_, in.size());
  try {
    // resize() keeps the capacity, so a steady stream of batches allocates nothing.
    out.resize(bound);
  } catch (...) {
    return false;
  }
  const size_t written = libdeflate_gzip_compress(compressor_, in.data(), in.size(), out.data(), out.size());
  if (written == 0) return false;  // cannot happen with the bound above
  out.resize(written);
  return true;
}

}  // namespace bto

#pragma once
// Private to decode/: a growable byte buffer that always keeps kLinePadding
// readable bytes past what it holds, for simdjson. Grows geometrically and never
// shrinks, so steady state does not allocate.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

#include "decode/decoder.h"

namespace bto {

class PaddedBuffer {
 public:
  // Room for `size` bytes plus padding; previous contents are not kept.
  char* reserve(size_t size) {
    if (size + kLinePadding > capacity_) {
      size_t capacity = capacity_ == 0 ? 4096 : capacity_;
      while (capacity < size + kLinePadding) capacity *= 2;
      data_ = std::make_unique<char[]>(capacity);
      capacity_ = capacity;
    }
    return data_.get();
  }
  // Bytes readable from `p` (a pointer into this buffer) to its end.
  size_t readable_from(const char* p) const noexcept {
    return capacity_ - static_cast<size_t>(p - data_.get());
  }
  char* data() noexcept { return data_.get(); }
  size_t capacity() const noexcept { return capacity_; }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
};

}  // namespace bto

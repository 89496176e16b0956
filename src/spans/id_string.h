#pragma once
// Private to spans/: an open span's correlation id (at most kMaxIdBytes).
// 24 bytes where std::string takes 32: 100k open spans each hold one
// (docs/performance.md, the memory target). Ids of up to 16 bytes (any
// decimal request id) live inline; longer ones on the heap, whose capacity
// is kept when the node is reused, as std::string's is.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace bto {

class IdString {
 public:
  static constexpr size_t kInline = 16;

  IdString() noexcept : inline_{} {}
  IdString(const IdString&) = delete;
  IdString& operator=(const IdString&) = delete;
  ~IdString() {
    if (heap_capacity_ != 0) delete[] heap_;
  }

  void assign(std::string_view text) {
    if (heap_capacity_ == 0 && text.size() <= kInline) {
      std::memcpy(inline_, text.data(), text.size());
    } else {
      if (text.size() > heap_capacity_) {
        const size_t capacity = std::max(text.size(), size_t{2} * std::max<size_t>(heap_capacity_, kInline));
        char* const grown = new char[capacity];
        if (heap_capacity_ != 0) delete[] heap_;
        heap_ = grown;
        heap_capacity_ = static_cast<uint32_t>(capacity);
      }
      std::memcpy(heap_, text.data(), text.size());
    }
    size_ = static_cast<uint32_t>(text.size());
  }

  std::string_view view() const noexcept { return {heap_capacity_ != 0 ? heap_ : inline_, size_}; }
  // Implicit, as std::string converts: the id is read where a view is taken.
  operator std::string_view() const noexcept { return view(); }

  // What it holds on the heap (0: inline), for the MemoryBudget.
  size_t heap_capacity() const noexcept { return heap_capacity_; }

 private:
  union {
    char inline_[kInline];
    char* heap_;
  };
  uint32_t size_ = 0;
  uint32_t heap_capacity_ = 0;  // 0: inline_
};

static_assert(sizeof(IdString) == 24);

}  // namespace bto

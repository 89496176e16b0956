#pragma once
// Private to spans/: fixed-address nodes (open spans, held ends) in chunks of
// kChunk, recycled through a free list. std::deque would use 512-byte blocks:
// three OpenSpans and 56 bytes of slack each.

#include <cstddef>
#include <memory>
#include <vector>

namespace bto {

template <typename T>
class NodePool {
 public:
  T* get() {
    if (!free_.empty()) {
      T* node = free_.back();
      free_.pop_back();
      return node;
    }
    if (chunks_.empty() || used_in_last_ == kChunk) {
      chunks_.push_back(std::make_unique<T[]>(kChunk));
      used_in_last_ = 0;
    }
    return &chunks_.back()[used_in_last_++];
  }
  void put(T* node) { free_.push_back(node); }

 private:
  static constexpr size_t kChunk = 256;
  std::vector<std::unique_ptr<T[]>> chunks_;  // stable addresses
  size_t used_in_last_ = 0;
  std::vector<T*> free_;
};

}  // namespace bto

#include "spans/flat_index.h"

#include <chrono>
#include <random>

namespace bto::flat_index_detail {

uint64_t process_seed() noexcept {
  static const uint64_t seed = [] {
    uint64_t value = 0;
    try {
      std::random_device device;
      value = (static_cast<uint64_t>(device()) << 32) ^ device();
    } catch (...) {
      value = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    return mix(value ^ 0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL);
  }();
  return seed;
}

}  // namespace bto::flat_index_detail

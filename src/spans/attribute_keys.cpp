#include "spans/attribute_keys.h"

#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <string>

#include "spans/flat_index.h"

namespace bto {
namespace {

// Open addressing at most half full; slots only ever go from null to a key.
constexpr size_t kSlots = kMaxAttributeKeys * 2;
static_assert((kSlots & (kSlots - 1)) == 0);

struct KeyStore {
  std::array<std::atomic<const std::string*>, kSlots> slots{};
  std::mutex insert_mutex;
  std::deque<std::string> keys;  // stable addresses
  std::atomic<size_t> count{0};
  std::atomic<uint64_t> refused{0};
};

KeyStore& store() {
  static KeyStore instance;
  return instance;
}

}  // namespace

bool intern_attribute_key(std::string_view key, std::string_view& out, KeySource source) noexcept {
  KeyStore& keys = store();
  if (key.size() > kMaxAttributeKeyBytes) {
    keys.refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const uint64_t hash = flat_index_detail::hash_key(key, flat_index_detail::process_seed());
  size_t i = hash & (kSlots - 1);
  for (;; i = (i + 1) & (kSlots - 1)) {
    const std::string* stored = keys.slots[i].load(std::memory_order_acquire);
    if (stored == nullptr) break;
    if (*stored == key) {
      out = *stored;
      return true;
    }
  }
  std::lock_guard<std::mutex> lock(keys.insert_mutex);
  // Another thread may have filled this run since the lock-free probe.
  for (;; i = (i + 1) & (kSlots - 1)) {
    const std::string* stored = keys.slots[i].load(std::memory_order_acquire);
    if (stored == nullptr) break;
    if (*stored == key) {
      out = *stored;
      return true;
    }
  }
  const size_t room = source == KeySource::kEvent ? kMaxAttributeKeys - kReservedAttributeKeys : kMaxAttributeKeys;
  if (keys.count.load(std::memory_order_relaxed) >= room) {
    keys.refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  try {
    const std::string& copy = keys.keys.emplace_back(key);
    keys.slots[i].store(&copy, std::memory_order_release);
    keys.count.fetch_add(1, std::memory_order_relaxed);
    out = copy;
    return true;
  } catch (...) {
    return false;
  }
}

uint64_t refused_attribute_key_count() noexcept { return store().refused.load(std::memory_order_relaxed); }

size_t interned_attribute_key_count() noexcept { return store().count.load(std::memory_order_relaxed); }

}  // namespace bto

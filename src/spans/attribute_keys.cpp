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

// Per thread, direct-mapped: the keys this thread interned last. Entries point
// into the store (never freed), so a hit is checked by text and needs no lock.
// A stored key is returned whatever the source, so the cache needs none.
constexpr size_t kRecentKeys = 256;
thread_local std::array<const std::string*, kRecentKeys> recent_keys{};

size_t recent_index(std::string_view key) noexcept {
  const uint64_t tag = (key_detail::key_ends(key) + key.size()) * 0x9E3779B97F4A7C15ULL;
  return static_cast<size_t>(tag >> 56);
}

// The stored copy of `key`, added if new and there is room for its source;
// nullptr when refused (counted).
const std::string* intern_in_store(std::string_view key, KeySource source) noexcept {
  KeyStore& keys = store();
  if (key.size() > kMaxAttributeKeyBytes) {
    keys.refused.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const uint64_t hash = flat_index_detail::hash_key(key, flat_index_detail::process_seed());
  size_t i = hash & (kSlots - 1);
  for (;; i = (i + 1) & (kSlots - 1)) {
    const std::string* stored = keys.slots[i].load(std::memory_order_acquire);
    if (stored == nullptr) break;
    if (same_key(*stored, key)) return stored;
  }
  std::lock_guard<std::mutex> lock(keys.insert_mutex);
  // Another thread may have filled this run since the lock-free probe.
  for (;; i = (i + 1) & (kSlots - 1)) {
    const std::string* stored = keys.slots[i].load(std::memory_order_acquire);
    if (stored == nullptr) break;
    if (same_key(*stored, key)) return stored;
  }
  const size_t room = source == KeySource::kEvent ? kMaxAttributeKeys - kReservedAttributeKeys : kMaxAttributeKeys;
  if (keys.count.load(std::memory_order_relaxed) >= room) {
    keys.refused.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  try {
    const std::string& copy = keys.keys.emplace_back(key);
    keys.slots[i].store(&copy, std::memory_order_release);
    keys.count.fetch_add(1, std::memory_order_relaxed);
    return &copy;
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

bool intern_attribute_key(std::string_view key, std::string_view& out, KeySource source) noexcept {
  const std::string*& recent = recent_keys[recent_index(key)];
  if (recent == nullptr || !same_key(*recent, key)) {
    const std::string* stored = intern_in_store(key, source);
    if (stored == nullptr) return false;
    recent = stored;
  }
  out = *recent;
  return true;
}

uint64_t refused_attribute_key_count() noexcept { return store().refused.load(std::memory_order_relaxed); }

size_t interned_attribute_key_count() noexcept { return store().count.load(std::memory_order_relaxed); }

}  // namespace bto

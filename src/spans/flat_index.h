#pragma once
// Private to spans/: a hash index from a key to an object that holds the key
// itself (`Key` is a pointer to member: &OpenSpan::id, &OpenSpan::tid).
// Open addressing with linear probing and backward-shift deletion, so a slot
// is 16 bytes, lookups touch one cache line in the common case, and nothing
// is allocated once the table has grown to its steady size.
//
// Keys come from untrusted events: the hash is seeded per process so chosen
// ids cannot be precomputed to collide (not a cryptographic guarantee; the
// table's size is bounded by the correlator's own limits either way).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace bto {

namespace flat_index_detail {

uint64_t process_seed() noexcept;

inline uint64_t mix(uint64_t a, uint64_t b) noexcept {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t hash_key(std::string_view key, uint64_t seed) noexcept {
  constexpr uint64_t kM1 = 0xa0761d6478bd642fULL;
  constexpr uint64_t kM2 = 0xe7037ed1a0b428dbULL;
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = seed ^ (n * kM1);
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = mix(h ^ word, kM2);
    p += 8;
    n -= 8;
  }
  if (n != 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = mix(h ^ word, kM2 ^ n);
  }
  return mix(h, kM1);
}

inline uint64_t hash_key(int64_t key, uint64_t seed) noexcept {
  return mix(static_cast<uint64_t>(key) ^ seed, 0xe7037ed1a0b428dbULL);
}

}  // namespace flat_index_detail

template <typename T, auto Key>
class FlatIndex {
  using Stored = std::remove_cvref_t<decltype(std::declval<T&>().*Key)>;

 public:
  // Integers as they are; strings (std::string, IdString) as a view.
  using KeyView = std::conditional_t<std::is_integral_v<Stored>, Stored, std::string_view>;

  FlatIndex() : seed_(flat_index_detail::process_seed()) { slots_.resize(kInitialCapacity); }

  // The stored pointer, which may be replaced by another object with the same key.
  T** find(KeyView key) noexcept {
    const uint64_t hash = flat_index_detail::hash_key(key, seed_);
    for (size_t i = hash & mask(); slots_[i].value != nullptr; i = (i + 1) & mask()) {
      if (slots_[i].hash == hash && KeyView(slots_[i].value->*Key) == key) return &slots_[i].value;
    }
    return nullptr;
  }

  // Precondition: no object with this key is present; `value->*Key == key`.
  void insert(KeyView key, T* value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(flat_index_detail::hash_key(key, seed_), value);
    ++size_;
  }

  bool erase(KeyView key) noexcept {
    T** found = find(key);
    if (found == nullptr) return false;
    remove_at(static_cast<size_t>(reinterpret_cast<Slot*>(found) - slots_.data()));
    --size_;
    return true;
  }

  // The slot of `key`; when absent, `key` is inserted with `value` first
  // (`inserted` says so). One hash, one probe. Precondition: `value->*Key == key`.
  T** find_or_insert(KeyView key, T* value, bool& inserted) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t hash = flat_index_detail::hash_key(key, seed_);
    size_t i = hash & mask();
    for (; slots_[i].value != nullptr; i = (i + 1) & mask()) {
      if (slots_[i].hash == hash && KeyView(slots_[i].value->*Key) == key) {
        inserted = false;
        return &slots_[i].value;
      }
    }
    slots_[i] = Slot{value, hash};
    ++size_;
    inserted = true;
    return &slots_[i].value;
  }

  // Removes the entry `found` (what find() returned, no insert or erase since).
  void erase_found(T** found) noexcept {
    remove_at(static_cast<size_t>(reinterpret_cast<Slot*>(found) - slots_.data()));
    --size_;
  }

  // Removes `key` only while it still maps to `value` (a ring entry being
  // recycled whose key a newer entry may have taken over).
  void erase_if_maps_to(KeyView key, const T* value) noexcept {
    T** found = find(key);
    if (found == nullptr || *found != value) return;
    remove_at(static_cast<size_t>(reinterpret_cast<Slot*>(found) - slots_.data()));
    --size_;
  }

  // Points `key` at `value`, replacing whatever it mapped to; one hash, one probe.
  // Precondition: `value->*Key == key`.
  void insert_or_replace(KeyView key, T* value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t hash = flat_index_detail::hash_key(key, seed_);
    size_t i = hash & mask();
    for (; slots_[i].value != nullptr; i = (i + 1) & mask()) {
      if (slots_[i].hash == hash && KeyView(slots_[i].value->*Key) == key) {
        slots_[i].value = value;
        return;
      }
    }
    slots_[i] = Slot{value, hash};
    ++size_;
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  // `value` first: find() hands out a pointer to it, converted back in erase().
  struct Slot {
    T* value = nullptr;
    uint64_t hash = 0;
  };
  static_assert(offsetof(Slot, value) == 0);
  static constexpr size_t kInitialCapacity = 16;

  size_t mask() const noexcept { return slots_.size() - 1; }

  void place(uint64_t hash, T* value) noexcept {
    size_t i = hash & mask();
    while (slots_[i].value != nullptr) i = (i + 1) & mask();
    slots_[i] = Slot{value, hash};
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (slot.value != nullptr) place(slot.hash, slot.value);
    }
  }

  // Backward-shift deletion: later members of the probe run move up so that
  // lookups never stop early at the hole.
  void remove_at(size_t hole) noexcept {
    size_t next = hole;
    for (;;) {
      next = (next + 1) & mask();
      if (slots_[next].value == nullptr) break;
      const size_t home = slots_[next].hash & mask();
      const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
      if (stays) continue;
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole] = Slot{};
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  uint64_t seed_;
};

}  // namespace bto

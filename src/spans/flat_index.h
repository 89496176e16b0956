#pragma once
// Private to spans/: a hash index from a key to an object that holds the key
// itself (`Key` is a pointer to member: &OpenSpan::id, &OpenSpan::tid).
// Open addressing with linear probing and backward-shift deletion, so a slot
// is 12 bytes (the pointer and 32 bits of the hash: 100k open spans keep
// 262144 slots, docs/performance.md's memory target), lookups touch one
// cache line in the common case, and nothing is allocated once the table has
// grown to its steady size.
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
  struct Slot;

 public:
  // Integers as they are; strings (std::string, IdString) as a view.
  using KeyView = std::conditional_t<std::is_integral_v<Stored>, Stored, std::string_view>;

  // A key's slot as find() found it: the object stored, replaceable in place
  // by another object with the same key, until the next insert or erase.
  class Ref {
   public:
    Ref() noexcept = default;
    explicit operator bool() const noexcept { return slot_ != nullptr; }
    T* get() const noexcept { return slot_->value(); }
    void set(T* value) const noexcept { slot_->set_value(value); }

   private:
    friend class FlatIndex;
    explicit Ref(Slot* slot) noexcept : slot_(slot) {}
    Slot* slot_ = nullptr;
  };

  FlatIndex() : seed_(flat_index_detail::process_seed()) { slots_.resize(kInitialCapacity); }

  Ref find(KeyView key) noexcept {
    const uint32_t hash = hash_of(key);
    for (size_t i = hash & mask(); !slots_[i].empty(); i = (i + 1) & mask()) {
      if (slots_[i].hash == hash && KeyView(slots_[i].value()->*Key) == key) return Ref(&slots_[i]);
    }
    return Ref();
  }

  // Precondition: no object with this key is present; `value->*Key == key`.
  void insert(KeyView key, T* value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(hash_of(key), value);
    ++size_;
  }

  bool erase(KeyView key) noexcept {
    const Ref found = find(key);
    if (!found) return false;
    erase_found(found);
    return true;
  }

  // The slot of `key`; when absent, `key` is inserted with `value` first
  // (`inserted` says so). One hash, one probe. Precondition: `value->*Key == key`.
  Ref find_or_insert(KeyView key, T* value, bool& inserted) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint32_t hash = hash_of(key);
    size_t i = hash & mask();
    for (; !slots_[i].empty(); i = (i + 1) & mask()) {
      if (slots_[i].hash == hash && KeyView(slots_[i].value()->*Key) == key) {
        inserted = false;
        return Ref(&slots_[i]);
      }
    }
    slots_[i].assign(value, hash);
    ++size_;
    inserted = true;
    return Ref(&slots_[i]);
  }

  // Removes the entry `found` (what find() returned, no insert or erase since).
  void erase_found(Ref found) noexcept {
    remove_at(static_cast<size_t>(found.slot_ - slots_.data()));
    --size_;
  }

  // Removes `key` only while it still maps to `value` (a ring entry being
  // recycled whose key a newer entry may have taken over).
  void erase_if_maps_to(KeyView key, const T* value) noexcept {
    const Ref found = find(key);
    if (found && found.get() == value) erase_found(found);
  }

  // Points `key` at `value`, replacing whatever it mapped to; one hash, one probe.
  // Precondition: `value->*Key == key`.
  void insert_or_replace(KeyView key, T* value) {
    bool inserted = false;
    find_or_insert(key, value, inserted).set(value);
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  // The pointer as bytes, so that a slot is 12 bytes with 4-byte alignment
  // (memcpy: an unaligned load, no misaligned T*). The hash is its low 32
  // bits: the home slot (tables stay far below 2^32 slots) and a first
  // compare before the key's.
  struct Slot {
    unsigned char value_bytes[sizeof(T*)] = {};
    uint32_t hash = 0;

    T* value() const noexcept {
      T* value;
      std::memcpy(&value, value_bytes, sizeof value);
      return value;
    }
    void set_value(T* value) noexcept { std::memcpy(value_bytes, &value, sizeof value); }
    void assign(T* value, uint32_t key_hash) noexcept {
      set_value(value);
      hash = key_hash;
    }
    bool empty() const noexcept { return value() == nullptr; }
  };
  static_assert(sizeof(Slot) == 12, "FlatIndex slots grew: re-check docs/performance.md's memory target");
  static constexpr size_t kInitialCapacity = 16;

  uint32_t hash_of(KeyView key) const noexcept {
    return static_cast<uint32_t>(flat_index_detail::hash_key(key, seed_));
  }
  size_t mask() const noexcept { return slots_.size() - 1; }

  void place(uint32_t hash, T* value) noexcept {
    size_t i = hash & mask();
    while (!slots_[i].empty()) i = (i + 1) & mask();
    slots_[i].assign(value, hash);
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& slot : old) {
      if (!slot.empty()) place(slot.hash, slot.value());
    }
  }

  // Backward-shift deletion: later members of the probe run move up so that
  // lookups never stop early at the hole.
  void remove_at(size_t hole) noexcept {
    size_t next = hole;
    for (;;) {
      next = (next + 1) & mask();
      if (slots_[next].empty()) break;
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

#include "spans/flat_index.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <unordered_map>

namespace bto {
namespace {

struct Named {
  std::string id;
  int64_t tid = 0;
};

// Random inserts and erases, checked step by step against std::unordered_map:
// growth, probe runs and backward-shift deletion keep every key reachable.
TEST(FlatIndex, agrees_with_unordered_map_under_random_churn) {
  std::mt19937_64 rng(7);
  std::deque<Named> storage;
  FlatIndex<Named, &Named::id> index;
  std::unordered_map<std::string, Named*> reference;
  for (int step = 0; step < 200000; ++step) {
    const std::string key = std::to_string(rng() % 3000);
    if (rng() % 2 == 0) {
      if (reference.count(key) == 0) {
        Named& item = storage.emplace_back(Named{key, 0});
        index.insert(item.id, &item);
        reference[key] = &item;
      }
    } else {
      EXPECT_EQ(index.erase(key), reference.erase(key) == 1) << key;
    }
    ASSERT_EQ(index.size(), reference.size());
    if (step % 997 == 0) {
      for (const auto& [k, v] : reference) {
        const auto found = index.find(k);
        ASSERT_TRUE(found) << k;
        EXPECT_EQ(found.get(), v);
      }
    }
  }
  for (int i = 3000; i < 3100; ++i) EXPECT_FALSE(index.find(std::to_string(i)));
}

// The correlator's chain by id: one probe finds a key's slot or inserts it,
// and an entry found so is erased through that slot. Churn as above.
TEST(FlatIndex, find_or_insert_and_erase_found_agree_with_unordered_map) {
  std::mt19937_64 rng(13);
  std::deque<Named> storage;
  FlatIndex<Named, &Named::id> index;
  std::unordered_map<std::string, Named*> reference;
  for (int step = 0; step < 200000; ++step) {
    const std::string key = std::to_string(rng() % 3000);
    if (rng() % 2 == 0) {
      Named& item = storage.emplace_back(Named{key, 0});
      bool inserted = false;
      const auto slot = index.find_or_insert(item.id, &item, inserted);
      const auto [it, fresh] = reference.try_emplace(key, &item);
      ASSERT_EQ(inserted, fresh) << key;
      EXPECT_EQ(slot.get(), it->second) << key;  // an existing key keeps its object
    } else if (const auto found = index.find(key)) {
      ASSERT_EQ(reference.count(key), 1u) << key;
      EXPECT_EQ(found.get(), reference[key]);
      index.erase_found(found);
      reference.erase(key);
    } else {
      EXPECT_EQ(reference.count(key), 0u) << key;
    }
    ASSERT_EQ(index.size(), reference.size());
    if (step % 997 == 0) {
      for (const auto& [k, v] : reference) {
        const auto found = index.find(k);
        ASSERT_TRUE(found) << k;
        EXPECT_EQ(found.get(), v);
      }
    }
  }
}

TEST(FlatIndex, integer_keys_and_replacing_the_stored_object) {
  Named a{"a", -5};
  Named b{"b", -5};
  FlatIndex<Named, &Named::tid> index;
  index.insert(-5, &a);
  const auto found = index.find(-5);
  ASSERT_TRUE(found);
  found.set(&b);  // the correlator swaps chain heads in place
  EXPECT_EQ(index.find(-5).get(), &b);
  EXPECT_FALSE(index.find(5));
  EXPECT_TRUE(index.erase(-5));
  EXPECT_TRUE(index.empty());
  EXPECT_FALSE(index.erase(-5));
}

// The correlator's ring of recently ended spans: a recycled entry must not
// unmap a key that a newer entry took over, and re-adding a key replaces it.
TEST(FlatIndex, insert_or_replace_and_erase_if_maps_to) {
  std::mt19937_64 rng(11);
  std::deque<Named> storage;
  FlatIndex<Named, &Named::id> index;
  std::unordered_map<std::string, Named*> reference;
  for (int step = 0; step < 100000; ++step) {
    const std::string key = std::to_string(rng() % 2000);
    if (rng() % 3 != 0) {
      Named& item = storage.emplace_back(Named{key, 0});
      index.insert_or_replace(item.id, &item);
      reference[key] = &item;
    } else {
      // A stale entry (any earlier object with this key) only removes a key it still owns.
      if (storage.empty()) continue;
      Named* stale = &storage[rng() % storage.size()];
      index.erase_if_maps_to(stale->id, stale);
      auto it = reference.find(stale->id);
      if (it != reference.end() && it->second == stale) reference.erase(it);
    }
    ASSERT_EQ(index.size(), reference.size());
  }
  for (const auto& [k, v] : reference) {
    const auto found = index.find(k);
    ASSERT_TRUE(found) << k;
    EXPECT_EQ(found.get(), v);
  }
}

TEST(FlatIndex, long_and_binary_keys) {
  std::deque<Named> storage;
  FlatIndex<Named, &Named::id> index;
  for (int i = 0; i < 64; ++i) {
    Named& item = storage.emplace_back();
    item.id.assign(static_cast<size_t>(i), '\0');
    item.id += std::string(200, 'x') + std::to_string(i);
    index.insert(item.id, &item);
  }
  for (const Named& item : storage) EXPECT_EQ(index.find(item.id).get(), &item);
  EXPECT_FALSE(index.find(std::string(200, 'x')));
}

}  // namespace
}  // namespace bto

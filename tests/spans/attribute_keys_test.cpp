#include "spans/attribute_keys.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "spans/span_record.h"

namespace bto {
namespace {

TEST(AttributeKeys, same_key_gives_the_same_stored_view) {
  std::string_view first;
  std::string_view second;
  std::string key = "http.request.method";
  ASSERT_TRUE(intern_attribute_key(key, first));
  key.assign("http.request.method");  // another buffer, same text
  ASSERT_TRUE(intern_attribute_key(key, second));
  EXPECT_EQ(first.data(), second.data());
  EXPECT_EQ(first, "http.request.method");
  EXPECT_NE(first.data(), key.data());  // a copy, not the caller's bytes
}

// same_key compares 8, 4 or 1 bytes at a time depending on the length: a
// difference at any position of any length up to 40 must be seen.
TEST(AttributeKeys, same_key_sees_a_difference_at_every_position) {
  for (size_t length = 0; length <= 40; ++length) {
    const std::string key(length, 'k');
    std::string other = key;  // another buffer
    EXPECT_TRUE(same_key(key, other)) << length;
    EXPECT_FALSE(same_key(key, key + "k")) << length;
    for (size_t at = 0; at < length; ++at) {
      other = key;
      other[at] = 'x';
      EXPECT_FALSE(same_key(key, other)) << length << " " << at;
    }
  }
}

// The per-thread cache in front of the store is direct-mapped: keys that share
// a cache slot evict each other but each still gets its own stored view.
TEST(AttributeKeys, keys_evicting_each_other_from_the_cache_stay_distinct) {
  std::vector<std::string_view> views;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2000; ++i) {
      const std::string key = "evict." + std::to_string(i) + ".key";
      std::string_view out;
      ASSERT_TRUE(intern_attribute_key(key, out));
      ASSERT_EQ(out, key);
      if (round == 0) {
        views.push_back(out);
      } else {
        ASSERT_EQ(out.data(), views[static_cast<size_t>(i)].data()) << key;
      }
    }
  }
}

TEST(AttributeKeys, overlong_keys_are_refused_and_the_attribute_dropped) {
  std::string_view out;
  EXPECT_FALSE(intern_attribute_key(std::string(kMaxAttributeKeyBytes + 1, 'k'), out));
  AttributeList list;
  list.set_int(std::string(kMaxAttributeKeyBytes + 1, 'k'), 1);
  EXPECT_EQ(list.size(), 0u);
  EXPECT_EQ(list.dropped(), 1u);
}

TEST(AttributeKeys, threads_interning_the_same_keys_agree) {
  constexpr int kThreads = 4;
  constexpr int kKeys = 500;
  std::vector<std::vector<const char*>> seen(kThreads, std::vector<const char*>(kKeys));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &seen] {
      for (int i = 0; i < kKeys; ++i) {
        std::string_view out;
        const std::string key = "concurrent." + std::to_string(i);
        if (intern_attribute_key(key, out) && out == key) seen[t][i] = out.data();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_NE(seen[0][i], nullptr);
    for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t][i], seen[0][i]) << i;
  }
}

// The store is process-wide, so filling it runs in a child process.
TEST(AttributeKeysDeathTest, a_full_store_refuses_new_keys_but_keeps_old_ones) {
  EXPECT_EXIT(
      {
        std::string_view out;
        for (size_t i = 0; interned_attribute_key_count() < kMaxAttributeKeys; ++i) {
          if (!intern_attribute_key("filler." + std::to_string(i), out)) std::_Exit(2);
        }
        AttributeList list;
        list.set_int("filler.0", 1);          // already stored
        list.set_int("never.seen.before", 2);  // refused: dropped, counted
        list.set_reserved_string("bpftrace_otel.incomplete", "timeout");  // diagnostics survive
        const bool ok = list.size() == 2 && list.dropped() == 1 && list.find("filler.0") != nullptr &&
                        list.find("bpftrace_otel.incomplete") != nullptr;
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace bto

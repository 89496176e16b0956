#include "spans/span_pool.h"

#include <gtest/gtest.h>

#include <thread>

namespace bto {
namespace {

TEST(SpanPool, released_records_are_reused_and_reset) {
  SpanPool pool;
  SpanPtr span = pool.acquire();
  span->name = "used";
  span->attributes.set_int("a", 1);
  SpanRecord* raw = span.get();
  pool.release(std::move(span));
  SpanPtr again = pool.acquire();
  EXPECT_EQ(again.get(), raw);
  EXPECT_TRUE(again->name.empty());
  EXPECT_TRUE(again->attributes.empty());
}

TEST(SpanPool, keeps_at_most_max_cached) {
  SpanPool pool(2);
  std::vector<SpanPtr> spans;
  std::vector<SpanRecord*> raw;
  for (int i = 0; i < 3; ++i) {
    spans.push_back(pool.acquire());
    raw.push_back(spans.back().get());
  }
  for (SpanPtr& span : spans) pool.release(std::move(span));
  SpanPtr a = pool.acquire();
  SpanPtr b = pool.acquire();
  SpanPtr c = pool.acquire();  // fresh: only two were kept
  EXPECT_EQ(a.get(), raw[1]);
  EXPECT_EQ(b.get(), raw[0]);
  EXPECT_NE(c.get(), nullptr);
}

TEST(SpanPool, batch_release_leaves_nulls_behind) {
  SpanPool pool(1);
  std::vector<SpanPtr> batch;
  batch.push_back(pool.acquire());
  batch.push_back(nullptr);
  batch.push_back(pool.acquire());
  batch[0]->name = "x";
  SpanRecord* first = batch[0].get();
  pool.release(std::span<SpanPtr>(batch));
  for (const SpanPtr& span : batch) EXPECT_EQ(span, nullptr);
  SpanPtr again = pool.acquire();
  EXPECT_EQ(again.get(), first);
  EXPECT_TRUE(again->name.empty());
}

TEST(SpanPool, acquire_and_release_from_two_threads) {
  SpanPool pool(64);
  std::vector<SpanPtr> handoff;
  std::mutex mutex;
  std::thread producer([&] {
    for (int i = 0; i < 2000; ++i) {
      SpanPtr span = pool.acquire();
      span->name = "s";
      std::lock_guard lock(mutex);
      handoff.push_back(std::move(span));
    }
  });
  int released = 0;
  while (released < 2000) {
    std::vector<SpanPtr> taken;
    {
      std::lock_guard lock(mutex);
      taken.swap(handoff);
    }
    released += static_cast<int>(taken.size());
    pool.release(std::span<SpanPtr>(taken));
  }
  producer.join();
  EXPECT_EQ(released, 2000);
}

}  // namespace
}  // namespace bto

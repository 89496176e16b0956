#include "spans/id_string.h"

#include <gtest/gtest.h>

#include <string>

namespace bto {
namespace {

TEST(IdString, holds_short_ids_inline_and_long_ones_on_the_heap) {
  IdString id;
  EXPECT_EQ(id.view(), "");
  id.assign("1234567890123456");  // kInline bytes: still inline
  EXPECT_EQ(id.view(), "1234567890123456");
  EXPECT_EQ(id.heap_capacity(), 0u);
  const std::string uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
  id.assign(uuid);
  EXPECT_EQ(std::string_view(id), uuid);
  EXPECT_GE(id.heap_capacity(), uuid.size());
}

TEST(IdString, keeps_its_heap_capacity_when_reused_like_std_string) {
  IdString id;
  id.assign(std::string(100, 'a'));
  const size_t capacity = id.heap_capacity();
  id.assign("7");  // short again: written into the kept buffer
  EXPECT_EQ(id.view(), "7");
  EXPECT_EQ(id.heap_capacity(), capacity);
  id.assign(std::string(capacity, 'b'));
  EXPECT_EQ(id.heap_capacity(), capacity);
  EXPECT_EQ(id.view(), std::string(capacity, 'b'));
  id.assign(std::string(capacity + 1, 'c'));  // grows, the text is whole
  EXPECT_GT(id.heap_capacity(), capacity);
  EXPECT_EQ(id.view(), std::string(capacity + 1, 'c'));
}

TEST(IdString, holds_any_bytes_including_nul) {
  IdString id;
  const std::string text("a\0b", 3);
  id.assign(text);
  EXPECT_EQ(id.view(), text);
  EXPECT_EQ(id.view().size(), 3u);
}

}  // namespace
}  // namespace bto

#include "decode/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace bto {
namespace {

std::string sanitize(std::string_view in) {
  std::string out(in.size() * kUtf8SanitizeGrowth, '\0');
  out.resize(sanitize_utf8(in, out.data()));
  return out;
}

constexpr std::string_view kFffd = "\xef\xbf\xbd";

TEST(Utf8, valid_text_is_copied_unchanged) {
  for (std::string_view text : {std::string_view(""), std::string_view("plain ascii"),
                                std::string_view("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),  // é € 😀
                                std::string_view("\xf4\x8f\xbf\xbf"),                      // U+10FFFF
                                std::string_view("\xed\x9f\xbf\xee\x80\x80")}) {           // around surrogates
    EXPECT_EQ(sanitize(text), text);
  }
}

TEST(Utf8, each_maximal_invalid_subpart_becomes_one_replacement) {
  EXPECT_EQ(sanitize("a\xff" "b"), "a" + std::string(kFffd) + "b");
  EXPECT_EQ(sanitize("\xe2\x82"), std::string(kFffd));                  // truncated 3-byte sequence
  EXPECT_EQ(sanitize("\xe2\x82x"), std::string(kFffd) + "x");
  EXPECT_EQ(sanitize("\xf0\x9f\x98"), std::string(kFffd));              // truncated 4-byte sequence
  EXPECT_EQ(sanitize("\x80\x80"), std::string(kFffd) + std::string(kFffd));  // lone continuations
}

TEST(Utf8, overlongs_surrogates_and_out_of_range_are_invalid) {
  EXPECT_EQ(sanitize("\xc0\xaf"), std::string(kFffd) + std::string(kFffd));       // overlong '/'
  EXPECT_EQ(sanitize("\xe0\x80\xaf"), std::string(kFffd) + std::string(kFffd) + std::string(kFffd));
  EXPECT_EQ(sanitize("\xed\xa0\x80"), std::string(kFffd) + std::string(kFffd) + std::string(kFffd));  // U+D800
  EXPECT_EQ(sanitize("\xf4\x90\x80\x80").size(), 4 * kFffd.size());                // above U+10FFFF
  EXPECT_EQ(sanitize("\xf5\x80"), std::string(kFffd) + std::string(kFffd));
}

TEST(Utf8, worst_case_growth_fits) {
  const std::string in(1000, '\xff');
  EXPECT_EQ(sanitize(in).size(), in.size() * kUtf8SanitizeGrowth);
}

}  // namespace
}  // namespace bto

#pragma once
// Private to decode/: quotes bad input lazily, so a RateLimitedLog that
// suppresses the message never pays for (or allocates) the quote.

#include <fmt/format.h>

#include <string_view>

#include "common/log.h"

namespace bto {

struct Quoted {
  std::string_view bytes;
};

}  // namespace bto

template <>
struct fmt::formatter<bto::Quoted> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const bto::Quoted& quoted, Context& ctx) const {
    const std::string text = bto::quote_bytes(quoted.bytes);
    return fmt::formatter<std::string_view>::format(text, ctx);
  }
};

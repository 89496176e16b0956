#include "decode/utf8.h"

#include <cstdint>

namespace bto {

size_t sanitize_utf8(std::string_view in, char* out) noexcept {
  const auto* s = reinterpret_cast<const uint8_t*>(in.data());
  const size_t n = in.size();
  size_t o = 0;
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      out[o++] = static_cast<char>(c);
      ++i;
      continue;
    }
    size_t need = 0;
    uint8_t low = 0x80;  // bounds of the second byte (Table 3-7)
    uint8_t high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;  // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;  // nothing above U+10FFFF
    }
    size_t valid = 1;  // bytes of the sequence seen to be well-formed so far
    bool ok = need > 0;
    for (size_t k = 1; ok && k <= need; ++k) {
      if (i + k >= n) {
        ok = false;
        break;
      }
      const uint8_t b = s[i + k];
      const uint8_t lo = k == 1 ? low : 0x80;
      const uint8_t hi = k == 1 ? high : 0xbf;
      if (b < lo || b > hi) {
        ok = false;
        break;
      }
      ++valid;
    }
    if (ok) {
      for (size_t k = 0; k <= need; ++k) out[o++] = static_cast<char>(s[i + k]);
      i += need + 1;
    } else {
      out[o++] = static_cast<char>(0xef);
      out[o++] = static_cast<char>(0xbf);
      out[o++] = static_cast<char>(0xbd);
      i += valid;
    }
  }
  return o;
}

}  // namespace bto

#pragma once
// The first present of several candidates collected in one pass over a span's
// fields or attributes, in priority order (e.g. uri > url > path). Shared by
// the HTTP handler and span metrics.

#include <cstddef>

namespace bto {

template <typename T, size_t N>
constexpr const T* first_of(const T* const (&candidates)[N]) noexcept {
  for (const T* candidate : candidates) {
    if (candidate != nullptr) return candidate;
  }
  return nullptr;
}

}  // namespace bto

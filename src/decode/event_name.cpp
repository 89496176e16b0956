#include <array>

#include "decode/event.h"

namespace bto {

namespace {

struct Suffix {
  std::string_view text;
  EventPhase phase;
};

constexpr std::array<Suffix, 6> kSuffixes{{
    {"_start", EventPhase::kStart},
    {"_begin", EventPhase::kStart},
    {"_end", EventPhase::kEnd},
    {"_done", EventPhase::kEnd},
    {"_complete", EventPhase::kEnd},
    {"_finish", EventPhase::kEnd},
}};

// name.ends_with(suffix) without a call to memcmp (every event's name is
// checked against up to six suffixes; most differ in their last byte).
bool has_suffix(std::string_view name, std::string_view suffix) noexcept {
  if (name.size() <= suffix.size()) return false;  // a bare "_start" has no family
  const char* tail = name.data() + name.size() - suffix.size();
  for (size_t i = suffix.size(); i-- > 0;) {
    if (tail[i] != suffix[i]) return false;
  }
  return true;
}

}  // namespace

NameParts split_event_name(std::string_view name) noexcept {
  for (const Suffix& suffix : kSuffixes) {
    // A bare "_start" has no family to correlate on, so it stays a single event.
    if (has_suffix(name, suffix.text)) {
      return {name.substr(0, name.size() - suffix.text.size()), suffix.phase};
    }
  }
  return {name, EventPhase::kSingle};
}

}  // namespace bto

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

}  // namespace

NameParts split_event_name(std::string_view name) noexcept {
  for (const Suffix& suffix : kSuffixes) {
    // A bare "_start" has no family to correlate on, so it stays a single event.
    if (name.size() > suffix.text.size() && name.ends_with(suffix.text)) {
      return {name.substr(0, name.size() - suffix.text.size()), suffix.phase};
    }
  }
  return {name, EventPhase::kSingle};
}

}  // namespace bto

// The event families seen so far, each resolved once (handler, key fields,
// nesting). Families come from untrusted input, so the table is bounded
// without ever refusing the families we own (issue 17.4): built-in and
// configured families are reserved (always accepted, never replaced, not
// counted against max_families); up to max_families others are kept, and a
// new one beyond that replaces the least recently used family that no open
// span or held end points at, else its events are dropped by the caller.

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "spans/correlator.h"
#include "spans/handlers/event_handler.h"
#include "spans/open_span.h"
#include "spans/recycling_map.h"

namespace bto {

class FamilyTable {
 public:
  FamilyTable(HandlerRegistry& handlers, std::vector<std::string> nesting_families, size_t max_families,
              CorrelatorStats& stats);

  // nullptr: a new family while max_families others are all in use.
  const FamilyInfo* find(std::string_view family) {
    if (last_info_ != nullptr && last_name_ == family) return last_info_;  // the hot path: one compare
    return find_slow(family);
  }

  // Families held that are not reserved (what max_families bounds).
  size_t junk_count() const noexcept { return junk_; }

 private:
  const FamilyInfo* find_slow(std::string_view family);
  FamilyInfo* add(std::string_view family);
  bool replace_unused();
  void lru_push_front(FamilyInfo& info) noexcept;
  void lru_unlink(FamilyInfo& info) noexcept;
  void lru_touch(FamilyInfo& info) noexcept;

  HandlerRegistry& handlers_;
  const std::vector<std::string> nesting_families_;
  const size_t max_families_;
  CorrelatorStats& stats_;
  RecyclingMap<std::string, FamilyInfo, TransparentStringHash> families_;
  size_t junk_ = 0;
  FamilyInfo* lru_head_ = nullptr;  // most recently used (junk families only)
  FamilyInfo* lru_tail_ = nullptr;
  std::string last_name_;
  FamilyInfo* last_info_ = nullptr;
};

}  // namespace bto

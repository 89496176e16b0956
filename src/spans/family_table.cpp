#include "spans/family_table.h"

#include <algorithm>
#include <utility>

#include "common/counter.h"

namespace bto {

namespace {

// How far from the least recently used end a replacement is looked for:
// bounds the cost of a flood of new families while all are in use.
constexpr int kReplaceScan = 16;

}  // namespace

FamilyTable::FamilyTable(HandlerRegistry& handlers, std::vector<std::string> nesting_families, size_t max_families,
                         CorrelatorStats& stats)
    : handlers_(handlers), nesting_families_(std::move(nesting_families)), max_families_(max_families), stats_(stats) {}

// Out of line: the inline find() is one compare (the last event's family).
const FamilyInfo* FamilyTable::find_slow(std::string_view family) {
  FamilyInfo* info = families_.find(family);
  if (info == nullptr) {
    info = add(family);
    if (info == nullptr) return nullptr;
  } else if (!info->reserved) {
    lru_touch(*info);
  }
  last_name_.assign(family);
  last_info_ = info;
  return info;
}

FamilyInfo* FamilyTable::add(std::string_view family) {
  EventHandler& handler = handlers_.handler_for(family);
  const bool reserved = !handlers_.is_generic(handler);
  if (!reserved && junk_ >= max_families_ && !replace_unused()) return nullptr;
  FamilyInfo fresh;
  fresh.name.assign(family);
  fresh.handler = &handler;
  fresh.key_fields = handler.key_fields();
  fresh.nests = std::find(nesting_families_.begin(), nesting_families_.end(), family) != nesting_families_.end();
  fresh.reserved = reserved;
  families_.insert(family, fresh);
  FamilyInfo* info = families_.find(family);
  if (!reserved) {
    ++junk_;
    lru_push_front(*info);
  }
  return info;
}

bool FamilyTable::replace_unused() {
  FamilyInfo* candidate = lru_tail_;
  for (int i = 0; i < kReplaceScan && candidate != nullptr; ++i, candidate = candidate->lru_prev) {
    if (candidate->users != 0) continue;
    lru_unlink(*candidate);
    --junk_;
    bump(stats_.families_replaced);
    if (last_info_ == candidate) last_info_ = nullptr;
    families_.erase(std::string_view(candidate->name));
    return true;
  }
  return false;
}

void FamilyTable::lru_push_front(FamilyInfo& info) noexcept {
  info.lru_prev = nullptr;
  info.lru_next = lru_head_;
  (lru_head_ != nullptr ? lru_head_->lru_prev : lru_tail_) = &info;
  lru_head_ = &info;
}

void FamilyTable::lru_unlink(FamilyInfo& info) noexcept {
  (info.lru_prev != nullptr ? info.lru_prev->lru_next : lru_head_) = info.lru_next;
  (info.lru_next != nullptr ? info.lru_next->lru_prev : lru_tail_) = info.lru_prev;
  info.lru_prev = info.lru_next = nullptr;
}

void FamilyTable::lru_touch(FamilyInfo& info) noexcept {
  if (lru_head_ == &info) return;
  lru_unlink(info);
  lru_push_front(info);
}

}  // namespace bto

#include "export/resource_groups.h"

#include <algorithm>

namespace bto {

void ResourceGroups::assign(std::span<const SpanRecord* const> batch) {
  groups_.clear();
  if (batch.empty()) {
    spans_ = batch;
    return;
  }
  const Resource* first = batch.front()->resource.get();
  const bool one = std::all_of(batch.begin(), batch.end(),
                               [first](const SpanRecord* s) { return s->resource.get() == first; });
  if (one) {
    spans_ = batch;
    groups_.push_back({first, 0, batch.size()});
    return;
  }
  // std::stable_sort may allocate a buffer; std::sort with the batch position
  // as the tie-break keeps batch order within a group without one.
  order_.resize(batch.size());
  for (uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
  std::sort(order_.begin(), order_.end(), [batch](uint32_t a, uint32_t b) {
    const Resource* ra = batch[a]->resource.get();
    const Resource* rb = batch[b]->resource.get();
    return ra != rb ? std::less<const Resource*>()(ra, rb) : a < b;
  });
  // Groups in the order their resources first appear in the batch (the
  // first position of a run is its smallest), so output does not depend on
  // where resources happen to be allocated.
  size_t begin = 0;
  for (size_t i = 1; i <= order_.size(); ++i) {
    if (i == order_.size() || batch[order_[i]]->resource.get() != batch[order_[begin]]->resource.get()) {
      groups_.push_back({batch[order_[begin]]->resource.get(), begin, i});
      begin = i;
    }
  }
  std::sort(groups_.begin(), groups_.end(),
            [this](const ResourceGroup& x, const ResourceGroup& y) { return order_[x.begin] < order_[y.begin]; });
  sorted_.clear();
  for (ResourceGroup& group : groups_) {
    const size_t start = sorted_.size();
    for (size_t i = group.begin; i < group.end; ++i) sorted_.push_back(batch[order_[i]]);
    group.begin = start;
    group.end = sorted_.size();
  }
  spans_ = sorted_;
}

}  // namespace bto

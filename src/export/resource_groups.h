#pragma once
// Private to export/: a batch's spans grouped by the resource they came from
// (one OTLP ResourceSpans per group). A batch from one process (or from no
// process: the exporter's own resource) is one group in batch order, found in
// one pass; otherwise the groups come in the order their resources first
// appear in the batch, each keeping its spans' batch order. Per encoding thread, allocation-free once grown.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "export/span_exporter.h"

namespace bto {

struct ResourceGroup {
  const Resource* resource;  // nullptr: the exporter's own resource
  size_t begin, end;         // into ResourceGroups::spans
};

class ResourceGroups {
 public:
  void assign(std::span<const SpanRecord* const> batch);

  std::span<const SpanRecord* const> spans() const noexcept { return spans_; }
  std::span<const ResourceGroup> groups() const noexcept { return groups_; }
  std::span<const SpanRecord* const> spans_of(const ResourceGroup& group) const noexcept {
    return spans_.subspan(group.begin, group.end - group.begin);
  }

 private:
  std::span<const SpanRecord* const> spans_;
  std::vector<uint32_t> order_;
  std::vector<const SpanRecord*> sorted_;
  std::vector<ResourceGroup> groups_;
};

// The attributes a group's Resource message carries.
inline const AttributeList& resource_attributes(const ResourceGroup& group, const ResourceInfo& own) noexcept {
  return group.resource != nullptr ? group.resource->attributes : own.attributes;
}

// The instrumentation scope of a group: a replayed span's recorded one (its
// SpanRecord::origin, interned together with its Resource, so one group has
// one), else ours.
inline const ResourceInfo& group_scope(std::span<const SpanRecord* const> group, const ResourceInfo& own) noexcept {
  return !group.empty() && group.front()->origin != nullptr ? *group.front()->origin : own;
}

}  // namespace bto

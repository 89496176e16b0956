#pragma once
// Private to spans/: how a new span gets its ids and its parent, and the
// memory of recently ended spans that a late child may still name.
//
// The parent is, in this order: the span named by parent_id (open, or ended a
// moment ago), the caller's span from a traceparent or trace_id + span_id, or
// (automatic nesting) the innermost open span of a nesting family on the same
// thread. The head sampler decides with the link it found.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "spans/correlator.h"
#include "spans/flat_index.h"
#include "spans/open_span.h"
#include "spans/reserved_fields.h"
#include "spans/sampler.h"
#include "spans/trace_context.h"

namespace bto {

class ParentLinks {
 public:
  // Reads the correlator's open-span indexes (by id; nesting parents by
  // thread); all references must outlive this object.
  ParentLinks(OpenSpansById& open_ids, OpenSpansByThread& open_nests, bool auto_nesting, const Sampler& sampler,
              CorrelatorStats& stats);

  // New ids, parent and the sampling decision for `span`. Returns false when
  // a parent was named but not found; counts that only when `count_missing`
  // (held orphans count it if they are emitted). `open_parent`, when given,
  // is set to the parent if that is a span still open (else nullptr).
  bool assign_ids(const ReservedFields& reserved, const FamilyInfo& family, SpanRecord& span, bool count_missing,
                  bool& sampled, OpenSpan** open_parent = nullptr);

  // A span that ended (or was given up): children naming `id` (in process
  // `pid`, 0 if unknown) still find it.
  void remember_ended(std::string_view id, int64_t pid, const SpanRecord& span, bool sampled);

 private:
  // Recently ended spans that a late child may still name as its parent.
  static constexpr size_t kEndedCapacity = 4096;

  struct EndedSpan {
    std::string id;
    int64_t pid = 0;
    TraceId trace_id{};
    SpanId span_id{};
    uint16_t depth = 0;
    bool used = false;
    bool sampled = true;
  };

  bool link_named(std::string_view parent_id, int64_t pid, SpanRecord& span, bool count_missing, ParentLink& link,
                  OpenSpan*& open_parent);
  bool link_remote_or_nesting(const ReservedFields& reserved, const FamilyInfo& family, bool named,
                              SpanRecord& span, ParentLink& link, OpenSpan*& open_parent);
  ContextResult trace_context(const ReservedFields& reserved, RemoteContext& out);
  ContextResult invalid_context(std::string_view field, const FieldValue& value);
  const EndedSpan* find_ended(std::string_view id, int64_t pid) noexcept;

  OpenSpansById& open_ids_;
  OpenSpansByThread& open_nests_;
  const bool auto_nesting_;
  const Sampler& sampler_;
  CorrelatorStats& stats_;
  IdGenerator ids_;
  std::vector<EndedSpan> ended_;
  FlatIndex<EndedSpan, &EndedSpan::id> ended_index_;
  uint32_t ended_next_ = 0;
  RateLimitedLog parent_log_;
  RateLimitedLog context_log_;
};

}  // namespace bto

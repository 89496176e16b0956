#pragma once
// A tap on the correlator's output: sees every finished span before the
// sampler decides (derived metrics must count what sampling drops).

#include <string_view>

#include "spans/span_record.h"

namespace bto {

class SpanObserver {
 public:
  virtual ~SpanObserver() = default;
  // Reader thread, once per finished span (paired, single, incomplete), after
  // span limits are applied and before sampling. `family` is the event family
  // ("http_request"). Keep nothing: both references die after the call.
  virtual void on_span_finished(std::string_view family, const SpanRecord& span) noexcept = 0;
};

}  // namespace bto

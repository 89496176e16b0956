#include "spans/span_emitter.h"

namespace bto {

SpanEmitter::~SpanEmitter() {
  if (spare_) pool_.release(std::move(spare_));
}

void SpanEmitter::cut_text(std::string& text) noexcept {
  text.resize(utf8_prefix(text, text_limit_).size());
  // A pooled record keeps its capacity: a 900 KB name cut to 4 KiB would
  // otherwise still hold 900 KB for as long as the record lives.
  if (text.capacity() > 2 * text_limit_) text.shrink_to_fit();
  bump(stats_.attribute_values_truncated);
}

void SpanEmitter::emit_recorded(SpanPtr span) {
  count_limits(*span);
  sink_.on_span_finished(std::move(span));
}

void SpanEmitter::emit(SpanPtr span, bool sampled, std::string_view family) {
  count_limits(*span);
  if (observer_ != nullptr) observer_->on_span_finished(family, *span);
  if (!sampled) {
    if (!sampler_.tail_keeps(*span)) {
      bump(stats_.spans_sampled_out);
      pool_.release(std::move(span));
      return;
    }
    bump(stats_.spans_kept_by_tail);
  }
  sink_.on_span_finished(std::move(span));
}

void SpanEmitter::count_limits(SpanRecord& span) noexcept {
  cap_text(span.name);
  cap_text(span.status_message);
  uint64_t dropped = span.attributes.dropped();
  uint64_t truncated = span.attributes.truncated();
  for (const SpanEventRecord& record : span.events) {
    dropped += record.attributes.dropped();
    truncated += record.attributes.truncated();
  }
  span.dropped_attributes_count = span.attributes.dropped();
  if (dropped != 0) bump(stats_.attributes_dropped, dropped);
  if (truncated != 0) bump(stats_.attribute_values_truncated, truncated);
}

}  // namespace bto

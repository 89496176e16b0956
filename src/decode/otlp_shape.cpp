// {"resourceSpans":[...]}: an OTLP/JSON ExportTraceServiceRequest, one line of
// a recording made with --exporter file (or the Collector's file exporter).
// Its spans go to EventSink::on_recorded_span unchanged; metrics and logs
// requests are recognised and ignored. Reached from decode_outer() before the
// event shapes: a bpftrace line never starts with one of these keys.

#include "decode/json_decoder.h"
#include "decode/quoted.h"

namespace bto::decode_detail {
namespace {

class Forward final : public RecordedSpanSink {
 public:
  explicit Forward(EventSink& sink) : sink_(sink) {}
  uint64_t spans = 0;
  void on_recorded_span(const RecordedResource& resource, const RecordedSpan& span) override {
    ++spans;
    sink_.on_recorded_span(resource, span);
  }

 private:
  EventSink& sink_;
};

}  // namespace

void JsonDecoder::decode_otlp(OtlpLineKind kind, std::string_view line, size_t readable, EventSink& sink) {
  bump(stats_.documents);
  if (kind != OtlpLineKind::kTraces) {
    bump(stats_.ignored_records);
    otlp_log_.warn("decode: an OTLP/JSON {} request: not replayed (only spans are)",
                   kind == OtlpLineKind::kMetrics ? "metrics" : "logs");
    return;
  }
  std::string error;
  Forward forward(sink);
  const bool padded = readable >= line.size() + simdjson::SIMDJSON_PADDING;
  if (!otlp_reader_.read_traces(line, padded, forward, error)) {
    // Broken JSON, or JSON that is not an ExportTraceServiceRequest.
    bump(error.rfind("not valid JSON", 0) == 0 ? stats_.malformed_json : stats_.wrong_type);
    otlp_log_.warn("decode: OTLP/JSON line skipped ({}): '{}'", error, Quoted{line});
    return;
  }
  bump(stats_.otlp_requests);
  bump(stats_.recorded_spans, forward.spans);
}

}  // namespace bto::decode_detail

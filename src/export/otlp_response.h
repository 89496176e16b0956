#pragma once
// Reading what the collector answers: partial_success on 2xx, the
// google.rpc.Status / text message on errors. Bodies are untrusted and bounded.

#include <cstdint>
#include <string>
#include <string_view>

namespace bto {

struct PartialSuccess {
  int64_t rejected_spans = 0;
  std::string error_message;
  bool present() const noexcept { return rejected_spans != 0 || !error_message.empty(); }
};

// ExportTraceServiceResponse{ partial_success = 1 { rejected_spans = 1, error_message = 2 } }.
// Returns false on malformed input (out is then left empty).
bool parse_partial_success_protobuf(std::string_view body, PartialSuccess& out) noexcept;
// {"partialSuccess":{"rejectedSpans":"3","errorMessage":"..."}}; number or string count.
bool parse_partial_success_json(std::string_view body, PartialSuccess& out) noexcept;

// Human message of an error response: google.rpc.Status.message (field 2) for
// protobuf, "message" of a JSON object, else the text itself. Quoted and
// bounded for a log line; empty when there is nothing to show.
std::string error_message_from_body(std::string_view body, std::string_view content_type);

}  // namespace bto

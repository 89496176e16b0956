// printf-JSON events: printf("{\"event\":\"x\",...}\n") prints
// {"type":"printf","data":"<event JSON>\n<event JSON>\n"}; each line of the
// data is one raw event object (raw_shape.cpp), parsed by the inner parser.

#include <cstring>

#include "decode/json_decoder.h"
#include "decode/quoted.h"

namespace bto::decode_detail {

void JsonDecoder::decode_printf(std::string_view data, EventSink& sink) {
  // The outer string lives in outer_parser_'s buffer; the inner parser needs
  // padding after it, so copy it once and parse each line in place.
  char* copy = printf_scratch_.reserve(data.size());
  std::memcpy(copy, data.data(), data.size());
  const std::string_view text(copy, data.size());
  bool any = false;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view piece = trim(text.substr(begin, end - begin));
    if (!piece.empty()) {
      // The record itself was counted as the first document.
      if (any) bump(stats_.documents);
      any = true;
      decode_inner(piece, printf_scratch_.readable_from(piece.data()), sink);
    }
    begin = end + 1;
  }
  if (!any) bump(stats_.ignored_records);
}

void JsonDecoder::decode_inner(std::string_view piece, size_t readable, EventSink& sink) {
  od::document doc;
  od::json_type type{};
  error_code error = inner_parser_.iterate(piece.data(), piece.size(), readable).get(doc);
  if (!error) error = doc.type().get(type);
  if (error) {
    bump(stats_.malformed_json);
    malformed_log_.warn("decode: printf text is not a JSON event ({}): '{}'", simdjson::error_message(error),
                        Quoted{piece});
    return;
  }
  if (type != od::json_type::object) return reject_non_object(doc, type, piece);
  Scan scan;
  od::object object;
  error = doc.get_object().get(object);
  if (!error) error = scan_object(object, Mode::kRaw, scan);
  if (!error && !at_document_end(doc)) error = simdjson::TRAILING_CONTENT;
  if (error) return malformed(error, piece);
  deliver(scan, piece, sink);
}

}  // namespace bto::decode_detail

#pragma once
// Private to metrics/: the attribute set http.server.request.duration records
// for an HTTP span: http.request.method (well-known or _OTHER),
// http.response.status_code, http.route (or the normalised path) and
// error.type, from stable or legacy semantic-convention keys.

#include <span>
#include <string>
#include <vector>

#include "metrics/series_table.h"
#include "spans/span_record.h"

namespace bto::metrics_detail {

class HttpMeasurement {
 public:
  // The keys of the values values_of() returns, in order.
  static std::vector<std::string> keys();

  HttpMeasurement() { route_.reserve(256); }

  // Views into `span` and into this object: valid until the next call.
  std::span<const ValueView> values_of(const SpanRecord& span) noexcept;

 private:
  ValueView values_[4];
  std::string route_;
  char code_text_[24] = {};
};

}  // namespace bto::metrics_detail

#include "metrics/http_measurement.h"

#include <charconv>
#include <string_view>

#include "spans/correlator.h"
#include "spans/first_of.h"
#include "spans/route_normalizer.h"

namespace bto::metrics_detail {
namespace {

// http.request.method values outside the well-known set become _OTHER
// (semantic conventions), so a scanner sending junk methods cannot blow the limit.
std::string_view known_method(std::string_view method) noexcept {
  static constexpr std::string_view kMethods[] = {"GET",     "HEAD",  "POST",  "PUT",  "DELETE",
                                                  "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"};
  for (const std::string_view known : kMethods) {
    if (method == known) return known;
  }
  return "_OTHER";
}

bool status_code_of(const Attribute* a, int64_t& code) noexcept {
  if (a == nullptr) return false;
  if (a->type == AttrType::kInt) {
    code = a->int_value;
    return true;
  }
  if (a->type != AttrType::kString) return false;
  const std::string_view s = a->string_value;
  const auto result = std::from_chars(s.data(), s.data() + s.size(), code);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

// The HTTP attributes a measurement needs, found in one pass over the span's
// attributes. Where several keys are accepted the earlier one in each list
// wins (stable semantic conventions before legacy ones).
struct HttpAttributes {
  const Attribute* method[2] = {};  // http.request.method, http.method
  const Attribute* code[2] = {};    // http.response.status_code, http.status_code
  const Attribute* route = nullptr;
  const Attribute* uri[4] = {};     // url.path, http.target, url.full, http.url
  const Attribute* incomplete = nullptr;
};

HttpAttributes find_http_attributes(const AttributeList& list) noexcept {
  HttpAttributes found;
  const auto keep = [](const Attribute*& slot, const Attribute& a) {
    if (slot == nullptr) slot = &a;
  };
  for (const Attribute& a : list.items()) {
    const std::string_view key = a.key;
    if (key == "http.request.method") keep(found.method[0], a);
    else if (key == "http.method") keep(found.method[1], a);
    else if (key == "http.response.status_code") keep(found.code[0], a);
    else if (key == "http.status_code") keep(found.code[1], a);
    else if (key == "http.route") keep(found.route, a);
    else if (key == "url.path") keep(found.uri[0], a);
    else if (key == "http.target") keep(found.uri[1], a);
    else if (key == "url.full") keep(found.uri[2], a);
    else if (key == "http.url") keep(found.uri[3], a);
    else if (key == kIncompleteKey) keep(found.incomplete, a);
  }
  return found;
}

}  // namespace

std::vector<std::string> HttpMeasurement::keys() {
  return {"http.request.method", "http.response.status_code", "http.route", "error.type"};
}

std::span<const ValueView> HttpMeasurement::values_of(const SpanRecord& span) noexcept {
  const HttpAttributes found = find_http_attributes(span.attributes);
  for (ValueView& v : values_) v = {};
  if (const Attribute* method = first_of(found.method); method != nullptr && method->type == AttrType::kString) {
    values_[0] = ValueView::of(known_method(method->string_value));
  }
  int64_t code = 0;
  const bool has_code = status_code_of(first_of(found.code), code);
  if (has_code) values_[1] = ValueView::of_int(code);
  if (const Attribute* route = found.route; route != nullptr && route->type == AttrType::kString) {
    values_[2] = ValueView::of(std::string_view(route->string_value));
  } else if (const Attribute* uri = first_of(found.uri); uri != nullptr && uri->type == AttrType::kString) {
    normalize_route(uri->string_value, route_);
    values_[2] = ValueView::of(std::string_view(route_));
  }
  // error.type: the status code for 5xx, else why the span failed.
  if (has_code && code >= 500) {
    const auto result = std::to_chars(code_text_, code_text_ + sizeof code_text_, code);
    values_[3] = ValueView::of(std::string_view(code_text_, static_cast<size_t>(result.ptr - code_text_)));
  } else if (span.status == StatusCode::kError) {
    const Attribute* reason = found.incomplete;
    values_[3] = ValueView::of(reason != nullptr && reason->type == AttrType::kString
                                        ? std::string_view(reason->string_value)
                                        : std::string_view("_OTHER"));
  }
  return values_;
}

}  // namespace bto::metrics_detail

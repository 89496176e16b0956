// http_request_{start,end}: "HTTP {METHOD} {URI}", server span; with
// span_name_route, "{METHOD} {route}" and http.route (low-cardinality names).

#include "spans/first_of.h"
#include "spans/handlers/builtin_handlers.h"
#include "spans/handlers/field_util.h"
#include "spans/route_normalizer.h"

namespace bto {
namespace {

using namespace handler_util;

bool legacy(SemconvMode mode) { return mode != SemconvMode::kStable; }
bool stable(SemconvMode mode) { return mode != SemconvMode::kLegacy; }

class HttpHandler final : public EventHandler {
 public:
  explicit HttpHandler(const HandlerOptions& options)
      : mode_(options.semconv), route_names_(options.span_name_route) {}

  bool can_handle(std::string_view family) const override { return family == "http_request"; }

  void on_start(const Event& event, SpanRecord& span) override {
    span.kind = SpanKind::kServer;
    const Mapped mapped = map_fields(event, span);
    if (route_names_ && mapped.uri != nullptr) {
      // Semantic conventions: "{method} {http.route}" (map_fields left the route in route_).
      span.name.assign(mapped.method != nullptr ? mapped.method->value.string_value : std::string_view("HTTP"));
      span.name.push_back(' ');
      span.name.append(route_);
      return;
    }
    span.name.assign("HTTP");
    if (mapped.method != nullptr) {
      span.name.push_back(' ');
      span.name.append(mapped.method->value.string_value);
    }
    if (mapped.uri != nullptr) {
      span.name.push_back(' ');
      span.name.append(mapped.uri->value.string_value);
    }
  }

  void on_end(const Event& event, SpanRecord& span) override { map_fields(event, span); }

 private:
  struct Mapped {
    const EventField* method = nullptr;
    const EventField* uri = nullptr;
  };

  static const EventField* string_field(const EventField* field) {
    return field != nullptr && field->value.type == ValueType::kString ? field : nullptr;
  }

  // The fields this handler maps, found in one pass. Where several names are
  // accepted the earlier name in the list wins: uri > url > path,
  // status_code > status; the first field of a repeated name wins.
  struct Found {
    const EventField* method = nullptr;
    const EventField* uri[3] = {};
    const EventField* status[2] = {};
  };

  static Found find_mapped(const Event& event) noexcept {
    Found found;
    const auto keep = [](const EventField*& slot, const EventField& field) {
      if (slot == nullptr) slot = &field;
    };
    for (const EventField& field : event.fields) {
      const std::string_view key = field.key;
      switch (key.size()) {
        case 3:
          if (key_is(key, "uri")) keep(found.uri[0], field);
          else if (key_is(key, "url")) keep(found.uri[1], field);
          break;
        case 4:
          if (key_is(key, "path")) keep(found.uri[2], field);
          break;
        case 6:
          if (key_is(key, "method")) keep(found.method, field);
          else if (key_is(key, "status")) keep(found.status[1], field);
          break;
        case 11:
          if (key_is(key, "status_code")) keep(found.status[0], field);
          break;
        default:
          break;
      }
    }
    return found;
  }

  Mapped map_fields(const Event& event, SpanRecord& span) {
    const Found found = find_mapped(event);
    Mapped mapped;
    mapped.method = string_field(found.method);
    mapped.uri = string_field(first_of(found.uri));
    const EventField* status = first_of(found.status);
    int64_t code = 0;
    if (status != nullptr && !as_int(status->value, code)) status = nullptr;

    AttributeList& attributes = span.attributes;
    if (mapped.method != nullptr) {
      const std::string_view method = mapped.method->value.string_value;
      if (legacy(mode_)) attributes.set_string("http.method", method);
      if (stable(mode_)) attributes.set_string("http.request.method", method);
    }
    if (mapped.uri != nullptr) {
      set_url(attributes, mapped.uri->value.string_value);
      if (route_names_) {
        normalize_route(mapped.uri->value.string_value, route_);
        attributes.set_string("http.route", route_);
      }
    }
    if (status != nullptr) {
      if (legacy(mode_)) attributes.set_int("http.status_code", code);
      if (stable(mode_)) attributes.set_int("http.response.status_code", code);
      if (code >= 500) set_error(span, "HTTP ", code);
    }
    apply_common(event, span, {mapped.method, mapped.uri, status});
    return mapped;
  }

  void set_url(AttributeList& attributes, std::string_view uri) const {
    if (legacy(mode_)) attributes.set_string("http.url", uri);
    if (!stable(mode_)) return;
    if (uri.find("://") != std::string_view::npos) {
      attributes.set_string("url.full", uri);
      return;
    }
    const size_t query = uri.find('?');
    attributes.set_string("url.path", uri.substr(0, query));
    if (query != std::string_view::npos) attributes.set_string("url.query", uri.substr(query + 1));
  }

  SemconvMode mode_;
  bool route_names_;
  std::string route_;  // scratch, reused (reader thread only)
};

}  // namespace

std::unique_ptr<EventHandler> create_http_handler(const HandlerOptions& options) {
  return std::make_unique<HttpHandler>(options);
}

}  // namespace bto

// request_{start,end}: "Request", internal span. Unlike the other handlers it
// reports the correlation id and the duration as attributes.

#include "spans/handlers/builtin_handlers.h"
#include "spans/handlers/field_util.h"

namespace bto {
namespace {

using namespace handler_util;

class RequestHandler final : public EventHandler {
 public:
  bool can_handle(std::string_view family) const override { return family == "request"; }

  void on_start(const Event& event, SpanRecord& span) override {
    span.kind = SpanKind::kInternal;
    span.name.assign("Request");
    map_fields(event, span);
  }

  void on_end(const Event& event, SpanRecord& span) override { map_fields(event, span); }

 private:
  static void map_fields(const Event& event, SpanRecord& span) {
    // The start's id wins: an end may spell the same id as "42" instead of 42.
    const EventField* id = find_field(event, "request_id");
    if (id != nullptr && span.attributes.find("request.id") == nullptr) {
      set_attribute(span.attributes, "request.id", id->value, KeySource::kCode);
    }
    int64_t duration = 0;
    if (const EventField* field = find_field(event, "duration");
        field != nullptr && as_int(field->value, duration)) {
      span.attributes.set_int("request.duration", duration);
    }
    apply_common(event, span, {});
  }
};

}  // namespace

std::unique_ptr<EventHandler> create_request_handler(const HandlerOptions&) {
  return std::make_unique<RequestHandler>();
}

}  // namespace bto

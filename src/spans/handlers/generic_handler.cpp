// Fallback for every family without a dedicated handler.

#include "spans/handlers/builtin_handlers.h"
#include "spans/handlers/field_util.h"

namespace bto {
namespace {

class GenericHandler final : public EventHandler {
 public:
  bool can_handle(std::string_view) const override { return true; }

  void on_start(const Event& event, SpanRecord& span) override {
    span.kind = SpanKind::kInternal;
    span.name.assign(event.family.empty() ? event.name : event.family);
    handler_util::apply_common(event, span, {});
  }

  void on_end(const Event& event, SpanRecord& span) override { handler_util::apply_common(event, span, {}); }
};

}  // namespace

std::unique_ptr<EventHandler> create_generic_handler(const HandlerOptions&) {
  return std::make_unique<GenericHandler>();
}

}  // namespace bto

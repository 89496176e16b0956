#pragma once
// Extension point: maps one event family's fields onto a span.
// Adding a handler = one new file in spans/handlers/ + one line in
// register_builtin_handlers() (handler_registry.cpp).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "decode/event.h"
#include "spans/span_record.h"

namespace bto {

// OTEL_SEMCONV_STABILITY_OPT_IN: which HTTP/network attribute names to emit.
enum class SemconvMode : uint8_t { kLegacy, kStable, kDuplicate };

struct HandlerOptions {
  SemconvMode semconv = SemconvMode::kLegacy;
  // http_request spans named "{method} {route}" (route from normalize_route)
  // with http.route set, instead of "HTTP {method} {uri}".
  bool span_name_route = false;
};

class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual bool can_handle(std::string_view family) const = 0;
  // Sets name, kind and attributes from a start (or single) event.
  virtual void on_start(const Event& event, SpanRecord& span) = 0;
  // Adds end attributes and decides the status.
  virtual void on_end(const Event& event, SpanRecord& span) = 0;
  // Fields whose values, together, pair a start with its end. Empty: the
  // event's `request_id`. Must stay valid and unchanged for the handler's life.
  virtual std::span<const std::string> key_fields() const noexcept { return {}; }
};

// A single event (or an end standing in for its start) goes through both
// handler phases, which mostly apply the same fields: a field over the count
// limit is counted once, not twice.
inline void apply_both_phases(EventHandler& handler, const Event& event, SpanRecord& span) {
  handler.on_start(event, span);
  const uint32_t by_start = span.attributes.dropped();
  handler.on_end(event, span);
  const uint32_t by_end = span.attributes.dropped() - by_start;
  span.attributes.set_dropped(std::max(by_start, by_end));
}

// Resolves a family to its handler once per family (cached), so the hot path
// does no per-event search across handlers. Unknown families get the generic
// handler (span named after the family, every field an attribute).
class HandlerRegistry {
 public:
  explicit HandlerRegistry(const HandlerOptions& options);
  ~HandlerRegistry();
  HandlerRegistry(const HandlerRegistry&) = delete;
  HandlerRegistry& operator=(const HandlerRegistry&) = delete;

  // Handlers registered earlier win.
  void add(std::unique_ptr<EventHandler> handler);
  EventHandler& handler_for(std::string_view family);
  // The handler of families nobody declared (every field an attribute).
  bool is_generic(const EventHandler& handler) const noexcept;
  const HandlerOptions& options() const noexcept { return options_; }

 private:
  struct Impl;
  HandlerOptions options_;
  std::unique_ptr<Impl> impl_;
};

// http_request, tls_handshake, net_dial, request.
void register_builtin_handlers(HandlerRegistry& registry);

}  // namespace bto

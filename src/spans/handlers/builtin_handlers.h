#pragma once
// Factories of the built-in handlers (private to spans/handlers/). A new
// handler adds its factory here and one line to register_builtin_handlers().

#include <memory>

#include "spans/handlers/event_handler.h"

namespace bto {

std::unique_ptr<EventHandler> create_http_handler(const HandlerOptions& options);
std::unique_ptr<EventHandler> create_tls_handler(const HandlerOptions& options);
std::unique_ptr<EventHandler> create_dial_handler(const HandlerOptions& options);
std::unique_ptr<EventHandler> create_request_handler(const HandlerOptions& options);
// Any family: span named after the family, every field an attribute.
std::unique_ptr<EventHandler> create_generic_handler(const HandlerOptions& options);

}  // namespace bto

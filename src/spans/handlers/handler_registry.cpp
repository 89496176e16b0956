#include <string>
#include <unordered_map>
#include <vector>

#include "spans/handlers/builtin_handlers.h"
#include "spans/handlers/event_handler.h"

namespace bto {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

// Families come from untrusted input: past this many the cache stops growing
// and further families are resolved by a scan (still correct, just slower).
constexpr size_t kMaxCachedFamilies = 1024;

}  // namespace

struct HandlerRegistry::Impl {
  std::vector<std::unique_ptr<EventHandler>> handlers;
  std::unique_ptr<EventHandler> generic;
  std::unordered_map<std::string, EventHandler*, StringHash, std::equal_to<>> cache;
  // One-entry memo: consecutive events are usually of the same family.
  std::string last_family;
  EventHandler* last_handler = nullptr;

  EventHandler& resolve(std::string_view family) {
    for (const auto& handler : handlers) {
      if (handler->can_handle(family)) return *handler;
    }
    return *generic;
  }
};

HandlerRegistry::HandlerRegistry(const HandlerOptions& options)
    : options_(options), impl_(std::make_unique<Impl>()) {
  impl_->generic = create_generic_handler(options_);
}

HandlerRegistry::~HandlerRegistry() = default;

void HandlerRegistry::add(std::unique_ptr<EventHandler> handler) {
  if (!handler) return;
  impl_->handlers.push_back(std::move(handler));
  impl_->cache.clear();  // an earlier answer may now be different
  impl_->last_handler = nullptr;
}

EventHandler& HandlerRegistry::handler_for(std::string_view family) {
  Impl& impl = *impl_;
  if (impl.last_handler != nullptr && impl.last_family == family) return *impl.last_handler;
  EventHandler* handler = nullptr;
  if (const auto it = impl.cache.find(family); it != impl.cache.end()) {
    handler = it->second;
  } else {
    handler = &impl.resolve(family);
    if (impl.cache.size() < kMaxCachedFamilies) impl.cache.emplace(std::string(family), handler);
  }
  impl.last_family.assign(family);
  impl.last_handler = handler;
  return *handler;
}

bool HandlerRegistry::is_generic(const EventHandler& handler) const noexcept {
  return &handler == impl_->generic.get();
}

void register_builtin_handlers(HandlerRegistry& registry) {
  const HandlerOptions& options = registry.options();
  registry.add(create_http_handler(options));
  registry.add(create_tls_handler(options));
  registry.add(create_dial_handler(options));
  registry.add(create_request_handler(options));
}

}  // namespace bto

// net_dial_{start,end}: "net.Dial", client span.

#include <charconv>

#include "spans/handlers/builtin_handlers.h"
#include "spans/handlers/field_util.h"

namespace bto {
namespace {

using namespace handler_util;

// "host:443" or "[::1]:443" -> host and port; a bare IPv6 address is left whole.
bool split_host_port(std::string_view address, std::string_view& host, int64_t& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == address.size()) return false;
  std::string_view head = address.substr(0, colon);
  if (head.starts_with('[') && head.ends_with(']')) {
    head = head.substr(1, head.size() - 2);
  } else if (head.find(':') != std::string_view::npos) {
    return false;
  }
  const std::string_view tail = address.substr(colon + 1);
  const auto [ptr, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), port);
  if (ec != std::errc() || ptr != tail.data() + tail.size() || port < 0 || port > 65535) return false;
  host = head;
  return true;
}

class DialHandler final : public EventHandler {
 public:
  explicit DialHandler(const HandlerOptions& options) : mode_(options.semconv) {}

  bool can_handle(std::string_view family) const override { return family == "net_dial"; }

  void on_start(const Event& event, SpanRecord& span) override {
    span.kind = SpanKind::kClient;
    span.name.assign("net.Dial");
    map_fields(event, span);
  }

  void on_end(const Event& event, SpanRecord& span) override { map_fields(event, span); }

 private:
  void map_fields(const Event& event, SpanRecord& span) const {
    const EventField* peer = find_first(event, {"peer", "addr", "host"});
    if (peer != nullptr && peer->value.type != ValueType::kString) peer = nullptr;
    const EventField* port_field = find_field(event, "port");
    int64_t port = 0;
    if (port_field != nullptr && !as_int(port_field->value, port)) port_field = nullptr;

    std::string_view host;
    bool have_port = port_field != nullptr;
    if (peer != nullptr) {
      host = peer->value.string_value;
      int64_t embedded_port = 0;
      std::string_view embedded_host;
      if (split_host_port(host, embedded_host, embedded_port)) {
        host = embedded_host;
        if (!have_port) {
          port = embedded_port;
          have_port = true;
        }
      }
      set_name(span, host);
    }
    if (have_port) set_port(span, port);
    apply_common(event, span, {peer, port_field});
  }

  void set_name(SpanRecord& span, std::string_view host) const {
    if (mode_ != SemconvMode::kStable) span.attributes.set_string("net.peer.name", host);
    if (mode_ != SemconvMode::kLegacy) span.attributes.set_string("server.address", host);
  }
  void set_port(SpanRecord& span, int64_t port) const {
    if (mode_ != SemconvMode::kStable) span.attributes.set_int("net.peer.port", port);
    if (mode_ != SemconvMode::kLegacy) span.attributes.set_int("server.port", port);
  }

  SemconvMode mode_;
};

}  // namespace

std::unique_ptr<EventHandler> create_dial_handler(const HandlerOptions& options) {
  return std::make_unique<DialHandler>(options);
}

}  // namespace bto

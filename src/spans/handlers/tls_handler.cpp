// tls_handshake_{start,end}: "TLS Handshake", client span.

#include <charconv>

#include "spans/handlers/builtin_handlers.h"
#include "spans/handlers/field_util.h"

namespace bto {
namespace {

using namespace handler_util;

// tls.protocol.version wants "1.2"/"1.3": accept wire codes (0x0303), and
// strings such as "TLSv1.3" or "TLS 1.3".
void set_stable_version(AttributeList& attributes, const FieldValue& value) {
  static constexpr std::string_view kKey = "tls.protocol.version";
  int64_t code = 0;
  if (value.type != ValueType::kString && as_int(value, code)) {
    if (code >= 0x0301 && code <= 0x0304) {
      const char text[4] = {'1', '.', static_cast<char>('0' + (code - 0x0301)), 0};
      attributes.set_string(kKey, std::string_view(text, 3));
      return;
    }
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof digits, code);
    attributes.set_string(kKey, std::string_view(digits, static_cast<size_t>(result.ptr - digits)));
    return;
  }
  if (value.type == ValueType::kDouble) {
    char digits[32];
    const auto result = std::to_chars(digits, digits + sizeof digits, value.double_value);
    attributes.set_string(kKey, std::string_view(digits, static_cast<size_t>(result.ptr - digits)));
    return;
  }
  if (value.type != ValueType::kString) return;
  std::string_view text = value.string_value;
  for (std::string_view prefix : {"TLSv", "tlsv", "TLS", "tls"}) {
    if (text.starts_with(prefix)) {
      text.remove_prefix(prefix.size());
      break;
    }
  }
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  attributes.set_string(kKey, text);
}

class TlsHandler final : public EventHandler {
 public:
  explicit TlsHandler(const HandlerOptions& options) : mode_(options.semconv) {}

  bool can_handle(std::string_view family) const override { return family == "tls_handshake"; }

  void on_start(const Event& event, SpanRecord& span) override {
    span.kind = SpanKind::kClient;
    span.name.assign("TLS Handshake");
    map_fields(event, span);
  }

  void on_end(const Event& event, SpanRecord& span) override { map_fields(event, span); }

 private:
  void map_fields(const Event& event, SpanRecord& span) const {
    const EventField* server = find_first(event, {"server_name", "sni"});
    if (server != nullptr && server->value.type != ValueType::kString) server = nullptr;
    const EventField* version = find_field(event, "version");
    const bool legacy = mode_ != SemconvMode::kStable;
    const bool stable = mode_ != SemconvMode::kLegacy;
    if (server != nullptr) {
      if (legacy) span.attributes.set_string("tls.server_name", server->value.string_value);
      if (stable) span.attributes.set_string("server.address", server->value.string_value);
    }
    if (version != nullptr) {
      if (legacy) set_attribute(span.attributes, "tls.version", version->value, KeySource::kCode);
      if (stable) set_stable_version(span.attributes, version->value);
    }
    apply_common(event, span, {server, version});
  }

  SemconvMode mode_;
};

}  // namespace

std::unique_ptr<EventHandler> create_tls_handler(const HandlerOptions& options) {
  return std::make_unique<TlsHandler>(options);
}

}  // namespace bto

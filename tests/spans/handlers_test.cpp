#include <gtest/gtest.h>

#include "spans/handlers/event_handler.h"
#include "spans_test_util.h"

namespace bto {
namespace {

using testing::TestEvent;

// Runs start (and optionally end) through the registry's handler, as the correlator does.
SpanRecord apply(HandlerRegistry& registry, const TestEvent& start, const TestEvent* end = nullptr) {
  SpanRecord span;
  const Event event = start.event();
  EventHandler& handler = registry.handler_for(event.family);
  handler.on_start(event, span);
  if (end != nullptr) handler.on_end(end->event(), span);
  return span;
}

struct Registry {
  explicit Registry(SemconvMode mode = SemconvMode::kLegacy) : registry(HandlerOptions{mode}) {
    register_builtin_handlers(registry);
  }
  HandlerRegistry registry;
};

std::string str(const SpanRecord& span, std::string_view key) {
  const Attribute* a = span.attributes.find(key);
  if (a == nullptr) return "<missing>";
  return a->type == AttrType::kString ? a->string_value : "<not a string>";
}

int64_t num(const SpanRecord& span, std::string_view key) {
  const Attribute* a = span.attributes.find(key);
  if (a == nullptr || a->type != AttrType::kInt) return -12345;
  return a->int_value;
}

TEST(HttpHandler, legacy_names_and_span_name) {
  Registry r;
  TestEvent start("http_request_start", {{"request_id", 1},
                                         {"method", "GET"},
                                         {"uri", "/api/users?id=3"},
                                         {"timestamp", 5},
                                         {"parent_id", 9},
                                         {"tid", 77}});
  TestEvent end("http_request_end", {{"request_id", 1}, {"status_code", 200}, {"duration", 10}});
  const SpanRecord span = apply(r.registry, start, &end);
  EXPECT_EQ(span.name, "HTTP GET /api/users?id=3");
  EXPECT_EQ(span.kind, SpanKind::kServer);
  EXPECT_EQ(str(span, "http.method"), "GET");
  EXPECT_EQ(str(span, "http.url"), "/api/users?id=3");
  EXPECT_EQ(num(span, "http.status_code"), 200);
  EXPECT_EQ(num(span, "thread.id"), 77);
  EXPECT_EQ(span.status, StatusCode::kUnset);
  // Reserved fields are consumed; no stable names in legacy mode.
  for (const char* key : {"request_id", "parent_id", "timestamp", "duration", "tid", "method", "uri",
                          "status_code", "http.request.method", "url.path", "http.response.status_code"}) {
    EXPECT_EQ(span.attributes.find(key), nullptr) << key;
  }
  EXPECT_EQ(span.attributes.size(), 4u);
}

TEST(HttpHandler, server_error_status_from_5xx) {
  Registry r;
  TestEvent start("http_request_start", {{"request_id", 1}, {"method", "POST"}, {"uri", "/pay"}});
  TestEvent end503("http_request_end", {{"request_id", 1}, {"status_code", 503}});
  const SpanRecord failed = apply(r.registry, start, &end503);
  EXPECT_EQ(failed.status, StatusCode::kError);
  EXPECT_EQ(failed.status_message, "HTTP 503");
  TestEvent end404("http_request_end", {{"request_id", 1}, {"status", "404"}});
  const SpanRecord not_found = apply(r.registry, start, &end404);
  EXPECT_EQ(not_found.status, StatusCode::kUnset);
  EXPECT_EQ(num(not_found, "http.status_code"), 404);  // `status` alias, numeric string
  EXPECT_EQ(not_found.attributes.find("status"), nullptr);
}

TEST(HttpHandler, url_and_path_aliases) {
  Registry r;
  const SpanRecord by_url =
      apply(r.registry, TestEvent("http_request_start", {{"method", "GET"}, {"url", "/u"}}));
  EXPECT_EQ(by_url.name, "HTTP GET /u");
  EXPECT_EQ(str(by_url, "http.url"), "/u");
  const SpanRecord by_path =
      apply(r.registry, TestEvent("http_request_start", {{"method", "GET"}, {"path", "/p"}}));
  EXPECT_EQ(str(by_path, "http.url"), "/p");
  // uri wins; the other stays an attribute under its own name.
  const SpanRecord both = apply(r.registry, TestEvent("http_request_start", {{"path", "/p"}, {"uri", "/i"}}));
  EXPECT_EQ(str(both, "http.url"), "/i");
  EXPECT_EQ(str(both, "path"), "/p");
  EXPECT_EQ(both.name, "HTTP /i");
  const SpanRecord bare = apply(r.registry, TestEvent("http_request_start", {}));
  EXPECT_EQ(bare.name, "HTTP");
}

TEST(HttpHandler, stable_semconv_names) {
  Registry r(SemconvMode::kStable);
  TestEvent start("http_request_start", {{"method", "GET"}, {"uri", "/a/b?x=1"}});
  TestEvent end("http_request_end", {{"status_code", 201}});
  const SpanRecord span = apply(r.registry, start, &end);
  EXPECT_EQ(str(span, "http.request.method"), "GET");
  EXPECT_EQ(str(span, "url.path"), "/a/b");
  EXPECT_EQ(str(span, "url.query"), "x=1");
  EXPECT_EQ(num(span, "http.response.status_code"), 201);
  EXPECT_EQ(span.attributes.find("http.method"), nullptr);
  EXPECT_EQ(span.attributes.find("http.url"), nullptr);
  EXPECT_EQ(span.attributes.find("http.status_code"), nullptr);
  const SpanRecord full =
      apply(r.registry, TestEvent("http_request_start", {{"method", "GET"}, {"uri", "https://h/x"}}));
  EXPECT_EQ(str(full, "url.full"), "https://h/x");
  EXPECT_EQ(full.attributes.find("url.path"), nullptr);
}

TEST(HttpHandler, duplicate_semconv_emits_both) {
  Registry r(SemconvMode::kDuplicate);
  TestEvent start("http_request_start", {{"method", "GET"}, {"uri", "/a"}});
  TestEvent end("http_request_end", {{"status_code", 500}});
  const SpanRecord span = apply(r.registry, start, &end);
  EXPECT_EQ(str(span, "http.method"), "GET");
  EXPECT_EQ(str(span, "http.request.method"), "GET");
  EXPECT_EQ(str(span, "http.url"), "/a");
  EXPECT_EQ(str(span, "url.path"), "/a");
  EXPECT_EQ(num(span, "http.status_code"), 500);
  EXPECT_EQ(num(span, "http.response.status_code"), 500);
  EXPECT_EQ(span.status, StatusCode::kError);
}

TEST(HttpHandler, unmapped_fields_keep_their_types) {
  Registry r;
  const SpanRecord span =
      apply(r.registry,
            TestEvent("http_request_start",
                      {{"method", "GET"}, {"bytes", 512}, {"ratio", 0.5}, {"cached", true}, {"host", "h"}}));
  EXPECT_EQ(span.attributes.find("bytes")->type, AttrType::kInt);
  EXPECT_EQ(span.attributes.find("bytes")->int_value, 512);
  EXPECT_EQ(span.attributes.find("ratio")->type, AttrType::kDouble);
  EXPECT_DOUBLE_EQ(span.attributes.find("ratio")->double_value, 0.5);
  EXPECT_EQ(span.attributes.find("cached")->type, AttrType::kBool);
  EXPECT_TRUE(span.attributes.find("cached")->bool_value);
  EXPECT_EQ(str(span, "host"), "h");
}

TEST(TlsHandler, legacy_and_stable_names) {
  Registry legacy;
  TestEvent start("tls_handshake_start", {{"request_id", 3}, {"server_name", "api.example.com"}});
  TestEvent end("tls_handshake_end", {{"request_id", 3}, {"version", "TLSv1.3"}});
  const SpanRecord a = apply(legacy.registry, start, &end);
  EXPECT_EQ(a.name, "TLS Handshake");
  EXPECT_EQ(a.kind, SpanKind::kClient);
  EXPECT_EQ(str(a, "tls.server_name"), "api.example.com");
  EXPECT_EQ(str(a, "tls.version"), "TLSv1.3");
  EXPECT_EQ(a.attributes.size(), 2u);

  Registry stable(SemconvMode::kStable);
  const SpanRecord b = apply(stable.registry, start, &end);
  EXPECT_EQ(str(b, "server.address"), "api.example.com");
  EXPECT_EQ(str(b, "tls.protocol.version"), "1.3");
  EXPECT_EQ(b.attributes.find("tls.server_name"), nullptr);
  EXPECT_EQ(b.attributes.size(), 2u);

  // sni alias and the wire code 0x0303.
  const SpanRecord c =
      apply(stable.registry, TestEvent("tls_handshake_start", {{"sni", "s"}, {"version", 0x0303}}));
  EXPECT_EQ(str(c, "server.address"), "s");
  EXPECT_EQ(str(c, "tls.protocol.version"), "1.2");
  const SpanRecord d =
      apply(legacy.registry, TestEvent("tls_handshake_start", {{"sni", "s"}, {"version", 0x0303}}));
  EXPECT_EQ(str(d, "tls.server_name"), "s");
  EXPECT_EQ(num(d, "tls.version"), 0x0303);  // legacy keeps the value as given
}

TEST(DialHandler, peer_aliases_and_port) {
  Registry r;
  const SpanRecord a = apply(r.registry, TestEvent("net_dial_start", {{"peer", "db.local"}, {"port", 5432}}));
  EXPECT_EQ(a.name, "net.Dial");
  EXPECT_EQ(a.kind, SpanKind::kClient);
  EXPECT_EQ(str(a, "net.peer.name"), "db.local");
  EXPECT_EQ(num(a, "net.peer.port"), 5432);
  const SpanRecord b = apply(r.registry, TestEvent("net_dial_start", {{"addr", "10.0.0.1:443"}}));
  EXPECT_EQ(str(b, "net.peer.name"), "10.0.0.1");
  EXPECT_EQ(num(b, "net.peer.port"), 443);
  const SpanRecord c =
      apply(r.registry, TestEvent("net_dial_start", {{"host", "[::1]:8080"}, {"port", "9090"}}));
  EXPECT_EQ(str(c, "net.peer.name"), "::1");
  EXPECT_EQ(num(c, "net.peer.port"), 9090);  // an explicit port wins
  const SpanRecord d = apply(r.registry, TestEvent("net_dial_start", {{"addr", "fe80::1"}}));
  EXPECT_EQ(str(d, "net.peer.name"), "fe80::1");
  EXPECT_EQ(d.attributes.find("net.peer.port"), nullptr);
}

TEST(DialHandler, stable_names) {
  Registry r(SemconvMode::kStable);
  const SpanRecord a = apply(r.registry, TestEvent("net_dial_start", {{"peer", "db"}, {"port", 5432}}));
  EXPECT_EQ(str(a, "server.address"), "db");
  EXPECT_EQ(num(a, "server.port"), 5432);
  EXPECT_EQ(a.attributes.find("net.peer.name"), nullptr);
  EXPECT_EQ(a.attributes.size(), 2u);
}

TEST(RequestHandler, id_and_duration_attributes) {
  Registry r;
  TestEvent start("request_start", {{"request_id", "abc123"}, {"timestamp", 10}, {"user", "bob"}});
  TestEvent end("request_end", {{"request_id", "abc123"}, {"duration", 15000000}});
  const SpanRecord span = apply(r.registry, start, &end);
  EXPECT_EQ(span.name, "Request");
  EXPECT_EQ(span.kind, SpanKind::kInternal);
  EXPECT_EQ(str(span, "request.id"), "abc123");
  EXPECT_EQ(num(span, "request.duration"), 15000000);
  EXPECT_EQ(str(span, "user"), "bob");
  EXPECT_EQ(span.attributes.size(), 3u);
  const SpanRecord numeric = apply(r.registry, TestEvent("request_start", {{"request_id", 42}}));
  EXPECT_EQ(num(numeric, "request.id"), 42);  // keeps its type
}

TEST(GenericHandler, named_after_family_with_all_fields) {
  Registry r;
  TestEvent start("db_query_begin", {{"request_id", 1}, {"sql", "select 1"}, {"rows", 3}, {"tid", 4}});
  TestEvent end("db_query_done", {{"request_id", 1}, {"ok", true}});
  const SpanRecord span = apply(r.registry, start, &end);
  EXPECT_EQ(span.name, "db_query");
  EXPECT_EQ(span.kind, SpanKind::kInternal);
  EXPECT_EQ(str(span, "sql"), "select 1");
  EXPECT_EQ(num(span, "rows"), 3);
  EXPECT_EQ(num(span, "thread.id"), 4);
  EXPECT_TRUE(span.attributes.find("ok")->bool_value);
  EXPECT_EQ(span.attributes.find("request_id"), nullptr);
  EXPECT_EQ(span.attributes.size(), 4u);
}

TEST(Handlers, error_and_errno_fields_set_error_status) {
  Registry r;
  const SpanRecord a = apply(r.registry, TestEvent("net_dial_start", {{"error", 1}}));
  EXPECT_EQ(a.status, StatusCode::kError);
  EXPECT_EQ(a.status_message, "error 1");
  EXPECT_EQ(num(a, "error"), 1);  // still an attribute
  const SpanRecord b = apply(r.registry, TestEvent("job_start", {{"errno", 0}}));
  EXPECT_EQ(b.status, StatusCode::kUnset);
  const SpanRecord c = apply(r.registry, TestEvent("tls_handshake_start", {{"error", "handshake failure"}}));
  EXPECT_EQ(c.status, StatusCode::kError);
  EXPECT_EQ(c.status_message, "handshake failure");
  const SpanRecord d = apply(r.registry, TestEvent("request_start", {{"error", ""}}));
  EXPECT_EQ(d.status, StatusCode::kUnset);
  const SpanRecord e = apply(r.registry, TestEvent("http_request_start", {{"errno", -104}}));
  EXPECT_EQ(e.status_message, "errno -104");
}

class FixedHandler final : public EventHandler {
 public:
  explicit FixedHandler(std::string family, std::string name)
      : family_(std::move(family)), name_(std::move(name)) {}
  bool can_handle(std::string_view family) const override {
    ++calls;
    return family == family_;
  }
  void on_start(const Event&, SpanRecord& span) override { span.name = name_; }
  void on_end(const Event&, SpanRecord&) override {}
  mutable int calls = 0;

 private:
  std::string family_;
  std::string name_;
};

TEST(HandlerRegistry, resolves_builtins_and_falls_back_to_generic) {
  Registry r;
  EXPECT_EQ(apply(r.registry, TestEvent("http_request_start", {})).name, "HTTP");
  EXPECT_EQ(apply(r.registry, TestEvent("tls_handshake_start", {})).name, "TLS Handshake");
  EXPECT_EQ(apply(r.registry, TestEvent("net_dial_start", {})).name, "net.Dial");
  EXPECT_EQ(apply(r.registry, TestEvent("request_start", {})).name, "Request");
  EXPECT_EQ(apply(r.registry, TestEvent("my_request_start", {})).name, "my_request");
  EXPECT_EQ(&r.registry.handler_for("a"), &r.registry.handler_for("b"));  // both generic
  EXPECT_NE(&r.registry.handler_for("request"), &r.registry.handler_for("http_request"));
}

TEST(HandlerRegistry, earlier_handler_wins_and_lookups_are_cached) {
  HandlerRegistry registry(HandlerOptions{});
  auto first = std::make_unique<FixedHandler>("job", "first");
  FixedHandler* first_ptr = first.get();
  registry.add(std::move(first));
  registry.add(std::make_unique<FixedHandler>("job", "second"));
  EXPECT_EQ(apply(registry, TestEvent("job_start", {})).name, "first");
  const int after_first = first_ptr->calls;
  for (int i = 0; i < 100; ++i) {
    registry.handler_for("job");
    registry.handler_for("other");
  }
  EXPECT_EQ(&registry.handler_for("job"), first_ptr);
  EXPECT_EQ(first_ptr->calls, after_first + 1);  // "other" resolved once, then cached
}

}  // namespace
}  // namespace bto

// Declared event families ([[family]] in the config file) through the real
// decoder, correlator and handler registry: bpftrace tuple lines in, spans out.

#include "spans/handlers/config_family_handler.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/errors.h"
#include "decode/decoder.h"
#include "spans_test_util.h"

namespace bto {
namespace {

using testing::attr;
using testing::CollectingSink;
using testing::FakeClock;

// Lines -> decoder -> correlator (declared families, then the built-ins).
struct FamilyHarness {
  explicit FamilyHarness(std::vector<FamilySpec> specs) : registry(HandlerOptions{}) {
    register_config_families(registry, specs, family_stats);
    register_builtin_handlers(registry);
    correlator = create_correlator(CorrelatorOptions{}, registry, pool, sink, converter, stats);
    decoder = create_decoder(DecodeOptions{}, decode_stats);
  }
  // One bpftrace -f json tuple line, e.g. R"("db_query_start","conn_id",1)".
  void feed(const std::string& tuple) {
    const std::string line = R"({"type": "value", "data": [)" + tuple + "]}";
    std::vector<char> buffer(line.size() + kLinePadding, '\0');
    std::memcpy(buffer.data(), line.data(), line.size());
    decoder->decode_line(std::string_view(buffer.data(), line.size()), *correlator);
  }
  const SpanRecord& span(size_t index) const { return *sink.spans.at(index); }
  size_t emitted() const { return sink.spans.size(); }

  FakeClock clock;
  TimestampConverter converter{clock};
  HandlerRegistry registry;
  FamilyStats family_stats;
  SpanPool pool;
  CollectingSink sink;
  CorrelatorStats stats;
  DecodeStats decode_stats;
  std::unique_ptr<Correlator> correlator;
  std::unique_ptr<Decoder> decoder;
};

FamilySpec db_query() {
  FamilySpec spec;
  spec.name = "db_query";
  spec.span_name = "{db.operation} {table}";
  spec.kind = SpanKind::kClient;
  spec.key_fields = {"pid", "conn_id"};
  spec.error_when = {"errno != 0"};
  spec.attributes = {
      {"op", "db.operation", FamilyValueType::kAsIs, false},
      {"query", "db.query.text", FamilyValueType::kAsIs, false},
      {"rows", "db.response.rows", FamilyValueType::kInt, false},
      {"secret", "", FamilyValueType::kAsIs, true},
  };
  return spec;
}

TEST(ConfigFamily, renames_converts_and_drops_fields) {
  FamilyHarness h({db_query()});
  h.feed(R"("db_query_start","pid",10,"conn_id",3,"op","SELECT","table","users","query","SELECT 1",)"
         R"("secret","hunter2","tid",77)");
  h.feed(R"("db_query_end","pid",10,"conn_id",3,"rows","42","errno",0)");
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& span = h.span(0);
  EXPECT_EQ(span.name, "SELECT users");
  EXPECT_EQ(span.kind, SpanKind::kClient);
  EXPECT_EQ(span.status, StatusCode::kUnset);
  ASSERT_NE(attr(span, "db.query.text"), nullptr);
  EXPECT_EQ(attr(span, "db.query.text")->string_value, "SELECT 1");
  ASSERT_NE(attr(span, "db.response.rows"), nullptr);
  EXPECT_EQ(attr(span, "db.response.rows")->type, AttrType::kInt);
  EXPECT_EQ(attr(span, "db.response.rows")->int_value, 42);
  EXPECT_EQ(attr(span, "secret"), nullptr);
  EXPECT_EQ(attr(span, "query"), nullptr);
  ASSERT_NE(attr(span, "table"), nullptr);  // unmapped: kept under its own name
  EXPECT_EQ(attr(span, "thread.id")->int_value, 77);
  EXPECT_EQ(attr(span, "conn_id")->int_value, 3);
  EXPECT_EQ(h.family_stats.template_fields_missing, 0u);
}

TEST(ConfigFamily, unmapped_drop_keeps_only_mapped_fields) {
  FamilySpec spec = db_query();
  spec.drop_unmapped = true;
  FamilyHarness h({spec});
  h.feed(R"("db_query","pid",1,"conn_id",1,"op","GET","table","t","query","q","duration",1000)");
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& span = h.span(0);
  EXPECT_EQ(span.name, "GET t");  // a dropped field still feeds the template of its own event
  EXPECT_EQ(span.attributes.size(), 2u);
  EXPECT_NE(attr(span, "db.operation"), nullptr);
  EXPECT_NE(attr(span, "db.query.text"), nullptr);
}

TEST(ConfigFamily, each_conversion_and_failed_conversion_is_counted) {
  FamilySpec spec;
  spec.name = "conv";
  spec.attributes = {{"a", "", FamilyValueType::kString, false},
                     {"b", "", FamilyValueType::kDouble, false},
                     {"c", "", FamilyValueType::kBool, false},
                     {"d", "", FamilyValueType::kInt, false},
                     {"e", "", FamilyValueType::kInt, false}};
  FamilyHarness h({spec});
  h.feed(R"("conv","request_id",1,"a",12,"b","2.5","c","true","d",7.9,"e","abc","duration",5)");
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& span = h.span(0);
  EXPECT_EQ(attr(span, "a")->string_value, "12");
  EXPECT_EQ(attr(span, "b")->double_value, 2.5);
  EXPECT_TRUE(attr(span, "c")->bool_value);
  EXPECT_EQ(attr(span, "d")->int_value, 7);
  EXPECT_EQ(attr(span, "e")->type, AttrType::kString);  // kept as it came
  EXPECT_EQ(h.family_stats.conversions_failed, 1u);
}

TEST(ConfigFamily, template_filters_escapes_and_renamed_names) {
  FamilySpec spec;
  spec.name = "api";
  spec.span_name = "{{{verb|upper}}} {uri|route} {http.route} {sql | first_word | upper}";
  spec.attributes = {{"path", "http.route", FamilyValueType::kAsIs, false}};
  FamilyHarness h({spec});
  h.feed(R"("api","request_id",1,"verb","get","uri","/users/123/orders?x=1","path","/p","sql","  select * from t","duration",5)");
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "{GET} /users/{id}/orders /p SELECT");
}

TEST(ConfigFamily, missing_template_field_renders_empty_and_is_counted) {
  FamilyHarness h({db_query()});
  h.feed(R"("db_query_start","pid",1,"conn_id",1,"op","SELECT")");
  h.feed(R"("db_query_end","pid",1,"conn_id",1)");
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "SELECT");  // trailing space trimmed
  EXPECT_EQ(h.family_stats.template_fields_missing, 1u);

  FamilySpec only_missing = db_query();
  only_missing.name = "empty_name";
  FamilyHarness empty({only_missing});
  empty.feed(R"("empty_name","pid",1,"conn_id",1,"duration",5)");
  ASSERT_EQ(empty.emitted(), 1u);
  EXPECT_EQ(empty.span(0).name, "empty_name");  // nothing rendered: the family name
}

TEST(ConfigFamily, name_fields_carried_by_the_end_are_filled_in_at_the_end) {
  FamilyHarness h({db_query()});
  h.feed(R"("db_query_start","pid",1,"conn_id",1,"op","UPDATE")");
  h.feed(R"("db_query_end","pid",1,"conn_id",1,"table","orders")");
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "UPDATE orders");
  EXPECT_EQ(h.family_stats.template_fields_missing, 0u);
}

TEST(ConfigFamily, status_rule_marks_errors_with_default_and_templated_message) {
  FamilyHarness h({db_query()});
  h.feed(R"("db_query","pid",1,"conn_id",1,"op","SELECT","errno",13,"duration",5)");
  h.feed(R"("db_query","pid",1,"conn_id",2,"op","SELECT","errno",0,"duration",5)");
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).status, StatusCode::kError);
  EXPECT_EQ(h.span(0).status_message, "errno=13");
  EXPECT_EQ(h.span(1).status, StatusCode::kUnset);

  FamilySpec spec;
  spec.name = "http_call";
  spec.error_when = {"status_code >= 500", "result == \"fail\" && retries > 2"};
  spec.status_message = "HTTP {status_code} {result}";
  FamilyHarness rules({spec});
  rules.feed(R"("http_call_start","request_id",1)");
  rules.feed(R"("http_call_end","request_id",1,"status_code",503)");
  rules.feed(R"("http_call","request_id",2,"result","fail","retries",3,"duration",1)");
  rules.feed(R"("http_call","request_id",3,"result","fail","retries",1,"duration",1)");
  rules.feed(R"("http_call","request_id",4,"status_code","404","duration",1)");
  ASSERT_EQ(rules.emitted(), 4u);
  EXPECT_EQ(rules.span(0).status, StatusCode::kError);
  EXPECT_EQ(rules.span(0).status_message, "HTTP 503");
  EXPECT_EQ(rules.span(1).status, StatusCode::kError);
  EXPECT_EQ(rules.span(1).status_message, "HTTP  fail");
  EXPECT_EQ(rules.span(2).status, StatusCode::kUnset);
  EXPECT_EQ(rules.span(3).status, StatusCode::kUnset);  // "404" compared as a number
}

TEST(ConfigFamily, rule_sees_start_fields_at_the_end_and_missing_fields_are_false) {
  FamilySpec spec;
  spec.name = "job";
  spec.error_when = {"code != 0"};
  spec.attributes = {{"code", "job.code", FamilyValueType::kAsIs, false}};
  FamilyHarness h({spec});
  h.feed(R"("job_start","request_id",1,"code",4)");  // renamed at start, still seen at the end
  h.feed(R"("job_end","request_id",1)");
  h.feed(R"("job_start","request_id",2)");
  h.feed(R"("job_end","request_id",2)");
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).status, StatusCode::kError);
  EXPECT_EQ(h.span(0).status_message, "code=4");
  EXPECT_EQ(h.span(1).status, StatusCode::kUnset);
  EXPECT_EQ(h.family_stats.rule_fields_missing, 1u);
}

TEST(ConfigFamily, without_rules_a_nonzero_errno_is_an_error) {
  FamilySpec spec;
  spec.name = "plain";
  FamilyHarness h({spec});
  h.feed(R"("plain","request_id",1,"errno",2,"duration",1)");
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).status, StatusCode::kError);
  EXPECT_EQ(h.span(0).status_message, "errno 2");
}

TEST(ConfigFamily, key_fields_pair_start_and_end_without_request_id) {
  FamilyHarness h({db_query()});
  h.feed(R"("db_query_start","pid",1,"conn_id",1,"op","A")");
  h.feed(R"("db_query_start","pid",2,"conn_id",1,"op","B")");
  h.feed(R"("db_query_start","pid",1,"conn_id",2,"op","C")");
  h.feed(R"("db_query_end","pid",2,"conn_id",1,"table","t2")");
  h.feed(R"("db_query_end","pid",1,"conn_id",2,"table","t3")");
  h.feed(R"("db_query_end","pid",1,"conn_id",1,"table","t1")");
  ASSERT_EQ(h.emitted(), 3u);
  EXPECT_EQ(h.span(0).name, "B t2");
  EXPECT_EQ(h.span(1).name, "C t3");
  EXPECT_EQ(h.span(2).name, "A t1");
  EXPECT_EQ(h.stats.missing_request_id, 0u);
  h.feed(R"("db_query_start","conn_id",9)");  // lacks pid: dropped
  EXPECT_EQ(h.stats.missing_request_id, 1u);
}

TEST(ConfigFamily, declared_family_overrides_a_builtin) {
  FamilySpec spec;
  spec.name = "http_request";
  spec.span_name = "{method} {uri|route}";
  spec.kind = SpanKind::kClient;
  FamilyHarness h({spec});
  h.feed(R"("http_request_start","request_id",5,"method","GET","uri","/items/42")");
  h.feed(R"("http_request_end","request_id",5,"status_code",500)");
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "GET /items/{id}");
  EXPECT_EQ(h.span(0).kind, SpanKind::kClient);
  EXPECT_EQ(attr(h.span(0), "http.method"), nullptr);  // not the built-in mapping
  EXPECT_EQ(h.span(0).status, StatusCode::kUnset);       // no rule declared, no errno

  // Other families still reach the built-ins.
  h.feed(R"("request_start","request_id",6)");
  h.feed(R"("request_end","request_id",6)");
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(1).name, "Request");
}

TEST(ConfigFamily, templates_and_rules_are_validated) {
  EXPECT_EQ(check_family_template("{a} {b|route} {{x}}"), "");
  EXPECT_EQ(check_family_template("{db.operation"),
            "unclosed '{' at offset 0 (write '{{' for a literal brace)");
  EXPECT_EQ(check_family_template("a}"), "unmatched '}' at offset 1 (write '}}' for a literal brace)");
  EXPECT_EQ(check_family_template("x {}"), "empty placeholder at offset 2");
  EXPECT_EQ(check_family_template("{uri|slug}"), "unknown filter 'slug' in '{uri|slug}' (known: route, upper, lower, first_word)");
  EXPECT_EQ(check_family_template("{a b}"), "'a b' is not a field name (letters, digits, '_', '.', '-')");

  EXPECT_EQ(check_family_template("{a|lower|upper|lower|upper|lower}"), "more than 4 filters in '{a|lower|upper|lower|upper|lower}'");

  EXPECT_EQ(check_status_rule("errno != 0"), "");
  EXPECT_EQ(check_status_rule("a >= 1.5 && b == 'x' || c != true"), "");
  EXPECT_EQ(check_status_rule(""), "empty rule");
  EXPECT_EQ(check_status_rule("errno !! 0"), "expected an operator (== != < <= > >=) after 'errno'");
  EXPECT_EQ(check_status_rule("errno !="), "expected a value after the operator on 'errno'");
  EXPECT_EQ(check_status_rule("a == zero"), "'zero' is not a value (a number, \"text\", true or false)");
  EXPECT_EQ(check_status_rule("a == \"x"), "unterminated string at offset 5");
  EXPECT_EQ(check_status_rule("a > true"), "'true' can only be compared with == or !=");
  EXPECT_EQ(check_status_rule("a == 1 and b == 2"), "expected && or || at offset 7, found 'and b =='");
  EXPECT_EQ(check_status_rule("== 1"), "expected a field name at offset 0");

  FamilySpec bad;
  bad.name = "x";
  bad.span_name = "{oops";
  FamilyStats stats;
  EXPECT_THROW(create_config_family_handler(bad, stats), StartupError);
}

}  // namespace
}  // namespace bto

// [[family]] tables in the config file: parsed into AppOptions, and every
// invalid definition fails at start naming file:line and the problem.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "config/app_options.h"
#include "config_test_util.h"

namespace bto {
namespace {

using config_test::load_args;
using config_test::startup_error_of;

class FamiliesConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    // Per test and process: ctest runs these tests in parallel processes.
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = ::testing::TempDir() + "bto_families_" + test->name() + "_" + std::to_string(::getpid()) + ".toml";
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // The error for `text`, or "" when it loads.
  std::string error_for(const std::string& text) { return startup_error_of({"-i", "x", "--config", write(text)}); }
  // Expects an error at `line` containing `problem`.
  void expect_error(const std::string& text, int line, const std::string& problem) {
    const std::string error = error_for(text);
    EXPECT_NE(error.find(path_ + ":" + std::to_string(line) + ":"), std::string::npos) << error;
    EXPECT_NE(error.find(problem), std::string::npos) << error;
  }

  std::string path_;
};

constexpr const char* kFull = R"(log_level = "warn"

[[family]]
name = "db_query"
span_name = "{db.operation} {table}"
kind = "client"
key = ["pid", "conn_id"]
status.error_when = ["errno != 0", "rows < 0"]
status.message = "{error}"
unmapped = "drop"
[family.attributes]
query = { name = "db.query.text" }
rows  = { name = "db.response.rows", type = "int" }
op = "db.operation"
secret = { drop = true }
[[family.metrics]]
kind = "histogram"
name = "db.client.operation.duration"
attributes = ["db.operation", "status"]
[[family.metrics]]
kind = "counter"
name = "db.client.operations"
description = "Queries"

[[family]]
name = "job"
)";

TEST_F(FamiliesConfigTest, full_definition_is_parsed_into_options) {
  const LoadedConfig config = load_args({"-i", "x", "--config", write(kFull)});
  const DeclaredFamilies& families = config.options.families;
  ASSERT_EQ(families.specs.size(), 2u);
  const FamilySpec& db = families.specs[0];
  EXPECT_EQ(db.name, "db_query");
  EXPECT_EQ(db.span_name, "{db.operation} {table}");
  EXPECT_EQ(db.kind, SpanKind::kClient);
  EXPECT_EQ(db.key_fields, (std::vector<std::string>{"pid", "conn_id"}));
  EXPECT_EQ(db.error_when, (std::vector<std::string>{"errno != 0", "rows < 0"}));
  EXPECT_EQ(db.status_message, "{error}");
  EXPECT_TRUE(db.drop_unmapped);
  ASSERT_EQ(db.attributes.size(), 4u);
  // toml++ keeps a table's keys sorted.
  EXPECT_EQ(db.attributes[0].field, "op");
  EXPECT_EQ(db.attributes[0].name, "db.operation");
  EXPECT_EQ(db.attributes[1].field, "query");
  EXPECT_EQ(db.attributes[1].name, "db.query.text");
  EXPECT_EQ(db.attributes[2].type, FamilyValueType::kInt);
  EXPECT_TRUE(db.attributes[3].drop);
  EXPECT_EQ(families.specs[1].name, "job");
  EXPECT_EQ(families.specs[1].kind, SpanKind::kInternal);
  EXPECT_TRUE(families.specs[1].key_fields.empty());

  ASSERT_EQ(families.metrics.size(), 2u);
  EXPECT_EQ(families.metrics[0].family, "db_query");
  EXPECT_EQ(families.metrics[0].kind, DerivedMetric::Kind::kHistogram);
  EXPECT_EQ(families.metrics[0].unit, "s");
  EXPECT_EQ(families.metrics[0].attributes, (std::vector<std::string>{"db.operation", "status"}));
  EXPECT_EQ(families.metrics[1].kind, DerivedMetric::Kind::kCounter);
  EXPECT_EQ(families.metrics[1].unit, "{span}");
  EXPECT_EQ(families.metrics[1].description, "Queries");
  ASSERT_EQ(config.options.metrics.derived.size(), 2u);  // handed to the span metrics
  EXPECT_EQ(config.options.metrics.derived[0].name, "db.client.operation.duration");
  EXPECT_EQ(config.options.metrics.derived[0].family, "db_query");

  // Other settings in the same file still apply, and --print-config lists the families.
  EXPECT_EQ(config.options.log_level, "warn");
  const std::string printed = format_config(config);
  EXPECT_NE(printed.find("family.db_query"), std::string::npos) << printed;
  EXPECT_NE(printed.find("file " + path_ + ":3"), std::string::npos) << printed;
}

TEST_F(FamiliesConfigTest, unknown_keys_name_the_line) {
  expect_error("[[family]]\nname = \"a\"\nspan_nam = \"x\"\n", 3,
               "family 'a': unknown key 'span_nam' (known: name, span_name, kind, key, status, attributes, "
               "unmapped, metrics)");
  expect_error("[[family]]\nname = \"a\"\nstatus.error = \"x\"\n", 3,
               "family 'a': unknown key 'status.error' (known: error_when, message)");
  expect_error("[[family]]\nname = \"a\"\n[family.attributes]\nq = { nam = \"x\" }\n", 4,
               "family 'a': attributes.q: unknown key 'nam' (known: name, type, drop)");
  expect_error("[[family]]\nname = \"a\"\n[[family.metrics]]\nkind = \"counter\"\nname = \"m\"\nlabels = []\n", 6,
               "unknown key 'metrics.labels'");
}

TEST_F(FamiliesConfigTest, bad_kind_and_type) {
  expect_error("[[family]]\nname = \"a\"\nkind = \"clientside\"\n", 3,
               "family 'a': kind 'clientside' is not one of internal, server, client, producer, consumer");
  expect_error("[[family]]\nname = \"a\"\n[family.attributes]\nrows = { type = \"integer\" }\n", 4,
               "family 'a': attributes.rows: unknown type 'integer' (string, int, double or bool)");
  expect_error("[[family]]\nname = \"a\"\nkind = 3\n", 3, "family 'a': kind must be a string");
  expect_error("[[family]]\nname = \"a\"\n[[family.metrics]]\nkind = \"gauge\"\nname = \"m\"\n", 4,
               "family 'a': metrics.kind 'gauge' is not histogram or counter");
}

TEST_F(FamiliesConfigTest, unparsable_rule_names_rule_and_problem) {
  expect_error("[[family]]\nname = \"a\"\n\nstatus.error_when = \"errno !! 0\"\n", 4,
               "family 'a': status.error_when \"errno !! 0\": expected an operator (== != < <= > >=) after "
               "'errno'");
  expect_error("[[family]]\nname = \"a\"\nstatus.error_when = [\"x == 1\",\n  \"y >\"]\n", 4,
               "status.error_when \"y >\": expected a value after the operator on 'y'");
  expect_error("[[family]]\nname = \"a\"\nstatus.error_when = []\n", 3, "status.error_when is an empty list");
}

TEST_F(FamiliesConfigTest, template_with_unclosed_brace) {
  expect_error("[[family]]\nname = \"a\"\nspan_name = \"{db.operation {table}\"\n", 3,
               "family 'a': span_name \"{db.operation {table}\": unclosed '{' at offset 0");
  expect_error("[[family]]\nname = \"a\"\nstatus.message = \"{error\"\n", 3,
               "family 'a': status.message \"{error\": unclosed '{' at offset 0");
  expect_error("[[family]]\nname = \"a\"\nspan_name = \"{uri|slug}\"\n", 3, "unknown filter 'slug'");
}

TEST_F(FamiliesConfigTest, duplicate_family_names_both_lines) {
  expect_error("[[family]]\nname = \"a\"\n\n[[family]]\nname = \"a\"\n", 4,
               "family 'a': declared twice (first at line 1)");
}

TEST_F(FamiliesConfigTest, empty_key_list) {
  expect_error("[[family]]\nname = \"a\"\nkey = []\n", 3,
               "family 'a': key is an empty list (leave key out to pair start and end on request_id)");
  expect_error("[[family]]\nname = \"a\"\nkey = [\"pid\", \"pid\"]\n", 3, "key names 'pid' twice");
}

TEST_F(FamiliesConfigTest, names_are_checked) {
  expect_error("[[family]]\nkind = \"client\"\n", 1, "family #1: no name");
  expect_error("[[family]]\nname = \"db_query_start\"\n", 2,
               "family 'db_query_start': the name ends in a phase suffix: declare the family 'db_query' (its events are "
               "db_query_start/db_query_end, or db_query alone)");
  expect_error("[[family]]\nname = \"a b\"\n", 2, "has a character other than");
  expect_error("family = \"x\"\n", 1, "family must be an array of tables: write [[family]] sections");
}

TEST_F(FamiliesConfigTest, attribute_conflicts) {
  expect_error("[[family]]\nname = \"a\"\n[family.attributes]\nx = \"same\"\ny = \"same\"\n", 5,
               "attributes: fields 'x' and 'y' both become 'same'");
  expect_error("[[family]]\nname = \"a\"\n[family.attributes]\nx = { drop = true, name = \"n\" }\n", 4,
               "attributes.x: drop = true cannot have a name or type");
  expect_error("[[family]]\nname = \"a\"\nunmapped = \"hide\"\n", 3, "unmapped: 'hide' is not keep or drop");
}

TEST_F(FamiliesConfigTest, duplicate_metric_across_families) {
  expect_error(
      "[[family]]\nname = \"a\"\n[[family.metrics]]\nkind = \"counter\"\nname = \"m\"\n"
      "[[family]]\nname = \"b\"\n[[family.metrics]]\nkind = \"counter\"\nname = \"m\"\n",
      6, "family 'b': metric 'm' is already derived from family 'a'");
  expect_error("[[family]]\nname = \"a\"\n[[family.metrics]]\nkind = \"histogram\"\nname = \"m\"\nunit = \"min\"\n", 3,
               "metric 'm': a histogram of span durations has unit s, ms, us or ns, not 'min'");
}

}  // namespace
}  // namespace bto

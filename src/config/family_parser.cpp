#include "config/family_parser.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "common/errors.h"
#include "decode/event.h"

namespace bto {
namespace {

constexpr std::string_view kFamilyKeys = "name, span_name, kind, key, status, attributes, unmapped, metrics";
constexpr std::string_view kStatusKeys = "error_when, message";
constexpr std::string_view kAttributeKeys = "name, type, drop";
constexpr std::string_view kMetricKeys = "kind, name, attributes, unit, description";

int64_t line_of(const toml::node& node) { return static_cast<int64_t>(node.source().begin.line); }

// Collects the position and the family's name for every error.
class FamilyReader {
 public:
  FamilyReader(const std::string& path, const toml::table& table, size_t index)
      : path_(path), table_(table), label_(fmt::format("family #{}", index + 1)) {}

  [[noreturn]] void fail(int64_t line, const std::string& problem) const {
    throw StartupError(fmt::format("file {}:{}: {}: {}", path_, line, label_, problem));
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& problem) const { fail(line_of(node), problem); }

  void read(FamilySpec& spec, std::vector<DerivedMetric>& metrics) {
    read_name(spec);
    for (const auto& [key, node] : table_) {
      const std::string_view name = key.str();
      if (name == "name") continue;
      if (name == "span_name") {
        spec.span_name = template_of(node, "span_name");
      } else if (name == "kind") {
        spec.kind = kind_of(node);
      } else if (name == "key") {
        spec.key_fields = key_of(node);
      } else if (name == "status") {
        read_status(node, spec);
      } else if (name == "attributes") {
        read_attributes(node, spec);
      } else if (name == "unmapped") {
        const std::string value = string_of(node, "unmapped");
        if (value != "keep" && value != "drop") fail(node, fmt::format("unmapped: '{}' is not keep or drop", value));
        spec.drop_unmapped = value == "drop";
      } else if (name == "metrics") {
        read_metrics(node, spec.name, metrics);
      } else {
        fail(line_of_key(key, node), fmt::format("unknown key '{}' (known: {})", name, kFamilyKeys));
      }
    }
    // The handler compiles the same texts: anything the checks above missed
    // still fails here, with this family's position.
    FamilyStats stats;
    try {
      create_config_family_handler(spec, stats);
    } catch (const StartupError& error) {
      fail(table_, error.what());
    }
  }

 private:
  static int64_t line_of_key(const toml::key& key, const toml::node& node) {
    const int64_t line = static_cast<int64_t>(key.source().begin.line);
    return line > 0 ? line : line_of(node);
  }

  std::string string_of(const toml::node& node, std::string_view what) const {
    const auto* value = node.as_string();
    if (value == nullptr) fail(node, fmt::format("{} must be a string", what));
    return value->get();
  }

  void read_name(FamilySpec& spec) {
    const toml::node* node = table_.get("name");
    if (node == nullptr) fail(table_, "no name (name = \"db_query\" for events db_query_start/db_query_end)");
    spec.name = string_of(*node, "name");
    if (spec.name.empty()) fail(*node, "name is empty");
    label_ = fmt::format("family '{}'", spec.name);
    for (char c : spec.name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '-' || c == ':';
      if (!ok) fail(*node, "the name has a character other than letters, digits, _ . - :");
    }
    const NameParts parts = split_event_name(spec.name);
    if (parts.phase != EventPhase::kSingle || parts.family != spec.name) {
      fail(*node, fmt::format("the name ends in a phase suffix: declare the family '{}' (its events are "
                              "{}_start/{}_end, or {} alone)",
                              parts.family, parts.family, parts.family, parts.family));
    }
  }

  std::string template_of(const toml::node& node, std::string_view what) const {
    std::string text = string_of(node, what);
    if (std::string problem = check_family_template(text); !problem.empty()) {
      fail(node, fmt::format("{} \"{}\": {}", what, text, problem));
    }
    return text;
  }

  SpanKind kind_of(const toml::node& node) const {
    const std::string value = string_of(node, "kind");
    if (value == "internal") return SpanKind::kInternal;
    if (value == "server") return SpanKind::kServer;
    if (value == "client") return SpanKind::kClient;
    if (value == "producer") return SpanKind::kProducer;
    if (value == "consumer") return SpanKind::kConsumer;
    fail(node, fmt::format("kind '{}' is not one of internal, server, client, producer, consumer", value));
  }

  std::vector<std::string> key_of(const toml::node& node) const {
    std::vector<std::string> fields;
    if (node.is_string()) {
      fields.push_back(string_of(node, "key"));
    } else if (const toml::array* array = node.as_array()) {
      for (const toml::node& item : *array) fields.push_back(string_of(item, "each key field"));
    } else {
      fail(node, "key must be a field name or a list of field names");
    }
    if (fields.empty()) fail(node, "key is an empty list (leave key out to pair start and end on request_id)");
    std::set<std::string> seen;
    for (const std::string& field : fields) {
      if (field.empty()) fail(node, "key has an empty field name");
      if (!seen.insert(field).second) fail(node, fmt::format("key names '{}' twice", field));
    }
    return fields;
  }

  void read_status(const toml::node& node, FamilySpec& spec) const {
    const toml::table* table = node.as_table();
    if (table == nullptr) fail(node, "status must be a table (status.error_when = \"...\")");
    for (const auto& [key, value] : *table) {
      const std::string_view name = key.str();
      if (name == "error_when") {
        if (value.is_string()) {
          spec.error_when.push_back(rule_of(value));
        } else if (const toml::array* array = value.as_array()) {
          if (array->empty()) fail(value, "status.error_when is an empty list");
          for (const toml::node& item : *array) spec.error_when.push_back(rule_of(item));
        } else {
          fail(value, "status.error_when must be a rule or a list of rules");
        }
      } else if (name == "message") {
        spec.status_message = template_of(value, "status.message");
      } else {
        fail(line_of_key(key, value), fmt::format("unknown key 'status.{}' (known: {})", name, kStatusKeys));
      }
    }
  }

  std::string rule_of(const toml::node& node) const {
    std::string text = string_of(node, "status.error_when");
    if (std::string problem = check_status_rule(text); !problem.empty()) {
      fail(node, fmt::format("status.error_when \"{}\": {}", text, problem));
    }
    return text;
  }

  FamilyValueType type_of(const toml::node& node, std::string_view field) const {
    const std::string value = string_of(node, "type");
    if (value == "string") return FamilyValueType::kString;
    if (value == "int") return FamilyValueType::kInt;
    if (value == "double") return FamilyValueType::kDouble;
    if (value == "bool") return FamilyValueType::kBool;
    fail(node, fmt::format("attributes.{}: unknown type '{}' (string, int, double or bool)", field, value));
  }

  void read_attributes(const toml::node& node, FamilySpec& spec) const {
    const toml::table* table = node.as_table();
    if (table == nullptr) fail(node, "attributes must be a table of field = { name = ..., type = ... }");
    std::map<std::string, std::string> by_name;  // attribute name -> field
    for (const auto& [key, value] : *table) {
      FamilyAttribute attribute;
      attribute.field = std::string(key.str());
      if (value.is_string()) {
        attribute.name = string_of(value, "attributes." + attribute.field);
      } else if (const toml::table* entry = value.as_table()) {
        for (const auto& [inner_key, inner] : *entry) {
          const std::string_view inner_name = inner_key.str();
          if (inner_name == "name") {
            attribute.name = string_of(inner, fmt::format("attributes.{}.name", attribute.field));
            if (attribute.name.empty()) fail(inner, fmt::format("attributes.{}.name is empty", attribute.field));
          } else if (inner_name == "type") {
            attribute.type = type_of(inner, attribute.field);
          } else if (inner_name == "drop") {
            const auto* flag = inner.as_boolean();
            if (flag == nullptr) fail(inner, fmt::format("attributes.{}.drop must be true or false", attribute.field));
            attribute.drop = flag->get();
          } else {
            fail(line_of_key(inner_key, inner), fmt::format("attributes.{}: unknown key '{}' (known: {})",
                                                            attribute.field, inner_name, kAttributeKeys));
          }
        }
        if (attribute.drop && (!attribute.name.empty() || attribute.type != FamilyValueType::kAsIs)) {
          fail(value, fmt::format("attributes.{}: drop = true cannot have a name or type", attribute.field));
        }
      } else {
        fail(value, fmt::format("attributes.{} must be a new name (\"db.statement\") or a table "
                                "{{ name = ..., type = ..., drop = ... }}",
                                attribute.field));
      }
      if (!attribute.drop) {
        const std::string& target = attribute.name.empty() ? attribute.field : attribute.name;
        const auto [it, fresh] = by_name.emplace(target, attribute.field);
        if (!fresh) {
          fail(value, fmt::format("attributes: fields '{}' and '{}' both become '{}'", it->second, attribute.field,
                                  target));
        }
      }
      spec.attributes.push_back(std::move(attribute));
    }
  }

  void read_metrics(const toml::node& node, const std::string& family, std::vector<DerivedMetric>& out) const {
    const toml::array* array = node.as_array();
    if (array == nullptr) fail(node, "metrics must be an array of tables ([[family.metrics]])");
    for (const toml::node& item : *array) {
      const toml::table* table = item.as_table();
      if (table == nullptr) fail(item, "each metrics entry must be a table");
      DerivedMetric metric;
      metric.family = family;
      bool has_kind = false;
      for (const auto& [key, value] : *table) {
        const std::string_view name = key.str();
        if (name == "kind") {
          const std::string kind = string_of(value, "metrics.kind");
          if (kind == "histogram") {
            metric.kind = DerivedMetric::Kind::kHistogram;
          } else if (kind == "counter") {
            metric.kind = DerivedMetric::Kind::kCounter;
          } else {
            fail(value, fmt::format("metrics.kind '{}' is not histogram or counter", kind));
          }
          has_kind = true;
        } else if (name == "name") {
          metric.name = string_of(value, "metrics.name");
        } else if (name == "attributes") {
          const toml::array* names = value.as_array();
          if (names == nullptr) fail(value, "metrics.attributes must be a list of attribute names");
          for (const toml::node& entry : *names) {
            metric.attributes.push_back(string_of(entry, "each metrics attribute"));
          }
        } else if (name == "unit") {
          metric.unit = string_of(value, "metrics.unit");
        } else if (name == "description") {
          metric.description = string_of(value, "metrics.description");
        } else {
          fail(line_of_key(key, value), fmt::format("unknown key 'metrics.{}' (known: {})", name, kMetricKeys));
        }
      }
      if (!has_kind) fail(*table, "metrics entry without kind (histogram or counter)");
      if (metric.name.empty()) fail(*table, "metrics entry without a name");
      if (metric.unit.empty()) metric.unit = metric.kind == DerivedMetric::Kind::kHistogram ? "s" : "{span}";
      if (metric.kind == DerivedMetric::Kind::kHistogram && metric.unit != "s" && metric.unit != "ms" &&
          metric.unit != "us" && metric.unit != "ns") {
        fail(*table, fmt::format("metric '{}': a histogram of span durations has unit s, ms, us or ns, not '{}'",
                                 metric.name, metric.unit));
      }
      out.push_back(std::move(metric));
    }
  }

  const std::string& path_;
  const toml::table& table_;
  std::string label_;
};

}  // namespace

DeclaredFamilies parse_families(const toml::node& node, const std::string& path) {
  const toml::array* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    throw StartupError(fmt::format("file {}:{}: family must be an array of tables: write [[family]] sections",
                                   path, line_of(node)));
  }
  DeclaredFamilies declared;
  std::map<std::string, int64_t> family_lines;
  std::map<std::string, std::string> metric_families;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    FamilyReader reader(path, table, i);
    FamilySpec spec;
    std::vector<DerivedMetric> metrics;
    reader.read(spec, metrics);
    const auto [it, fresh] = family_lines.emplace(spec.name, line_of(table));
    if (!fresh) reader.fail(table, fmt::format("declared twice (first at line {})", it->second));
    for (const DerivedMetric& metric : metrics) {
      const auto [other, unique] = metric_families.emplace(metric.name, spec.name);
      if (!unique) {
        reader.fail(table, fmt::format("metric '{}' is already derived from family '{}'", metric.name, other->second));
      }
      declared.metrics.push_back(metric);
    }
    declared.origins.push_back(fmt::format("file {}:{}", path, line_of(table)));
    declared.specs.push_back(std::move(spec));
  }
  return declared;
}

}  // namespace bto

// A family declared in the config file: the handler that applies a compiled
// declaration to events. Everything is compiled at start-up (templates into
// segments, family_template.h; rules into comparisons, family_rule.h; field
// names into refs, family_fields.h); per event the handler only compares keys
// and appends into pooled strings.
//
// Which values a template or rule sees: on the start event, that event's
// fields; on the end (or single) event, the end's fields first, then the
// attributes the start left on the span (renamed names are followed, dropped
// fields are gone). The span name is rendered at start and again at the end
// only when the end carries a field the start lacked.

#include "spans/handlers/config_family_handler.h"

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "spans/handlers/family_fields.h"
#include "spans/handlers/family_rule.h"
#include "spans/handlers/family_template.h"
#include "spans/handlers/field_util.h"

namespace bto {
namespace {

using handler_util::as_double;
using handler_util::as_int;
using handler_util::is_reserved;
using handler_util::to_bool;
using handler_util::to_int;

struct Mapping {
  std::string field;
  std::string name;  // attribute name
  FamilyValueType type = FamilyValueType::kAsIs;
  bool drop = false;
};

class ConfigFamilyHandler final : public EventHandler {
 public:
  ConfigFamilyHandler(const FamilySpec& spec, FamilyStats& stats)
      : family_(spec.name),
        kind_(spec.kind),
        key_fields_(spec.key_fields),
        drop_unmapped_(spec.drop_unmapped),
        stats_(stats) {
    if (family_.empty()) throw StartupError("family: empty name");
    for (const FamilyAttribute& attribute : spec.attributes) {
      Mapping mapping;
      mapping.field = attribute.field;
      mapping.name = attribute.name.empty() ? attribute.field : attribute.name;
      mapping.type = attribute.type;
      mapping.drop = attribute.drop;
      mappings_.push_back(std::move(mapping));
    }
    if (spec.span_name.empty()) {
      name_segments_.push_back({family_, -1, {}});
    } else {
      compile_template(spec.span_name, name_segments_, "span_name");
    }
    has_message_ = !spec.status_message.empty();
    if (has_message_) compile_template(spec.status_message, message_segments_, "status.message");
    for (const std::string& text : spec.error_when) compile_rule(text);
    // Refs whose value the name needs: checked at the end for a re-render.
    for (const Segment& segment : name_segments_) {
      if (segment.ref >= 0) name_refs_.push_back(segment.ref);
    }
  }

  bool can_handle(std::string_view family) const override { return family == family_; }

  std::span<const std::string> key_fields() const noexcept override { return key_fields_; }

  void on_start(const Event& event, SpanRecord& span) override {
    span.kind = kind_;
    apply_fields(event, span);
    span.name.clear();
    renderer_.render(name_segments_, fields(event, nullptr), span.name);
    finish_name(span.name);
    apply_status(fields(event, nullptr), span, false);
  }

  void on_end(const Event& event, SpanRecord& span) override {
    const bool single = event.phase == EventPhase::kSingle;
    bool rerender = false;
    if (!single) {
      for (int ref : name_refs_) {
        const FieldRef& field = refs_[static_cast<size_t>(ref)];
        if (event.find(field.field) == nullptr) continue;
        if (field.attribute.empty() || span.attributes.find(field.attribute) == nullptr) rerender = true;
      }
    }
    // A single event went through on_start already: its fields are applied.
    if (!single) apply_fields(event, span);
    const FieldSource source = fields(event, &span.attributes);
    if (rerender) {
      span.name.clear();
      renderer_.render(name_segments_, source, span.name);
      finish_name(span.name);
    }
    // Counted once per span, here: a start may lack what its end carries.
    for (int ref : name_refs_) {
      FieldValue value;
      const FieldRef& field = source.ref(ref);
      if (!source.get(ref, value) && (single || !field.dropped)) {
        stats_.template_fields_missing.fetch_add(1, std::memory_order_relaxed);
        missing_log_.warn("family {}: no field {} for the span name: rendered as empty", quote_bytes(family_),
                          quote_bytes(field.field));
      }
    }
    apply_status(source, span, true);
  }

 private:
  int ref_for(std::string_view name) {
    // The name may be an event field or the attribute a field is renamed to.
    std::string_view field = name;
    const Mapping* mapping = find_mapping(name);
    if (mapping == nullptr) {
      for (const Mapping& candidate : mappings_) {
        if (!candidate.drop && candidate.name == name) {
          mapping = &candidate;
          field = candidate.field;
          break;
        }
      }
    }
    for (size_t i = 0; i < refs_.size(); ++i) {
      if (refs_[i].field == field) return static_cast<int>(i);
    }
    FieldRef ref;
    ref.field.assign(field);
    if (mapping != nullptr) {
      ref.dropped = mapping->drop;
      if (!mapping->drop) ref.attribute = mapping->name;
    } else if (drop_unmapped_ || is_reserved(field)) {
      ref.dropped = true;
    } else {
      ref.attribute = field == "tid" ? std::string("thread.id") : std::string(field);
    }
    refs_.push_back(std::move(ref));
    return static_cast<int>(refs_.size() - 1);
  }

  void compile_template(std::string_view text, std::vector<Segment>& out, std::string_view what) {
    ParsedTemplate parsed;
    if (std::string problem = parse_template(text, parsed); !problem.empty()) {
      throw StartupError(fmt::format("family '{}': {} '{}': {}", family_, what, text, problem));
    }
    for (ParsedTemplate::Part& part : parsed.parts) {
      Segment segment;
      if (part.placeholder) {
        segment.ref = ref_for(part.field.name);
        segment.filters = part.field.filters;
      } else {
        segment.literal = std::move(part.literal);
      }
      out.push_back(std::move(segment));
    }
  }

  void compile_rule(const std::string& text) {
    ParsedRule parsed;
    if (std::string problem = parse_rule(text, parsed); !problem.empty()) {
      throw StartupError(fmt::format("family '{}': status rule '{}': {}", family_, text, problem));
    }
    for (auto& group : parsed) {
      RuleGroup compiled;
      for (ParsedCondition& condition : group) {
        const int ref = ref_for(condition.field);
        compiled.all.push_back({ref, std::move(condition)});
      }
      rules_.push_back(std::move(compiled));
    }
  }

  FieldSource fields(const Event& event, const AttributeList* attributes) const noexcept {
    return {refs_, event, attributes};
  }

  const Mapping* find_mapping(std::string_view field) const noexcept {
    for (const Mapping& mapping : mappings_) {
      if (mapping.field == field) return &mapping;
    }
    return nullptr;
  }

  // Spaces left by missing placeholders are trimmed; nothing left: the family name.
  void finish_name(std::string& name) const {
    trim_spaces(name);
    if (name.empty()) name.assign(family_);
  }

  void apply_fields(const Event& event, SpanRecord& span) {
    for (const EventField& field : event.fields) {
      if (const Mapping* mapping = find_mapping(field.key)) {
        if (!mapping->drop) set_converted(span.attributes, mapping->name, mapping->type, field.value);
        continue;
      }
      if (drop_unmapped_ || is_reserved(field.key)) continue;
      handler_util::set_attribute(span.attributes, field.key == "tid" ? std::string_view("thread.id") : field.key,
                                  field.value);
    }
  }

  void set_converted(AttributeList& attributes, std::string_view key, FamilyValueType type, const FieldValue& value) {
    bool converted = true;
    switch (type) {
      case FamilyValueType::kAsIs:
        break;
      case FamilyValueType::kString:
        if (value.type != ValueType::kString) {
          text_scratch_.clear();
          handler_util::append_value(text_scratch_, value);
          attributes.set_string(key, text_scratch_);
          return;
        }
        break;
      case FamilyValueType::kInt: {
        int64_t out = 0;
        if ((converted = to_int(value, out))) {
          attributes.set_int(key, out);
          return;
        }
        break;
      }
      case FamilyValueType::kDouble: {
        double out = 0;
        if ((converted = as_double(value, out))) {
          attributes.set_double(key, out);
          return;
        }
        break;
      }
      case FamilyValueType::kBool: {
        bool out = false;
        if ((converted = to_bool(value, out))) {
          attributes.set_bool(key, out);
          return;
        }
        break;
      }
    }
    if (!converted) {
      stats_.conversions_failed.fetch_add(1, std::memory_order_relaxed);
      conversion_log_.warn("family {}: attribute {} could not be converted, kept as is", quote_bytes(family_),
                           quote_bytes(key));
    }
    handler_util::set_attribute(attributes, key, value, KeySource::kCode);  // a configured name
  }

  // The first rule group that holds makes the span an error, with the
  // status.message template or "field=value" of the group's first condition.
  void apply_status(const FieldSource& source, SpanRecord& span, bool count_missing) {
    if (rules_.empty()) {
      default_status(source.event, span);
      return;
    }
    uint64_t missing = 0;
    const RuleGroup* group = first_match(rules_, source, count_missing ? &missing : nullptr,
                                         source.event.phase == EventPhase::kSingle);
    // Counted, not logged: an error field that only failures carry is normal.
    if (missing != 0) stats_.rule_fields_missing.fetch_add(missing, std::memory_order_relaxed);
    if (group == nullptr) return;
    span.status = StatusCode::kError;
    span.status_message.clear();
    if (has_message_) {
      renderer_.render(message_segments_, source, span.status_message);
      trim_spaces(span.status_message);
    } else {
      const int ref = group->all.front().ref;
      FieldValue value;
      span.status_message.append(source.ref(ref).field);
      span.status_message.push_back('=');
      if (source.get(ref, value)) handler_util::append_value(span.status_message, value);
    }
  }

  // As the built-in handlers: a non-zero error/errno (or a non-empty error text).
  static void default_status(const Event& event, SpanRecord& span) {
    for (const EventField& field : event.fields) {
      if (field.key != "error" && field.key != "errno") continue;
      int64_t code = 0;
      if (field.value.type == ValueType::kBool) {
        if (!field.value.bool_value) continue;
        span.status = StatusCode::kError;
        span.status_message.assign(field.key);
      } else if (as_int(field.value, code)) {
        if (code != 0) handler_util::set_error(span, field.key == "errno" ? "errno " : "error ", code);
      } else if (field.value.type == ValueType::kString && !field.value.string_value.empty()) {
        span.status = StatusCode::kError;
        span.status_message.assign(field.value.string_value);
      }
    }
  }

  const std::string family_;
  const SpanKind kind_;
  const std::vector<std::string> key_fields_;
  const bool drop_unmapped_;
  std::vector<Mapping> mappings_;
  std::vector<FieldRef> refs_;
  std::vector<Segment> name_segments_;
  std::vector<int> name_refs_;
  std::vector<Segment> message_segments_;
  bool has_message_ = false;
  std::vector<RuleGroup> rules_;
  FamilyStats& stats_;
  // Reader-thread scratch, kept for its capacity.
  TemplateRenderer renderer_;
  std::string text_scratch_;
  RateLimitedLog missing_log_;
  RateLimitedLog conversion_log_;
};

}  // namespace

std::unique_ptr<EventHandler> create_config_family_handler(const FamilySpec& spec, FamilyStats& stats) {
  return std::make_unique<ConfigFamilyHandler>(spec, stats);
}

void register_config_families(HandlerRegistry& registry, const std::vector<FamilySpec>& specs, FamilyStats& stats) {
  for (const FamilySpec& spec : specs) registry.add(create_config_family_handler(spec, stats));
}

}  // namespace bto

#include "spans/recorded_spans.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/counter.h"

namespace bto {
namespace {

void set_value(AttributeList& list, std::string_view key, const FieldValue& value) {
  switch (value.type) {
    case ValueType::kString: list.set_string(key, value.string_value); break;
    case ValueType::kInt: list.set_int(key, value.int_value); break;
    case ValueType::kDouble: list.set_double(key, value.double_value); break;
    case ValueType::kBool: list.set_bool(key, value.bool_value); break;
  }
}

// Length-prefixed, so two different resources never make the same key.
void append_field(std::string& key, std::string_view text) {
  const auto size = static_cast<uint32_t>(text.size());
  key.append(reinterpret_cast<const char*>(&size), sizeof size);
  key.append(text);
}

std::string resource_key(const RecordedResource& resource) {
  std::string key;
  append_field(key, resource.scope_name);
  append_field(key, resource.scope_version);
  for (const EventField& field : resource.attributes) {
    append_field(key, field.key);
    key.push_back(static_cast<char>(field.value.type));
    switch (field.value.type) {
      case ValueType::kString: append_field(key, field.value.string_value); break;
      case ValueType::kInt: key.append(reinterpret_cast<const char*>(&field.value.int_value), 8); break;
      case ValueType::kDouble: key.append(reinterpret_cast<const char*>(&field.value.double_value), 8); break;
      case ValueType::kBool: key.push_back(field.value.bool_value ? '1' : '0'); break;
    }
  }
  return key;
}

}  // namespace

const RecordedOrigin* intern_recorded_resource(const RecordedResource& resource) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::unique_ptr<RecordedOrigin>> resources;
  std::string key = resource_key(resource);
  std::lock_guard lock(mutex);
  if (auto found = resources.find(key); found != resources.end()) return found->second.get();
  if (resources.size() >= kMaxRecordedResources) return nullptr;
  auto origin = std::make_unique<RecordedOrigin>();
  auto attributes = std::make_unique<Resource>();
  for (const EventField& field : resource.attributes) {
    set_value(origin->info.attributes, field.key, field.value);
    set_value(attributes->attributes, field.key, field.value);
  }
  origin->info.scope_name.assign(resource.scope_name);
  origin->info.scope_version.assign(resource.scope_version);
  origin->resource = ResourceRef(std::move(attributes));
  return resources.emplace(std::move(key), std::move(origin)).first->second.get();
}

void RecordedSpans::add(const RecordedResource& resource, const RecordedSpan& recorded) {
  SpanPtr span = emitter_.acquire();
  span->trace_id = recorded.trace_id;
  span->span_id = recorded.span_id;
  span->parent_span_id = recorded.parent_span_id;
  span->name.assign(recorded.name);
  span->kind = static_cast<SpanKind>(std::min<uint8_t>(recorded.kind, 5));
  span->start_time_unix_ns = recorded.start_time_unix_ns;
  span->end_time_unix_ns = recorded.end_time_unix_ns;
  span->status = static_cast<StatusCode>(std::min<uint8_t>(recorded.status_code, 2));
  span->status_message.assign(recorded.status_message);
  span->attributes.set_dropped(recorded.dropped_attributes);
  for (const EventField& field : recorded.attributes) set_value(span->attributes, field.key, field.value);
  for (const RecordedEvent& event : recorded.events) {
    if (span->events.size() >= emitter_.limits().event_count) {
      bump(stats_.span_events_dropped);
      continue;
    }
    SpanEventRecord& record = span->events.emplace_back();
    record.attributes.set_limits(emitter_.limits().attribute_count, emitter_.limits().attribute_value_length);
    record.name.assign(event.name);
    record.time_unix_ns = event.time_unix_ns;
    record.attributes.set_dropped(event.dropped_attributes);
    for (const EventField& field : event.attributes) set_value(record.attributes, field.key, field.value);
  }
  // The encoders group spans by their Resource and take the group's scope
  // from its first span's origin: both are interned together.
  const RecordedOrigin* origin = intern_recorded_resource(resource);
  if (origin != nullptr) {
    span->origin = &origin->info;
    span->resource = origin->resource;
  } else {
    bump(stats_.recorded_resources_over_limit);
    resources_log_.warn("replay: more than {} distinct resources; further spans are sent with this run's resource",
                        kMaxRecordedResources);
  }
  bump(stats_.spans_replayed);
  emitter_.emit_recorded(std::move(span));
}

}  // namespace bto

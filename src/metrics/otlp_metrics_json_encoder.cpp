// ExportMetricsServiceRequest in OTLP/JSON (--metrics-exporter file): the
// same content as the protobuf encoder (otlp_metrics_encoder.cpp), written as
// the OTLP JSON encoding specifies: lowerCamelCase, 64-bit integers as
// strings, enums as integers, one ResourceMetrics with one ScopeMetrics.

#include "common/json_writer.h"
#include "export/otlp_encoder.h"
#include "metrics/otlp_metrics_encoder.h"

namespace bto {
namespace {

constexpr int kCumulative = 2;  // AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE

void quoted_uint(std::string& out, uint64_t value) {
  out += '"';
  append_json_uint(out, value);
  out += '"';
}

void point_common(std::string& out, const MetricPoint& p, uint64_t time) {
  out += "{\"attributes\":";
  append_otlp_json_attributes(out, p.attributes);
  if (p.start_time_unix_ns != 0) {
    out += ",\"startTimeUnixNano\":";
    quoted_uint(out, p.start_time_unix_ns);
  }
  out += ",\"timeUnixNano\":";
  quoted_uint(out, time);
}

void write_histogram(std::string& out, const MetricStream& m, uint64_t time) {
  out += "\"histogram\":{\"dataPoints\":[";
  for (size_t i = 0; i < m.points.size(); ++i) {
    const MetricPoint& p = m.points[i];
    if (i != 0) out += ',';
    point_common(out, p, time);
    out += ",\"count\":";
    quoted_uint(out, p.count);
    out += ",\"sum\":";
    append_json_double(out, p.sum);
    out += ",\"bucketCounts\":[";
    for (size_t b = 0; b < p.bucket_counts.size(); ++b) {
      if (b != 0) out += ',';
      quoted_uint(out, p.bucket_counts[b]);
    }
    out += "],\"explicitBounds\":[";
    for (size_t b = 0; b < m.bounds.size(); ++b) {
      if (b != 0) out += ',';
      append_json_double(out, m.bounds[b]);
    }
    out += ']';
    if (p.count != 0) {
      out += ",\"min\":";
      append_json_double(out, p.min);
      out += ",\"max\":";
      append_json_double(out, p.max);
    }
    out += '}';
  }
  out += "],\"aggregationTemporality\":";
  append_json_int(out, kCumulative);
  out += '}';
}

void write_sum(std::string& out, const MetricStream& m, uint64_t time) {
  out += "\"sum\":{\"dataPoints\":[";
  for (size_t i = 0; i < m.points.size(); ++i) {
    if (i != 0) out += ',';
    point_common(out, m.points[i], time);
    out += ",\"asInt\":";
    quoted_uint(out, m.points[i].count);
    out += '}';
  }
  out += "],\"aggregationTemporality\":";
  append_json_int(out, kCumulative);
  out += ",\"isMonotonic\":true}";
}

// The Resource's attributes, string[] ones (process.command_args) included.
void append_resource_attributes(std::string& out, const ResourceRef& process, const ResourceInfo& own) {
  append_otlp_json_attributes(out, process ? process->attributes : own.attributes);
  if (!process || process->arrays.empty()) return;
  out.pop_back();  // ']'
  for (const StringArrayAttribute& array : process->arrays) {
    if (out.back() != '[') out += ',';
    out += "{\"key\":";
    append_otlp_json_string(out, array.key);
    out += ",\"value\":{\"arrayValue\":{\"values\":[";
    for (size_t i = 0; i < array.values.size(); ++i) {
      if (i != 0) out += ',';
      out += "{\"stringValue\":";
      append_otlp_json_string(out, array.values[i]);
      out += '}';
    }
    out += "]}}}";
  }
  out += ']';
}

}  // namespace

// One ResourceMetrics per resource of the snapshot (a traced process, or ours).
void encode_otlp_metrics_json(const ResourceInfo& resource, const MetricsSnapshot& snapshot, std::string& out) {
  out.clear();
  out += "{\"resourceMetrics\":[";
  for (size_t r = 0; r < snapshot.resources.size(); ++r) {
    const ResourceMetrics& group = snapshot.resources[r];
    if (r != 0) out += ',';
    out += "{\"resource\":{\"attributes\":";
    append_resource_attributes(out, group.resource, resource);
    out += "},\"scopeMetrics\":[{\"scope\":{";
    if (!resource.scope_name.empty()) {
      out += "\"name\":";
      append_otlp_json_string(out, resource.scope_name);
      if (!resource.scope_version.empty()) out += ',';
    }
    if (!resource.scope_version.empty()) {
      out += "\"version\":";
      append_otlp_json_string(out, resource.scope_version);
    }
    out += "},\"metrics\":[";
    for (size_t i = 0; i < group.metrics.size(); ++i) {
      const MetricStream& m = group.metrics[i];
      if (i != 0) out += ',';
      out += "{\"name\":";
      append_otlp_json_string(out, m.name);
      if (!m.description.empty()) {
        out += ",\"description\":";
        append_otlp_json_string(out, m.description);
      }
      if (!m.unit.empty()) {
        out += ",\"unit\":";
        append_otlp_json_string(out, m.unit);
      }
      out += ',';
      if (m.kind == MetricKind::kHistogram) {
        write_histogram(out, m, snapshot.time_unix_ns);
      } else {
        write_sum(out, m, snapshot.time_unix_ns);
      }
      out += '}';
    }
    out += "]}]}";
  }
  out += "]}";
}

}  // namespace bto

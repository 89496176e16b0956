#pragma once
// --exporter file: every batch as one OTLP/JSON ExportTraceServiceRequest on
// one line, the format the OpenTelemetry Collector's `file` exporter writes
// and its `otlpjsonfile` receiver reads; `bpftrace-otel --input` replays it
// and `bpftrace-otel report` turns it into a page (docs/console.md).

#include <memory>

#include "export/local_output.h"
#include "export/span_exporter.h"

namespace bto {

// `output` may be shared with the metrics exporter (lines never interleave).
std::unique_ptr<SpanExporter> create_file_exporter(const ResourceInfo& resource, std::shared_ptr<LocalOutput> output);

}  // namespace bto

#pragma once
// Human views of finished spans (default when no OTLP endpoint is configured):
//   text  one line per span as it ends (children before their parent)
//   json  one object per span and line
//   tree  each trace as a tree once it is complete (export/trace_tree.h)
// Writes go to a LocalOutput: a failed write is a failed export
// (ExportResult::kOutputFailed), and no write outlives shutdown().

#include <memory>

#include "export/local_output.h"
#include "export/span_exporter.h"
#include "export/trace_tree.h"

namespace bto {

enum class ConsoleFormat { kText, kJson, kTree };
enum class ColorMode { kAuto, kAlways, kNever };  // auto: on a terminal, unless NO_COLOR is set

struct ConsoleOptions {
  ConsoleFormat format = ConsoleFormat::kText;
  ColorMode color = ColorMode::kAuto;  // tree view only; config turns auto into never when NO_COLOR is set
  TreeOptions tree;
};

// One exporter per output (the tree view holds traces across batches): run()
// gives local outputs a single export worker.
std::unique_ptr<SpanExporter> create_console_exporter(const ConsoleOptions& options, const ResourceInfo& resource,
                                                      std::shared_ptr<LocalOutput> output, TreeStats& tree_stats);

// The tree view (what create_console_exporter makes for ConsoleFormat::kTree).
std::unique_ptr<SpanExporter> create_tree_exporter(const ConsoleOptions& options, const ResourceInfo& resource,
                                                   std::shared_ptr<LocalOutput> output, TreeStats& stats);

ExportResult export_result_of(WriteStatus status) noexcept;
std::string service_name_of(const ResourceInfo& resource);

}  // namespace bto

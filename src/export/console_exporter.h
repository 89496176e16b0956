#pragma once
// Human view of finished spans (default when no OTLP endpoint is configured).

#include <cstdio>
#include <memory>

#include "export/span_exporter.h"

namespace bto {

enum class ConsoleFormat { kText, kJson };

struct ConsoleOptions {
  ConsoleFormat format = ConsoleFormat::kText;
  std::FILE* out = stdout;
};

std::unique_ptr<SpanExporter> create_console_exporter(const ConsoleOptions& options,
                                                      const ResourceInfo& resource);

}  // namespace bto

#pragma once
// Event families declared in the config file ([[family]] tables): the specs
// the span handlers are built from, and the metrics to derive from their spans.
// Parsed by parse_families() (family_parser.h); documented in docs/families.md.

#include <string>
#include <vector>

#include "metrics/span_metrics.h"
#include "spans/handlers/config_family_handler.h"

namespace bto {

struct DeclaredFamilies {
  std::vector<FamilySpec> specs;  // in file order; registered before the built-in handlers
  // [[family.metrics]]: appended to AppOptions::metrics.derived by load_config().
  std::vector<DerivedMetric> metrics;
  std::vector<std::string> origins;  // "file PATH:LINE" per spec, for --print-config
};

}  // namespace bto

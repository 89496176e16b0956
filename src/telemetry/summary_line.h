#pragma once
// The summary line: every counter of PipelineStats in one line, logged at
// exit. /metrics shows the same counters (telemetry/metrics_text.h; a test
// holds the two together).

#include <string>

#include "telemetry/pipeline_stats.h"

namespace bto {

std::string format_summary(const PipelineStats& stats);
// The tree view's part of it; empty when the view printed nothing.
std::string format_tree_summary(const TreeStats& stats);

}  // namespace bto

#pragma once
// Private to metrics/: the exported metrics, each a view of a series table as
// a histogram or as a counter (two metrics may share a table), and the
// snapshot copied out of them for the exporter.

#include <string>
#include <vector>

#include "metrics/metrics_snapshot.h"
#include "metrics/series_table.h"

namespace bto::metrics_detail {

struct Instrument {
  std::string name, unit, description;
  MetricKind kind;
  SeriesTable* table;
  std::vector<double> bounds;  // in the metric's unit
  double scale = 1;            // bounds and values: seconds * scale
};

// Replaces `out` with the current totals of every instrument that has
// points, reusing out's memory. The caller holds the tables' lock.
void snapshot_instruments(const std::vector<Instrument>& instruments, std::vector<MetricStream>& out);

}  // namespace bto::metrics_detail

#pragma once
// Writes the report page: report.html with report.css, report.js and the
// model's data inlined (one file, nothing fetched; works from file://).

#include <string>

#include "report/report_model.h"

namespace bto::report {

struct PageOptions {
  std::string title = "bpftrace-otel traces";
  std::string generated;  // when, for the page header (UTC text)
};

void write_page(const Model& model, const PageOptions& options, std::string& out);

}  // namespace bto::report

#include "export/span_exporter.h"

namespace bto {
namespace {

class DiscardExporter final : public SpanExporter {
 public:
  ExportResult export_batch(std::span<const SpanRecord* const>) noexcept override {
    return ExportResult::kSuccess;
  }
  bool force_flush(std::chrono::milliseconds) noexcept override { return true; }
  void shutdown(std::chrono::milliseconds) noexcept override {}
};

}  // namespace

std::unique_ptr<SpanExporter> create_discard_exporter() {
  return std::make_unique<DiscardExporter>();
}

}  // namespace bto

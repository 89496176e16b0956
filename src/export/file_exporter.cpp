#include "export/file_exporter.h"

#include "export/console_exporter.h"
#include "export/otlp_encoder.h"

namespace bto {
namespace {

class FileExporter final : public SpanExporter {
 public:
  FileExporter(const ResourceInfo& resource, std::shared_ptr<LocalOutput> output)
      : resource_(resource), output_(std::move(output)) {}

  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    if (spans.empty()) return ExportResult::kSuccess;
    try {
      encode_otlp_json(resource_, spans, line_);
      line_ += '\n';
    } catch (...) {
      return ExportResult::kPermanent;  // std::bad_alloc only
    }
    return export_result_of(output_->write(line_, cancel_));
  }

  bool force_flush(std::chrono::milliseconds) noexcept override { return true; }
  void shutdown(std::chrono::milliseconds) noexcept override { cancel_.cancel(); }

 private:
  ResourceInfo resource_;
  std::shared_ptr<LocalOutput> output_;
  WriteCancel cancel_;
  std::string line_;
};

}  // namespace

std::unique_ptr<SpanExporter> create_file_exporter(const ResourceInfo& resource, std::shared_ptr<LocalOutput> output) {
  return std::make_unique<FileExporter>(resource, std::move(output));
}

}  // namespace bto

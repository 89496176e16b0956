// What happens when the export queue is full, and the disk spool behind it
// (docs/design.md, "Back-pressure" and "Disk spool").

#include <fmt/format.h>

#include "common/errors.h"
#include "config/setting_values.h"
#include "config/settings.h"
#include "config/value_parsers.h"

namespace bto {
namespace {

constexpr uint64_t kMinSpoolBytes = 1ull << 20;

}  // namespace

void add_queue_settings(std::vector<Setting>& s) {
  const std::string group = "Batching";
  s.push_back({"on_queue_full", "--on-queue-full", {"BTO_ON_QUEUE_FULL"}, group,
               "When the export queue is full: drop (count the span; the reader never waits) or block "
               "(wait for room). Default: block for --input of a regular file, drop for live bpftrace and "
               "pipes, where waiting would make the kernel lose events instead",
               "POLICY", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "drop") {
                   o.batch.on_queue_full = QueueFullPolicy::kDrop;
                 } else if (v == "block") {
                   o.batch.on_queue_full = QueueFullPolicy::kBlock;
                 } else if (v == "auto") {
                   o.batch.on_queue_full = QueueFullPolicy::kAuto;
                 } else {
                   reject("on_queue_full", src, v, "drop, block or auto");
                 }
               },
               [](const AppOptions& o) {
                 switch (o.batch.on_queue_full) {
                   case QueueFullPolicy::kDrop: return std::string("drop");
                   case QueueFullPolicy::kBlock: return std::string("block");
                   case QueueFullPolicy::kAuto: break;
                 }
                 return std::string("auto");
               }});
  s.push_back({"spool_dir", "--spool-dir", {"BTO_SPOOL_DIR"}, group,
               "Keep export requests the collector cannot take now in this directory (created 0700, one "
               "instance per directory) and send them when it is back, also after a restart; empty = off",
               "DIR", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) { o.spool.dir = v; },
               [](const AppOptions& o) { return o.spool.dir; }});
  s.push_back({"spool_max_size", "--spool-max-size", {"BTO_SPOOL_MAX_SIZE"}, group,
               "Most disk the spool uses; at the limit the oldest requests are dropped and counted "
               "(e.g. 1GiB, 500MB)",
               "SIZE", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 const auto bytes = parse_size(v);
                 if (!bytes || *bytes < kMinSpoolBytes) {
                   reject("spool_max_size", src, v, "a size of at least 1MiB, such as 512MiB, 1GiB or 2GB");
                 }
                 o.spool.max_bytes = *bytes;
               },
               [](const AppOptions& o) { return show_size(o.spool.max_bytes); }});
}

}  // namespace bto

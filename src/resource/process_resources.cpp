#include "resource/process_resources.h"

#include <sys/stat.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "resource/process_info.h"
#include "resource/process_resource.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;

// Entries re-checked per sweep() call: a full pass over 4096 processes is
// spread over many chunks instead of stalling the reader for milliseconds.
constexpr size_t kChecksPerSweep = 64;
// When the cache is full, dead entries are looked for at most this often.
constexpr std::chrono::seconds kFullCheckSpacing{1};

// The inode of the initial pid namespace (PROC_PID_INIT_INO, include/linux/proc_ns.h).
constexpr ino_t kInitialPidNamespace = 0xEFFFFFFCU;

// Node-wide, bpftrace 0.17-0.21 reports host pids whatever namespace it runs
// in; read in another namespace's /proc they name other processes or none.
void warn_if_not_the_hosts_pids(const std::string& proc_root) {
  struct stat ns {};
  if (proc_root != "/proc" || ::stat("/proc/self/ns/pid", &ns) != 0 || ns.st_ino == kInitialPidNamespace) return;
  spdlog::warn(
      "resource: bpftrace-otel runs in a child pid namespace: pids in events (host pids with bpftrace < 0.22) may "
      "name other processes in this /proc. Share the host's pid namespace (hostPID: true, pid: host) or mount the "
      "host's /proc and pass --proc-path");
}

void bump(std::atomic<uint64_t>& counter, uint64_t count = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
}

struct Entry {
  int64_t pid = 0;
  uint64_t start_ticks = 0;
  bool found = false;  // the process existed when first read
  ResourceRef resource;
};

class ProcessResourcesImpl final : public ProcessResources {
 public:
  ProcessResourcesImpl(const ProcessResourceOptions& options, const ResourceInfo& base_info,
                       std::string configured_service_name, size_t value_limit, ResourceStats& stats)
      : options_(options), stats_(stats) {
    options_.max_processes = std::max<size_t>(options_.max_processes, 1);
    for (const Attribute& a : base_info.attributes.items()) {
      if (a.key == "service.name") continue;
      base_.attributes.set(a);
    }
    base_.configured_service_name = std::move(configured_service_name);
    base_.use_process_environment = options_.process_environment;
    base_.value_limit = value_limit;
    by_pid_.reserve(options_.max_processes);
    entries_.reserve(options_.max_processes);
    if (options_.single_pid == 0 && options_.read_proc) warn_if_not_the_hosts_pids(options_.proc_root);
    if (options_.single_pid > 0) {
      Entry entry = read_entry(options_.single_pid);
      if (!entry.found) {
        spdlog::warn("resource: cannot read {}/{} (process gone or no permission): the resource names its pid only",
                     options_.proc_root, options_.single_pid);
      }
      single_ = std::move(entry.resource);
    }
  }

  const ResourceRef& resource_of(int64_t pid) override {
    if (single_) return single_;
    if (pid <= 0) return none_;
    if (pid == last_pid_) return last_->resource;
    const auto found = by_pid_.find(pid);
    if (found != by_pid_.end()) return remember(found->second);
    return add(pid);
  }

  void sweep(Clock::time_point now) override {
    if (single_ || !options_.read_proc || entries_.empty()) return;
    if (cursor_ == 0 && now < next_pass_) return;
    check_some(kChecksPerSweep);
    if (cursor_ >= entries_.size()) {
      cursor_ = 0;
      next_pass_ = now + options_.recheck_interval;
    }
  }

 private:
  const ResourceRef& remember(Entry* entry) noexcept {
    last_pid_ = entry->pid;
    last_ = entry;
    return entry->resource;
  }

  const ResourceRef& add(int64_t pid) {
    if (entries_.size() >= options_.max_processes && !make_room()) {
      bump(stats_.overflow_spans);
      overflow_log_.warn("{} processes hold a resource (max_processes): spans of pid {} get the exporter's resource",
                         entries_.size(), pid);
      return none_;
    }
    auto entry = std::make_unique<Entry>(read_entry(pid));
    Entry* raw = entry.get();
    entries_.push_back(std::move(entry));
    by_pid_.emplace(pid, raw);
    stats_.cached.store(entries_.size(), std::memory_order_relaxed);
    return remember(raw);
  }

  Entry read_entry(int64_t pid) {
    Entry entry;
    entry.pid = pid;
    bump(stats_.processes);
    if (!options_.read_proc) {
      entry.resource = ResourceRef(build_pid_resource(pid, base_));
      return entry;
    }
    ProcessInfo info = read_process_info(options_.proc_root, pid);
    if (info.found && !info.consistent) info = read_process_info(options_.proc_root, pid);  // reused meanwhile
    entry.found = info.found && info.consistent;
    entry.start_ticks = info.start_ticks;
    if (!entry.found) {
      bump(stats_.processes_unreadable);
      unreadable_log_.warn("resource: {}/{} is gone or unreadable at its first span: its resource names the pid only",
                           options_.proc_root, pid);
      entry.resource = ResourceRef(build_pid_resource(pid, base_));
      return entry;
    }
    BuildNotes notes;
    entry.resource = ResourceRef(build_process_resource(info, base_, env_keys_, notes));
    if (notes.env_attributes_dropped != 0) bump(stats_.env_attributes_dropped, notes.env_attributes_dropped);
    if (notes.env_attributes_invalid) {
      bump(stats_.env_attributes_invalid);
      env_log_.warn("resource: OTEL_RESOURCE_ATTRIBUTES of pid {} does not parse: ignored", pid);
    }
    return entry;
  }

  // Full cache: replay replaces an entry (round robin: roughly the older
  // ones); live mode evicts the dead, at most once per kFullCheckSpacing.
  bool make_room() {
    if (!options_.read_proc) {
      replace_next_ = (replace_next_ + 1) % entries_.size();
      evict(replace_next_);
      return true;
    }
    const Clock::time_point now = Clock::now();
    if (now - last_full_check_ < kFullCheckSpacing) return false;
    last_full_check_ = now;
    cursor_ = 0;
    check_some(entries_.size());
    cursor_ = 0;
    return entries_.size() < options_.max_processes;
  }

  void check_some(size_t budget) {
    for (; budget > 0 && cursor_ < entries_.size(); --budget) {
      Entry& entry = *entries_[cursor_];
      const std::optional<uint64_t> start = read_start_ticks(options_.proc_root, entry.pid);
      if (start && entry.found && *start == entry.start_ticks) {
        ++cursor_;
        continue;
      }
      bump(start ? stats_.pid_reuses : stats_.processes_exited);
      evict(cursor_);  // the last entry moves here: check it next
    }
  }

  void evict(size_t index) {
    Entry* entry = entries_[index].get();
    if (last_ == entry) {
      last_ = nullptr;
      last_pid_ = 0;
    }
    by_pid_.erase(entry->pid);
    entries_[index] = std::move(entries_.back());
    entries_.pop_back();
    stats_.cached.store(entries_.size(), std::memory_order_relaxed);
  }

  ProcessResourceOptions options_;
  ResourceStats& stats_;
  ResourceBase base_;
  EnvKeyBudget env_keys_;
  ResourceRef single_;
  const ResourceRef none_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::unordered_map<int64_t, Entry*> by_pid_;
  int64_t last_pid_ = 0;
  Entry* last_ = nullptr;
  size_t cursor_ = 0;
  size_t replace_next_ = 0;
  Clock::time_point next_pass_{};
  Clock::time_point last_full_check_{};
  RateLimitedLog overflow_log_;
  RateLimitedLog unreadable_log_;
  RateLimitedLog env_log_;
};

}  // namespace

std::unique_ptr<ProcessResources> create_process_resources(const ProcessResourceOptions& options,
                                                           const ResourceInfo& base,
                                                           std::string configured_service_name,
                                                           size_t value_limit, ResourceStats& stats) {
  return std::make_unique<ProcessResourcesImpl>(options, base, std::move(configured_service_name), value_limit,
                                                stats);
}

}  // namespace bto

// Node-wide mode with a resource per process (issue 18, docs/resources.md):
// two demo servers of the same binary traced system-wide, one started with its
// own OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES inside a container-like
// cgroup v2 path (.../kubepods-pod<uid>.slice/cri-containerd-<64 hex>.scope,
// made under the host's cgroup2 mount and removed afterwards), the other
// plain. The receiver must get two resources, each with its own pid, service
// name, and container and pod only on the first; their RED metrics likewise.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_fixture.h"
#include "e2e_spans.h"
#include "e2e_support.h"

namespace bto::e2e {
namespace {

constexpr long kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC

// Where cgroup v2 is mounted: /sys/fs/cgroup/unified on a hybrid host like
// this one, /sys/fs/cgroup on a unified one. "" when neither is.
std::string cgroup2_mount() {
  for (const char* candidate : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs fs {};
    if (statfs(candidate, &fs) == 0 && fs.f_type == kCgroup2Magic) return candidate;
  }
  return "";
}

bool write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string random_hex(std::mt19937_64& rng, size_t digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < digits; ++i) out.push_back(kHex[rng() % 16]);
  return out;
}

// A container-like cgroup, as the kubelet's systemd driver names them under
// containerd; processes moved in are moved back to the root and every
// directory removed at scope exit.
class ContainerCgroup {
 public:
  ContainerCgroup(const std::string& mount, const std::string& pod_uid, const std::string& container_id)
      : mount_(mount) {
    std::string uid_underscores = pod_uid;
    for (char& c : uid_underscores) {
      if (c == '-') c = '_';
    }
    dirs_ = {mount + "/bto-e2e-" + std::to_string(::getpid())};
    dirs_.push_back(dirs_.back() + "/kubepods-pod" + uid_underscores + ".slice");
    dirs_.push_back(dirs_.back() + "/cri-containerd-" + container_id + ".scope");
    for (const std::string& dir : dirs_) {
      if (::mkdir(dir.c_str(), 0755) != 0) return;
      made_ = &dir - dirs_.data() + 1;
    }
  }
  ~ContainerCgroup() {
    for (const pid_t pid : moved_) write_text(mount_ + "/cgroup.procs", std::to_string(pid));
    for (size_t i = made_; i-- > 0;) ::rmdir(dirs_[i].c_str());
  }
  ContainerCgroup(const ContainerCgroup&) = delete;
  ContainerCgroup& operator=(const ContainerCgroup&) = delete;

  bool ready() const { return made_ == dirs_.size(); }
  const std::string& leaf() const { return dirs_.back(); }
  bool move(pid_t pid) {
    if (!write_text(leaf() + "/cgroup.procs", std::to_string(pid))) return false;
    moved_.push_back(pid);
    return true;
  }

 private:
  std::string mount_;
  std::vector<std::string> dirs_;
  size_t made_ = 0;
  std::vector<pid_t> moved_;
};

std::map<std::string, std::string> as_map(const std::vector<ReceivedAttribute>& list) {
  std::map<std::string, std::string> out;
  for (const ReceivedAttribute& a : list) out[a.key] = a.value;
  return out;
}

class E2eResources : public E2eTest {};

TEST_F(E2eResources, two_processes_of_one_binary_get_their_own_resources) {
  const std::string mount = cgroup2_mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup v2 mount (/sys/fs/cgroup/unified or /sys/fs/cgroup)";
  std::mt19937_64 rng(static_cast<uint64_t>(::getpid()) * 0x9e3779b97f4a7c15ULL ^
                      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const std::string pod_uid = random_hex(rng, 8) + "-" + random_hex(rng, 4) + "-" + random_hex(rng, 4) + "-" +
                              random_hex(rng, 4) + "-" + random_hex(rng, 12);
  const std::string container_id = random_hex(rng, 64);
  ContainerCgroup cgroup(mount, pod_uid, container_id);
  ASSERT_TRUE(cgroup.ready()) << "cannot create " << cgroup.leaf();

  TestReceiver receiver;
  // System-wide (no --pid), no service name configured: each process names itself.
  Child exporter = start_exporter("exporter", {.script = kAllScript,
                                               .receiver = &receiver,
                                               .options = {"--mode", "native-usdt", "--schedule-delay", "100ms",
                                                           "--metric-export-interval", "500ms"}});
  ASSERT_TRUE(wait_attached("exporter"));
  Server in_pod = start_server(
      "server-pod", {},
      {"OTEL_SERVICE_NAME=checkout",
       "OTEL_RESOURCE_ATTRIBUTES=service.version=1.2.3,deployment.environment=e2e,process.pid=1"});
  Server plain = start_server("server-plain");
  ASSERT_GT(in_pod.port, 0);
  ASSERT_GT(plain.port, 0);
  ASSERT_TRUE(cgroup.move(in_pod.child.pid())) << "cannot move the server into " << cgroup.leaf();
  std::this_thread::sleep_for(milliseconds(300));  // uprobes into the new processes' mappings

  // Both at once: HTTP and job ids start at 1 in each process, and events
  // carrying their pid keep them apart.
  Child load_pod = start_loadgen(in_pod.port, "load-pod.jsonl", {"--requests", "30", "--concurrency", "2", "--mix",
                                                                "users,orders"});
  Child load_plain = start_loadgen(plain.port, "load-plain.jsonl",
                                   {"--requests", "30", "--concurrency", "2", "--mix", "users,orders"});
  ASSERT_TRUE(load_pod.wait_for(seconds(60)).has_value());
  ASSERT_TRUE(load_plain.wait_for(seconds(60)).has_value());
  EXPECT_EQ(load_pod.exit_code(), 0);
  EXPECT_EQ(load_plain.exit_code(), 0);
  // 30 HTTP spans per server, and a dial, a TLS and a job span per order (15 each).
  constexpr size_t kPerServer = 30 + 3 * 15;
  Received got = wait_for_spans(receiver, 2 * kPerServer, seconds(20));
  std::this_thread::sleep_for(milliseconds(1200));  // one more metrics export after the last span
  ASSERT_EQ(stop(exporter), 0);
  got = receiver.received();
  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  ASSERT_EQ(got.spans.size(), 2 * kPerServer);

  const std::string pod_pid = std::to_string(in_pod.child.pid());
  const std::string plain_pid = std::to_string(plain.child.pid());
  std::map<std::string, size_t> spans_by_pid;
  std::map<std::string, std::map<std::string, std::string>> resource_by_pid;
  for (const ReceivedSpan& span : got.spans) {
    const std::map<std::string, std::string> resource = as_map(span.resource);
    ASSERT_EQ(resource.count("process.pid"), 1u) << span.name << " names no process";
    const std::string pid = resource.at("process.pid");
    ++spans_by_pid[pid];
    auto [it, first] = resource_by_pid.emplace(pid, resource);
    EXPECT_TRUE(first || it->second == resource) << "process " << pid << " has two different resources";
    EXPECT_EQ(find_attr(span.attributes, "pid"), nullptr) << "pid is the resource's, not the span's";
  }
  EXPECT_EQ(spans_by_pid, (std::map<std::string, size_t>{{pod_pid, kPerServer}, {plain_pid, kPerServer}}));
  ASSERT_EQ(resource_by_pid.size(), 2u);

  const std::map<std::string, std::string>& pod = resource_by_pid.at(pod_pid);
  EXPECT_EQ(pod.at("service.name"), "checkout");
  EXPECT_EQ(pod.at("service.version"), "1.2.3");
  EXPECT_EQ(pod.at("deployment.environment"), "e2e");
  EXPECT_EQ(pod.at("container.id"), container_id);
  EXPECT_EQ(pod.at("k8s.pod.uid"), pod_uid);
  EXPECT_EQ(pod.at("container.runtime"), "containerd");
  EXPECT_EQ(pod.at("process.executable.name"), "demo-server");
  EXPECT_EQ(pod.at("process.executable.path"), kDemoServer);
  EXPECT_EQ(pod.at("process.parent_pid"), std::to_string(::getpid()));
  EXPECT_EQ(pod.at("os.type"), "linux");
  EXPECT_NE(pod.at("process.command_args").find("--port-file"), std::string::npos);

  const std::map<std::string, std::string>& other = resource_by_pid.at(plain_pid);
  EXPECT_EQ(other.at("service.name"), "unknown_service:demo-server");
  EXPECT_EQ(other.count("container.id"), 0u);
  EXPECT_EQ(other.count("k8s.pod.uid"), 0u);
  EXPECT_EQ(other.count("container.runtime"), 0u);
  EXPECT_EQ(other.count("service.version"), 0u);
  EXPECT_EQ(other.at("process.executable.name"), "demo-server");
  EXPECT_EQ(other.at("host.name"), pod.at("host.name"));

  // RED metrics, one resource each: the last cumulative HTTP counts.
  const testing::ReceivedMetrics metrics = receiver.received_metrics();
  EXPECT_TRUE(metrics.errors.empty()) << metrics.errors.front();
  uint64_t last = 0;
  for (const testing::ReceivedPoint& p : metrics.points) last = std::max(last, p.time);
  std::map<std::string, uint64_t> http_by_service;
  for (const testing::ReceivedPoint& p : metrics.points) {
    if (p.time != last || p.metric != "http.server.request.duration") continue;
    const std::string service = p.resource.at("service.name");
    http_by_service[service.substr(service.find(':') + 1)] += p.count;
    if (service == "string:checkout") {
      EXPECT_EQ(p.resource.at("container.id"), "string:" + container_id);
    }
  }
  EXPECT_EQ(http_by_service,
            (std::map<std::string, uint64_t>{{"checkout", 30}, {"unknown_service:demo-server", 30}}));

  const auto figures = summary("exporter");
  ASSERT_FALSE(figures.empty());
  EXPECT_EQ(figures.at("processes"), 2u);
  EXPECT_EQ(figures.at("resource_overflow_spans"), 0u);
  EXPECT_EQ(figures.at("env_attributes_dropped"), 1u) << "process.pid=1 may not override the measured pid";
  EXPECT_EQ(figures.at("superseded"), 0u);
  EXPECT_EQ(figures.at("dropped"), 0u);
}

}  // namespace
}  // namespace bto::e2e

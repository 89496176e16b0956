// One process's resource: what is read from /proc, the attribute list, the
// service name rule and the precedence of a process's own attributes.

#include "resource/process_resource.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "fake_proc.h"
#include "resource/process_info.h"

namespace bto {
namespace {

using namespace std::string_literals;
using testing::FakeProc;
using testing::FakeProcess;

const std::string kId = "3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";

std::map<std::string, std::string> attrs(const Resource& r) {
  std::map<std::string, std::string> out;
  for (const Attribute& a : r.attributes.items()) {
    switch (a.type) {
      case AttrType::kString: out[std::string(a.key)] = a.string_value; break;
      case AttrType::kInt: out[std::string(a.key)] = "int:" + std::to_string(a.int_value); break;
      case AttrType::kBool: out[std::string(a.key)] = a.bool_value ? "true" : "false"; break;
      case AttrType::kDouble: out[std::string(a.key)] = std::to_string(a.double_value); break;
    }
  }
  return out;
}

ResourceBase base() {
  ResourceBase b;
  b.attributes.set_string("host.name", "node-1");
  b.attributes.set_string("os.type", "linux");
  b.attributes.set_string("telemetry.sdk.name", "bpftrace-otel");
  b.attributes.set_string("deployment.environment", "from-exporter");
  return b;
}

struct Built {
  std::unique_ptr<Resource> resource;
  BuildNotes notes;
  std::map<std::string, std::string> attributes;
};

Built build(const FakeProcess& p, const ResourceBase& b = base()) {
  FakeProc proc;
  proc.add(p);
  const ProcessInfo info = read_process_info(proc.path(), p.pid);
  EXPECT_TRUE(info.found);
  EXPECT_TRUE(info.consistent);
  EnvKeyBudget keys;
  Built built;
  built.resource = build_process_resource(info, b, keys, built.notes);
  built.attributes = attrs(*built.resource);
  return built;
}

TEST(ProcessInfo, reads_every_file) {
  FakeProc proc;
  FakeProcess p;
  p.pid = 4242;
  p.ppid = 17;
  p.start_ticks = 99;
  p.uid = 10001;
  p.ns_pids = {4242, 7};
  p.environ = "PATH=/bin\0OTEL_SERVICE_NAME=checkout\0OTEL_RESOURCE_ATTRIBUTES=team=pay\0SECRET=x\0"s;
  p.cgroup = "0::/kubepods.slice/kubepods-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/cri-containerd-" + kId +
             ".scope\n";
  proc.add(p);
  const ProcessInfo info = read_process_info(proc.path(), 4242);
  EXPECT_TRUE(info.found);
  EXPECT_EQ(info.start_ticks, 99u);
  EXPECT_EQ(info.parent_pid, 17);
  EXPECT_EQ(info.comm, "demo-server");
  EXPECT_EQ(info.executable_path, "/usr/local/bin/demo-server");
  EXPECT_EQ(info.args, (std::vector<std::string>{"/usr/local/bin/demo-server", "--port", "8080"}));
  EXPECT_EQ(info.uid, 10001u);
  EXPECT_EQ(info.owner, "app");
  EXPECT_EQ(info.namespace_pid, 7);
  EXPECT_EQ(info.env_service_name, "checkout");
  EXPECT_EQ(info.env_resource_attributes, "team=pay");
  EXPECT_EQ(info.container.container_id, kId);
  EXPECT_EQ(info.container.pod_uid, "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
  EXPECT_EQ(read_start_ticks(proc.path(), 4242), 99u);
  EXPECT_FALSE(read_start_ticks(proc.path(), 4243));
}

TEST(ProcessInfo, a_missing_process_is_not_found) {
  FakeProc proc;
  const ProcessInfo info = read_process_info(proc.path(), 31337);
  EXPECT_FALSE(info.found);
  EXPECT_EQ(info.pid, 31337);
}

TEST(ProcessInfo, deleted_executable_keeps_its_path) {
  FakeProcess p;
  p.pid = 5;
  p.exe = "/usr/local/bin/demo-server (deleted)";  // upgraded under a running process
  FakeProc proc;
  proc.add(p);
  EXPECT_EQ(read_process_info(proc.path(), 5).executable_path, "/usr/local/bin/demo-server");
}

TEST(ProcessResource, carries_the_process_container_and_base_attributes) {
  FakeProcess p;
  p.pid = 4242;
  p.ppid = 17;
  p.uid = 10001;
  p.ns_pids = {4242, 1};
  p.cgroup = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d"
             ".slice/cri-containerd-" + kId + ".scope\n";
  const Built b = build(p);
  const std::map<std::string, std::string> expected = {
      {"service.name", "unknown_service:demo-server"},
      {"host.name", "node-1"},
      {"os.type", "linux"},
      {"telemetry.sdk.name", "bpftrace-otel"},
      {"deployment.environment", "from-exporter"},
      {"process.pid", "int:4242"},
      {"process.parent_pid", "int:17"},
      {"process.vpid", "int:1"},
      {"process.executable.name", "demo-server"},
      {"process.executable.path", "/usr/local/bin/demo-server"},
      {"process.command", "/usr/local/bin/demo-server"},
      {"process.owner", "app"},
      {"process.user.id", "int:10001"},
      {"container.id", kId},
      {"container.runtime", "containerd"},
      {"container.runtime.name", "containerd"},
      {"k8s.pod.uid", "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"},
  };
  EXPECT_EQ(b.attributes, expected);
  EXPECT_EQ(b.resource->pid, 4242);
  ASSERT_EQ(b.resource->arrays.size(), 1u);
  EXPECT_EQ(b.resource->arrays[0].key, "process.command_args");
  EXPECT_EQ(b.resource->arrays[0].values,
            (std::vector<std::string>{"/usr/local/bin/demo-server", "--port", "8080"}));
}

TEST(ProcessResource, command_args_are_redacted) {
  FakeProcess p;
  p.pid = 9;
  p.args = {"/usr/bin/app", "--password=hunter2", "--api-key", "s3cr3t", "https://u:pw@db/x?token=t&a=1",
            "--port", "80"};
  const Built b = build(p);
  ASSERT_EQ(b.resource->arrays.size(), 1u);
  const std::vector<std::string>& args = b.resource->arrays[0].values;
  ASSERT_EQ(args.size(), 7u);
  for (const std::string& a : args) {
    EXPECT_EQ(a.find("hunter2"), std::string::npos) << a;
    EXPECT_EQ(a.find("s3cr3t"), std::string::npos) << a;
    EXPECT_EQ(a.find(":pw@"), std::string::npos) << a;
    EXPECT_EQ(a.find("token=t"), std::string::npos) << a;
  }
  EXPECT_EQ(args[1], "--password=REDACTED");
  EXPECT_EQ(args[6], "80");
}

TEST(ProcessResource, long_arguments_are_cut_to_the_value_limit) {
  FakeProcess p;
  p.pid = 9;
  p.args = {"/usr/bin/app", std::string(5000, 'x')};
  ResourceBase b = base();
  b.value_limit = 100;
  const Built built = build(p, b);
  EXPECT_EQ(built.resource->arrays[0].values[1].size(), 100u);
}

TEST(ProcessResource, service_name_rule) {
  FakeProcess p;
  p.pid = 10;
  // 1. the process's own OTEL_SERVICE_NAME
  p.environ = "OTEL_RESOURCE_ATTRIBUTES=service.name=from-attrs\0OTEL_SERVICE_NAME=checkout\0"s;
  EXPECT_EQ(build(p).attributes.at("service.name"), "checkout");
  // 2. service.name in its own OTEL_RESOURCE_ATTRIBUTES (an empty OTEL_SERVICE_NAME is unset)
  p.environ = "OTEL_SERVICE_NAME=\0OTEL_RESOURCE_ATTRIBUTES=a=1,service.name=from-attrs\0"s;
  EXPECT_EQ(build(p).attributes.at("service.name"), "from-attrs");
  // 3. the exporter's configured name
  p.environ = "PATH=/bin\0"s;
  ResourceBase configured = base();
  configured.configured_service_name = "fleet";
  EXPECT_EQ(build(p, configured).attributes.at("service.name"), "fleet");
  // 4. the SDKs' default with the executable's name
  EXPECT_EQ(build(p).attributes.at("service.name"), "unknown_service:demo-server");
  p.exe.clear();  // exe unreadable: comm
  p.comm = "worker";
  EXPECT_EQ(build(p).attributes.at("service.name"), "unknown_service:worker");
  // The process's environment ignored on request.
  p.environ = "OTEL_SERVICE_NAME=checkout\0OTEL_RESOURCE_ATTRIBUTES=team=pay\0"s;
  configured.use_process_environment = false;
  const Built ignored = build(p, configured);
  EXPECT_EQ(ignored.attributes.at("service.name"), "fleet");
  EXPECT_EQ(ignored.attributes.count("team"), 0u);
}

TEST(ProcessResource, own_attributes_win_except_over_what_was_measured) {
  FakeProcess p;
  p.pid = 11;
  p.cgroup = "0::/system.slice/docker-" + kId + ".scope\n";
  p.environ = "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod,service.version=1.2,process.pid=1,"
              "container.id=fake,k8s.pod.uid=from-env,telemetry.sdk.name=other\0"s;
  const Built b = build(p);
  EXPECT_EQ(b.attributes.at("deployment.environment"), "prod");
  EXPECT_EQ(b.attributes.at("service.version"), "1.2");
  EXPECT_EQ(b.attributes.at("process.pid"), "int:11");
  EXPECT_EQ(b.attributes.at("container.id"), kId);
  EXPECT_EQ(b.attributes.at("telemetry.sdk.name"), "bpftrace-otel");
  // Not measured (no pod in this cgroup): the process's own value stands.
  EXPECT_EQ(b.attributes.at("k8s.pod.uid"), "from-env");
  EXPECT_EQ(b.notes.env_attributes_dropped, 3u);
}

TEST(ProcessResource, malformed_own_attributes_are_ignored_whole) {
  FakeProcess p;
  p.pid = 12;
  p.environ = "OTEL_RESOURCE_ATTRIBUTES=team=pay,broken\0"s;
  const Built b = build(p);
  EXPECT_TRUE(b.notes.env_attributes_invalid);
  EXPECT_EQ(b.attributes.count("team"), 0u);
}

TEST(ProcessResource, a_process_contributes_a_bounded_number_of_keys) {
  FakeProcess p;
  p.pid = 13;
  std::string list;
  for (int i = 0; i < 100; ++i) list += "k" + std::to_string(i) + "=v,";
  list += std::string(300, 'x') + "=long-key";
  p.environ = "OTEL_RESOURCE_ATTRIBUTES=" + list + '\0';
  const Built b = build(p);
  size_t own = 0;
  for (const auto& [key, value] : b.attributes) own += key[0] == 'k' && key.size() <= 3;
  EXPECT_EQ(own, kMaxEnvAttributes);
  EXPECT_EQ(b.notes.env_attributes_dropped, 100 - kMaxEnvAttributes + 1);
}

TEST(ProcessResource, all_processes_share_a_bounded_key_budget) {
  FakeProc proc;
  EnvKeyBudget keys;
  size_t dropped = 0;
  for (int64_t pid = 1; pid <= 40; ++pid) {
    FakeProcess p;
    p.pid = pid;
    std::string list;
    for (int i = 0; i < 30; ++i) list += "p" + std::to_string(pid) + "_" + std::to_string(i) + "=v,";
    p.environ = "OTEL_RESOURCE_ATTRIBUTES=" + list + '\0';
    proc.add(p);
    BuildNotes notes;
    build_process_resource(read_process_info(proc.path(), pid), base(), keys, notes);
    dropped += notes.env_attributes_dropped;
  }
  EXPECT_EQ(keys.size(), kMaxEnvKeys);
  EXPECT_EQ(dropped, 40u * 30 - kMaxEnvKeys);
}

TEST(ProcessResource, owner_falls_back_to_the_uid) {
  FakeProcess p;
  p.pid = 14;
  p.uid = 4321;  // not in the process's /etc/passwd
  const Built b = build(p);
  EXPECT_EQ(b.attributes.at("process.owner"), "4321");
  EXPECT_EQ(b.attributes.count("process.vpid"), 0u);  // same pid namespace
}

TEST(ProcessResource, pid_only_resource) {
  ResourceBase b = base();
  std::unique_ptr<Resource> r = build_pid_resource(77, b);
  EXPECT_EQ(attrs(*r).at("process.pid"), "int:77");
  EXPECT_EQ(attrs(*r).at("service.name"), "unknown_service");
  EXPECT_EQ(attrs(*r).at("host.name"), "node-1");
  b.configured_service_name = "fleet";
  EXPECT_EQ(attrs(*build_pid_resource(77, b)).at("service.name"), "fleet");
}

TEST(ProcessResource, runtime_guessed_from_the_executable_name) {
  EXPECT_EQ(guess_runtime("python3.11").name, "cpython");
  EXPECT_EQ(guess_runtime("python3.11").version, "3.11");
  EXPECT_EQ(guess_runtime("python3").name, "cpython");
  EXPECT_EQ(guess_runtime("python3").version, "");
  EXPECT_EQ(guess_runtime("node").name, "nodejs");
  EXPECT_EQ(guess_runtime("nodejs").name, "nodejs");
  EXPECT_EQ(guess_runtime("php-fpm8.2").name, "php");
  EXPECT_EQ(guess_runtime("php-fpm8.2").version, "8.2");
  EXPECT_EQ(guess_runtime("java").name, "java");
  EXPECT_EQ(guess_runtime("ruby3.1").version, "3.1");
  for (const char* not_runtime : {"nodemon", "javac", "perldoc", "demo-server", "pythonista", ""}) {
    EXPECT_EQ(guess_runtime(not_runtime).name, "") << not_runtime;
  }
  FakeProcess p;
  p.pid = 15;
  p.exe = "/usr/bin/python3.11";
  const Built b = build(p);
  EXPECT_EQ(b.attributes.at("process.runtime.name"), "cpython");
  EXPECT_EQ(b.attributes.at("process.runtime.version"), "3.11");
}

}  // namespace
}  // namespace bto

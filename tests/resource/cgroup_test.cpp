// Every /proc/PID/cgroup form resource/cgroup.h lists, cgroup v1 and v2, and
// the paths that must not be taken for a container.

#include "resource/cgroup.h"

#include <gtest/gtest.h>

#include <string>

namespace bto {
namespace {

const std::string kId = "3f4e2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
const std::string kOtherId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kUid = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d";
const std::string kUidUnderscores = "1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d";

void expect(const ContainerInfo& info, const std::string& id, const std::string& runtime, const std::string& pod) {
  EXPECT_EQ(info.container_id, id);
  EXPECT_EQ(info.runtime, runtime);
  EXPECT_EQ(info.pod_uid, pod);
}

TEST(Cgroup, v2_kubepods_systemd_containerd) {
  expect(parse_cgroup_file("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidUnderscores +
                           ".slice/cri-containerd-" + kId + ".scope\n"),
         kId, "containerd", kUid);
}

TEST(Cgroup, v2_guaranteed_pod_has_no_qos_slice) {
  expect(parse_cgroup_file("0::/kubepods.slice/kubepods-pod" + kUidUnderscores + ".slice/cri-containerd-" + kId +
                           ".scope\n"),
         kId, "containerd", kUid);
}

TEST(Cgroup, v2_kubepods_crio) {
  expect(parse_cgroup_file("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                           kUidUnderscores + ".slice/crio-" + kId + ".scope\n"),
         kId, "cri-o", kUid);
}

TEST(Cgroup, crio_conmon_is_the_monitor_not_the_container) {
  expect(parse_cgroup_file("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                           kUidUnderscores + ".slice/crio-conmon-" + kId + ".scope\n"),
         "", "", kUid);
}

TEST(Cgroup, crio_with_the_cgroupfs_driver) {
  expect(parse_cgroup_path("/kubepods/burstable/pod" + kUid + "/crio-" + kId), kId, "cri-o", kUid);
}

TEST(Cgroup, v2_kubepods_dockershim_systemd) {
  expect(parse_cgroup_file("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                           kUidUnderscores + ".slice/docker-" + kId + ".scope\n"),
         kId, "docker", kUid);
}

TEST(Cgroup, v1_kubepods_cgroupfs_runtime_unknown) {
  const std::string text = "12:pids:/kubepods/besteffort/pod" + kUid + "/" + kId + "\n" +
                           "11:memory:/kubepods/besteffort/pod" + kUid + "/" + kId + "\n" +
                           "1:name=systemd:/kubepods/besteffort/pod" + kUid + "/" + kId + "\n" + "0::/\n";
  expect(parse_cgroup_file(text), kId, "", kUid);
}

TEST(Cgroup, v2_kubepods_cgroupfs) {
  expect(parse_cgroup_file("0::/kubepods/pod" + kUid + "/" + kId + "\n"), kId, "", kUid);
}

TEST(Cgroup, static_pod_uid_is_32_hex_digits) {
  const std::string uid = "6c2cd5b5ca0ded9cb8b0ab6c4b7e3e53";
  expect(parse_cgroup_file("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid +
                           ".slice/cri-containerd-" + kId + ".scope\n"),
         kId, "containerd", uid);
}

TEST(Cgroup, v2_docker_systemd_driver) {
  expect(parse_cgroup_file("0::/system.slice/docker-" + kId + ".scope\n"), kId, "docker", "");
}

TEST(Cgroup, v1_docker_cgroupfs_driver) {
  const std::string text = "12:devices:/docker/" + kId + "\n11:memory:/docker/" + kId +
                           "\n1:name=systemd:/docker/" + kId + "\n";
  expect(parse_cgroup_file(text), kId, "docker", "");
}

TEST(Cgroup, v2_docker_cgroupfs_driver) {
  expect(parse_cgroup_file("0::/docker/" + kId + "\n"), kId, "docker", "");
}

TEST(Cgroup, podman_systemd) {
  expect(parse_cgroup_file("0::/machine.slice/libpod-" + kId + ".scope\n"), kId, "podman", "");
}

TEST(Cgroup, podman_rootless_nested_container_cgroup) {
  expect(parse_cgroup_file("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId +
                           ".scope/container\n"),
         kId, "podman", "");
}

TEST(Cgroup, podman_cgroupfs_and_conmon) {
  expect(parse_cgroup_path("/libpod_parent/libpod-" + kId), kId, "podman", "");
  expect(parse_cgroup_path("/machine.slice/libpod-conmon-" + kId + ".scope"), "", "", "");
}

TEST(Cgroup, containerd_namespaces_and_nerdctl) {
  expect(parse_cgroup_path("/k8s.io/" + kId), kId, "containerd", "");
  expect(parse_cgroup_path("/moby/" + kId), kId, "docker", "");
  expect(parse_cgroup_path("/default/" + kId), kId, "", "");
  expect(parse_cgroup_path("/system.slice/nerdctl-" + kId + ".scope"), kId, "containerd", "");
}

TEST(Cgroup, systemd_inside_the_container_is_skipped_to_the_container) {
  expect(parse_cgroup_path("/system.slice/docker-" + kId + ".scope/init.scope"), kId, "docker", "");
}

TEST(Cgroup, innermost_container_wins) {
  // Docker in Docker: the inner container is the process's.
  expect(parse_cgroup_path("/docker/" + kOtherId + "/docker/" + kId), kId, "docker", "");
}

TEST(Cgroup, hybrid_host_v2_line_first) {
  // This machine's layout: v1 hierarchies plus the unified one; the process
  // was moved into a container-like path in the unified hierarchy only.
  const std::string text = "12:cpuset:/\n11:memory:/user.slice/user-0.slice/session-3.scope\n"
                           "1:name=systemd:/user.slice/user-0.slice/session-3.scope\n"
                           "0::/bto-test/kubepods-pod" + kUidUnderscores + ".slice/cri-containerd-" + kId + ".scope\n";
  expect(parse_cgroup_file(text), kId, "containerd", kUid);
}

TEST(Cgroup, hybrid_host_v1_line_when_v2_says_nothing) {
  const std::string text = "11:memory:/docker/" + kId + "\n0::/\n";
  expect(parse_cgroup_file(text), kId, "docker", "");
}

TEST(Cgroup, ordinary_processes_are_not_containers) {
  for (const std::string text : {"0::/user.slice/user-0.slice/session-1.scope\n", "0::/system.slice/docker.service\n",
                                 "0::/system.slice/containerd.service\n", "0::/init.scope\n", "0::/\n",
                                 "0::/system.slice/podman.service\n", "0::/kubepods.slice/kubepods-burstable.slice\n"}) {
    expect(parse_cgroup_file(text), "", "", "");
  }
}

TEST(Cgroup, pod_uid_only_under_kubepods) {
  expect(parse_cgroup_path("/machine.slice/pod" + kUid + "/" + kId), kId, "", "");
}

TEST(Cgroup, malformed_ids_and_lines_are_ignored) {
  expect(parse_cgroup_path("/docker/" + kId.substr(1)), "", "", "");  // 63 digits
  std::string upper = kId;
  upper[0] = 'A';
  expect(parse_cgroup_path("/docker/" + upper), "", "", "");
  expect(parse_cgroup_path("/system.slice/docker-" + kId + "0.scope"), "", "", "");  // 65 digits
  expect(parse_cgroup_path("/kubepods/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6/" + kId), kId, "", "");  // short uid
  expect(parse_cgroup_path("/kubepods/pod1a2b3c4d-5e6f-7a8b-9c0d_1e2f3a4b5c6dX/x"), "", "", "");
  expect(parse_cgroup_file("garbage\n::\n0:\n12:memory\n\n\n"), "", "", "");
  expect(parse_cgroup_file(""), "", "", "");
  // Paths may contain ':' after the second one.
  expect(parse_cgroup_file("0::/weird:name/docker-" + kId + ".scope"), kId, "docker", "");
}

}  // namespace
}  // namespace bto

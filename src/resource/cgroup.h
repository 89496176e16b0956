#pragma once
// Which container and Kubernetes pod a process runs in, from its
// /proc/PID/cgroup (no container runtime or Kubernetes API needed). Pure:
// tests/resource/cgroup_test.cpp has a case for every path form below.
//
// Container ids are the runtimes' 64-hex-digit ids, found in a path
// component of one of these forms (the innermost such component wins, so a
// nested "/container" or "/init.scope" below it is skipped):
//
//   docker-<id>.scope            Docker, systemd cgroup driver (also dockershim, cri-dockerd)
//   /docker/<id>                 Docker, cgroupfs driver (cgroup v1 and v2)
//   cri-containerd-<id>.scope    containerd's CRI plugin, systemd driver
//   nerdctl-<id>.scope           containerd via nerdctl, systemd driver
//   crio-<id>.scope, crio-<id>   CRI-O (crio-conmon-<id> is its monitor, not the container)
//   libpod-<id>.scope, libpod-<id>  Podman (libpod-conmon-<id> likewise skipped)
//   /kubepods/.../pod<uid>/<id>  kubelet with the cgroupfs driver: runtime unknown
//   /k8s.io/<id>, /moby/<id>     containerd namespaces (containerd, Docker's)
//
// The pod uid comes from a component "pod<uid>" (cgroupfs) or
// "kubepods[-<qos>]-pod<uid with _ for ->.slice" (systemd), only on a path
// under "kubepods"; both the 8-4-4-4-12 form and the 32-hex-digit form of
// static pods are accepted.
//
// Lines are "hierarchy:controllers:path". The cgroup v2 line ("0::") is read
// first, then the v1 lines in file order; the first container id and the
// first pod uid found are kept (on a hybrid host a process may be moved in one
// hierarchy only).

#include <string>
#include <string_view>

namespace bto {

struct ContainerInfo {
  std::string container_id;  // 64 lowercase hex digits, or empty
  std::string runtime;       // docker, containerd, cri-o, podman; empty when unknown
  std::string pod_uid;       // k8s.pod.uid, with dashes; empty when not in a pod
};

ContainerInfo parse_cgroup_file(std::string_view text);

// One cgroup path ("/kubepods.slice/...").
ContainerInfo parse_cgroup_path(std::string_view path);

}  // namespace bto

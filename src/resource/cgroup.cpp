#include "resource/cgroup.h"

#include <array>
#include <vector>

namespace bto {
namespace {

constexpr size_t kContainerIdLength = 64;

bool is_lower_hex(std::string_view text) noexcept {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !text.empty();
}

bool starts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.substr(0, prefix.size()) == prefix;
}

bool strip_suffix(std::string_view& text, std::string_view suffix) noexcept {
  if (text.size() < suffix.size() || text.substr(text.size() - suffix.size()) != suffix) return false;
  text.remove_suffix(suffix.size());
  return true;
}

struct IdPrefix {
  std::string_view prefix;
  std::string_view runtime;  // empty: the monitor process of a container, not one
};

// Longer prefixes of one runtime first ("crio-conmon-" before "crio-").
constexpr std::array<IdPrefix, 7> kIdPrefixes = {{
    {"cri-containerd-", "containerd"},
    {"nerdctl-", "containerd"},
    {"docker-", "docker"},
    {"crio-conmon-", ""},
    {"crio-", "cri-o"},
    {"libpod-conmon-", ""},
    {"libpod-", "podman"},
}};

// The runtime of a bare "<id>" component, from the component above it.
std::string_view runtime_of_parent(std::string_view parent) noexcept {
  if (parent == "docker" || parent == "moby") return "docker";
  if (parent == "k8s.io") return "containerd";
  if (parent == "libpod_parent") return "podman";
  return {};
}

// True (and `info` set) when `component` names a container.
bool read_container_component(std::string_view component, std::string_view parent, ContainerInfo& info) {
  strip_suffix(component, ".scope");
  if (component.size() == kContainerIdLength) {
    if (!is_lower_hex(component)) return false;
    info.container_id.assign(component);
    info.runtime.assign(runtime_of_parent(parent));
    return true;
  }
  for (const IdPrefix& known : kIdPrefixes) {
    if (!starts_with(component, known.prefix)) continue;
    const std::string_view id = component.substr(known.prefix.size());
    if (known.runtime.empty() || id.size() != kContainerIdLength || !is_lower_hex(id)) return false;
    info.container_id.assign(id);
    info.runtime.assign(known.runtime);
    return true;
  }
  return false;
}

// "pod<uid>", "kubepods-pod<uid>.slice", "kubepods-burstable-pod<u_i_d>.slice".
bool read_pod_component(std::string_view component, ContainerInfo& info) {
  if (!strip_suffix(component, ".slice") && !starts_with(component, "pod")) return false;
  size_t at = std::string_view::npos;
  if (starts_with(component, "pod")) {
    at = 3;
  } else if (starts_with(component, "kubepods-")) {
    const size_t marker = component.rfind("-pod");
    if (marker != std::string_view::npos) at = marker + 4;
  }
  if (at == std::string_view::npos) return false;
  std::string uid(component.substr(at));
  for (char& c : uid) {
    if (c == '_') c = '-';
  }
  if (uid.size() == 32) {
    if (!is_lower_hex(uid)) return false;
  } else if (uid.size() == 36) {
    for (size_t i = 0; i < uid.size(); ++i) {
      const bool dash_place = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_place != (uid[i] == '-')) return false;
      if (!dash_place && !is_lower_hex(std::string_view(&uid[i], 1))) return false;
    }
  } else {
    return false;
  }
  info.pod_uid = std::move(uid);
  return true;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> components;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view component = path.substr(0, slash);
    if (!component.empty()) components.push_back(component);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return components;
}

void merge(ContainerInfo& into, ContainerInfo&& from) {
  if (into.container_id.empty() && !from.container_id.empty()) {
    into.container_id = std::move(from.container_id);
    into.runtime = std::move(from.runtime);
  }
  if (into.pod_uid.empty() && !from.pod_uid.empty()) into.pod_uid = std::move(from.pod_uid);
}

}  // namespace

ContainerInfo parse_cgroup_path(std::string_view path) {
  ContainerInfo info;
  const std::vector<std::string_view> components = split_path(path);
  for (size_t i = components.size(); i-- > 0;) {
    if (read_container_component(components[i], i > 0 ? components[i - 1] : std::string_view{}, info)) break;
  }
  if (path.find("kubepods") != std::string_view::npos) {
    for (size_t i = components.size(); i-- > 0;) {
      if (read_pod_component(components[i], info)) break;
    }
  }
  return info;
}

ContainerInfo parse_cgroup_file(std::string_view text) {
  std::vector<std::string_view> v1_paths;
  std::string_view v2_path;
  bool has_v2 = false;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    const size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view path = line.substr(second + 1);
    if (line.substr(0, first) == "0" && second == first + 1) {
      v2_path = path;
      has_v2 = true;
    } else {
      v1_paths.push_back(path);
    }
  }
  ContainerInfo info;
  if (has_v2) merge(info, parse_cgroup_path(v2_path));
  for (const std::string_view path : v1_paths) {
    if (!info.container_id.empty() && !info.pod_uid.empty()) break;
    merge(info, parse_cgroup_path(path));
  }
  return info;
}

}  // namespace bto

#include "resource/process_resource.h"

#include <array>
#include <span>

#include "common/redact.h"
#include "export/resource.h"

namespace bto {
namespace {

constexpr std::string_view kUnknownService = "unknown_service";

std::string_view base_name(std::string_view path) noexcept {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool starts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.substr(0, prefix.size()) == prefix;
}

// What we measured: a process may not claim otherwise in its environment.
bool is_measured_key(std::string_view key) noexcept {
  return starts_with(key, "process.") || starts_with(key, "container.") || starts_with(key, "telemetry.sdk.") ||
         key == "k8s.pod.uid";
}

std::string_view executable_name(const ProcessInfo& info) noexcept {
  if (!info.executable_path.empty()) return base_name(info.executable_path);
  return info.comm;
}

void copy_base(const ResourceBase& base, Resource& resource) {
  for (const Attribute& a : base.attributes.items()) resource.attributes.set(a);
}

// The process's own OTEL_RESOURCE_ATTRIBUTES, within the limits.
void apply_environment_attributes(const ProcessInfo& info, Resource& resource, EnvKeyBudget& env_keys,
                                  BuildNotes& notes) {
  if (!info.env_resource_attributes) return;
  const KeyValueParse parsed = parse_resource_attributes(*info.env_resource_attributes);
  if (!parsed.ok()) {
    notes.env_attributes_invalid = true;
    return;
  }
  size_t taken = 0;
  for (const auto& [key, value] : parsed.pairs) {
    if (key == "service.name") continue;  // decided by the service name rule
    const bool detected = resource.attributes.find(key) != nullptr;
    const bool known = env_keys.find(key) != env_keys.end();
    if ((is_measured_key(key) && detected) || taken == kMaxEnvAttributes || key.size() > kMaxEnvKeyBytes ||
        (!known && env_keys.size() >= kMaxEnvKeys)) {
      ++notes.env_attributes_dropped;
      continue;
    }
    if (!known) env_keys.emplace(key);
    resource.attributes.set_string(key, value);
    ++taken;
  }
}

std::string service_name_of(const ProcessInfo& info, const ResourceBase& base) {
  if (base.use_process_environment) {
    if (info.env_service_name && !info.env_service_name->empty()) return *info.env_service_name;
    if (info.env_resource_attributes) {
      const KeyValueParse parsed = parse_resource_attributes(*info.env_resource_attributes);
      for (const auto& [key, value] : parsed.pairs) {
        if (key == "service.name" && !value.empty()) return value;
      }
    }
  }
  if (!base.configured_service_name.empty()) return base.configured_service_name;
  const std::string_view executable = executable_name(info);
  if (executable.empty()) return std::string(kUnknownService);
  return std::string(kUnknownService) + ":" + std::string(executable);
}

void set_process_attributes(const ProcessInfo& info, const ResourceBase& base, Resource& resource) {
  AttributeList& attrs = resource.attributes;
  attrs.set_int("process.pid", info.pid);
  if (info.parent_pid > 0) attrs.set_int("process.parent_pid", info.parent_pid);
  if (info.namespace_pid > 0) attrs.set_int("process.vpid", info.namespace_pid);
  const std::string_view executable = executable_name(info);
  if (!executable.empty()) attrs.set_string("process.executable.name", executable);
  if (!info.executable_path.empty()) attrs.set_string("process.executable.path", info.executable_path);
  if (!info.args.empty()) {
    // Arguments may carry passwords and tokens (common/redact.h).
    std::vector<std::string> args = redact_command_args(info.args);
    for (std::string& arg : args) arg.resize(utf8_prefix(arg, base.value_limit).size());
    attrs.set_string("process.command", args.front());
    resource.arrays.push_back({"process.command_args", std::move(args)});
  }
  if (!info.owner.empty()) {
    attrs.set_string("process.owner", info.owner);
  } else if (info.uid) {
    attrs.set_string("process.owner", std::to_string(*info.uid));
  }
  if (info.uid) attrs.set_int("process.user.id", *info.uid);
  const RuntimeGuess runtime = guess_runtime(executable);
  if (!runtime.name.empty()) attrs.set_string("process.runtime.name", runtime.name);
  if (!runtime.version.empty()) attrs.set_string("process.runtime.version", runtime.version);

  const ContainerInfo& container = info.container;
  if (!container.container_id.empty()) attrs.set_string("container.id", container.container_id);
  if (!container.runtime.empty()) {
    // container.runtime is the name most backends and the issue know; semantic
    // conventions 1.35 renamed it container.runtime.name.
    attrs.set_string("container.runtime", container.runtime);
    attrs.set_string("container.runtime.name", container.runtime);
  }
  if (!container.pod_uid.empty()) attrs.set_string("k8s.pod.uid", container.pod_uid);
}

}  // namespace

std::unique_ptr<Resource> build_process_resource(const ProcessInfo& info, const ResourceBase& base,
                                                 EnvKeyBudget& env_keys, BuildNotes& notes) {
  auto resource = std::make_unique<Resource>();
  resource->pid = info.pid;
  resource->attributes.set_limits(AttributeList::kUnlimited, base.value_limit);
  resource->attributes.set_string("service.name", service_name_of(info, base));
  copy_base(base, *resource);
  set_process_attributes(info, base, *resource);
  if (base.use_process_environment) apply_environment_attributes(info, *resource, env_keys, notes);
  return resource;
}

std::unique_ptr<Resource> build_pid_resource(int64_t pid, const ResourceBase& base) {
  auto resource = std::make_unique<Resource>();
  resource->pid = pid;
  resource->attributes.set_limits(AttributeList::kUnlimited, base.value_limit);
  resource->attributes.set_string("service.name", base.configured_service_name.empty()
                                                       ? kUnknownService
                                                       : std::string_view(base.configured_service_name));
  copy_base(base, *resource);
  resource->attributes.set_int("process.pid", pid);
  return resource;
}

RuntimeGuess guess_runtime(std::string_view executable_name) {
  struct Known {
    std::string_view prefix, runtime;
  };
  // Interpreters whose executable names carry their version (python3.11).
  constexpr std::array<Known, 9> kKnown = {{
      {"python", "cpython"},
      {"pypy", "pypy"},
      {"nodejs", "nodejs"},
      {"node", "nodejs"},
      {"ruby", "ruby"},
      {"php-fpm", "php"},
      {"php", "php"},
      {"perl", "perl"},
      {"java", "java"},
  }};
  RuntimeGuess guess;
  for (const Known& known : kKnown) {
    if (!starts_with(executable_name, known.prefix)) continue;
    const std::string_view rest = executable_name.substr(known.prefix.size());
    // "python3.11" -> "3.11"; a bare major ("python3") says too little to be a version.
    bool digits_and_dots = !rest.empty();
    for (const char c : rest) digits_and_dots = digits_and_dots && ((c >= '0' && c <= '9') || c == '.');
    if (!rest.empty() && !digits_and_dots) continue;  // "nodemon", "javac", "perldoc": not the runtime
    guess.name.assign(known.runtime);
    if (rest.find('.') != std::string_view::npos) guess.version.assign(rest);
    return guess;
  }
  return guess;
}

}  // namespace bto

#include "export/resource.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <iterator>

#include "common/log.h"
#include "common/version.h"

namespace bto {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// uname's machine as the host.arch values of the semantic conventions.
std::string_view host_arch(std::string_view machine) noexcept {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i686" || machine == "i386") return "x86";
  if (machine == "ppc64le") return "ppc64";
  return machine;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

KeyValueParse parse_resource_attributes(std::string_view text) {
  KeyValueParse result;
  size_t index = 0;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view member = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    ++index;
    if (member.empty()) continue;
    const size_t eq = member.find('=');
    if (eq == std::string_view::npos) {
      result.error = fmt::format("member {} has no '='", index);
      break;
    }
    std::string key;
    std::string value;
    if (!percent_decode(trim(member.substr(0, eq)), key) || key.empty()) {
      result.error = fmt::format("member {} has an empty or badly encoded key", index);
      break;
    }
    if (!percent_decode(trim(member.substr(eq + 1)), value)) {
      result.error = fmt::format("member {} (key {}) has a bad %-escape in its value", index,
                                 quote_bytes(key, 64));
      break;
    }
    result.pairs.emplace_back(std::move(key), std::move(value));
  }
  if (!result.ok()) result.pairs.clear();
  return result;
}

std::string configured_service_name(const ResourceOptions& options) {
  if (!options.service_name.empty()) return options.service_name;
  const KeyValueParse parsed = parse_resource_attributes(options.resource_attributes);
  std::string name;
  for (const auto& [key, value] : parsed.pairs) {
    if (key == "service.name") name = value;
  }
  return name;
}

ResourceInfo build_resource(const ResourceOptions& options) {
  ResourceInfo info;
  AttributeList& attrs = info.attributes;
  const std::string version = options.version.empty() ? std::string(kVersion) : options.version;

  std::string host = options.host_name;
  if (host.empty()) {
    char buffer[HOST_NAME_MAX + 1] = {};
    if (gethostname(buffer, sizeof(buffer) - 1) == 0) host = buffer;
  }
  if (!host.empty()) attrs.set_string("host.name", host);

  // host.id as the semantic conventions define it on Linux: the machine id.
  std::string machine_id = read_file(options.machine_id_path);
  while (!machine_id.empty() && (machine_id.back() == '\n' || machine_id.back() == ' ')) machine_id.pop_back();
  if (!machine_id.empty() && machine_id.size() <= 64) attrs.set_string("host.id", machine_id);
  utsname uts{};
  if (uname(&uts) == 0) attrs.set_string("host.arch", host_arch(uts.machine));
  attrs.set_string("os.type", "linux");

  attrs.set_string("telemetry.sdk.name", "bpftrace-otel");
  attrs.set_string("telemetry.sdk.language", "cpp");
  attrs.set_string("telemetry.sdk.version", version);
  attrs.set_string("exporter.type", "bpftrace");
  // Output, limits and messages differ between bpftrace versions (docs/compatibility.md).
  if (!options.bpftrace_version.empty()) attrs.set_string("bpftrace.version", options.bpftrace_version);
  if (options.exporter_mode == "native-usdt") {
    attrs.set_string("instrumentation.type", "native-usdt");
  }

  // User-supplied attributes win over detected ones, as in the OTel SDKs.
  if (!options.resource_attributes.empty()) {
    const KeyValueParse parsed = parse_resource_attributes(options.resource_attributes);
    if (!parsed.ok()) {
      spdlog::error("OTEL_RESOURCE_ATTRIBUTES ignored: {}", parsed.error);
    }
    for (const auto& [key, value] : parsed.pairs) attrs.set_string(key, value);
  }

  if (!options.service_name.empty()) {
    attrs.set_string("service.name", options.service_name);
  } else if (attrs.find("service.name") == nullptr) {
    attrs.set_string("service.name", "unknown_service");
  }

  info.scope_name = options.tracer_name.empty() ? "bpftrace-exporter" : options.tracer_name;
  info.scope_version = version;
  return info;
}

}  // namespace bto

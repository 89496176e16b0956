#include "source/traced_binary.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"

namespace bto {
namespace {

bool is_probe_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '*' || c == '$' || c == '.' || c == '/' || c == '-' || c == ':' || c == '+' || c == '?' || c == '[' || c == ']'; }

// Splits "usdt:$1:python:gc__start" into its parts.
std::vector<std::string> split_colons(std::string_view spec) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (;;) {
    const size_t at = spec.find(':', begin);
    parts.emplace_back(spec.substr(begin, at == std::string_view::npos ? std::string_view::npos : at - begin));
    if (at == std::string_view::npos) return parts;
    begin = at + 1;
  }
}

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// The path `pid` sees as `mapped`, from here (its root may differ: a container).
std::string from_here(int pid, const std::string& mapped) { return fmt::format("/proc/{}/root{}", pid, mapped); }

std::string executable_of(int pid) {
  char buffer[4096];
  const ssize_t n = ::readlink(fmt::format("/proc/{}/exe", pid).c_str(), buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string("?");
}

bool has_probe(const std::vector<UsdtNote>& notes, const PositionalProbe& probe) {
  if (probe.name.find_first_of("*?[") != std::string::npos || probe.provider.find_first_of("*?[") != std::string::npos) {
    return true;  // a wildcard: bpftrace decides
  }
  return std::any_of(notes.begin(), notes.end(), [&](const UsdtNote& n) {
    return n.name == probe.name && (probe.provider.empty() || n.provider == probe.provider);
  });
}

std::string missing_probes(const std::vector<UsdtNote>& notes, const std::vector<PositionalProbe>& probes) {
  std::string missing;
  for (const PositionalProbe& p : probes) {
    if (!p.usdt || has_probe(notes, p)) continue;
    if (!missing.empty()) missing += ", ";
    missing += p.provider.empty() ? p.name : p.provider + ":" + p.name;
  }
  return missing;
}

std::string cpython_hint(const std::string& version, const std::vector<PositionalProbe>& probes) {
  bool calls = false;
  for (const PositionalProbe& p : probes) calls = calls || p.name.starts_with("function__");
  if (version.empty() || !calls) return "";
  if (version == "3.11") {
    return " (CPython 3.11 fires python:function__entry only while a profile or trace function is installed, "
           "e.g. sys.setprofile(slice) in the program; gh-98894)";
  }
  const int minor = std::atoi(version.c_str() + 2);
  if (minor >= 12 && minor <= 14) {
    return fmt::format(" (CPython {} has no function__entry/function__return probes: removed with PEP 669, "
                       "gh-104280; they are back in 3.15, gh-142397; gc and import probes work)",
                       version);
  }
  return "";
}

}  // namespace

namespace {

// Calls visit(offset, spec) for each word of the script that may be a probe
// ("usdt:$1:python:gc__start", "uprobe:/usr/lib/libssl.so.3:SSL_write"),
// // comments left out.
template <typename Visit>
void for_each_probe_word(std::string_view script, Visit visit) {
  size_t i = 0;
  while (i < script.size()) {
    if (script.compare(i, 2, "//") == 0) {  // comment to the end of the line
      i = script.find('\n', i);
      if (i == std::string_view::npos) break;
      continue;
    }
    const bool at_word_start = i == 0 || !is_probe_char(script[i - 1]);
    if (!at_word_start || !std::isalpha(static_cast<unsigned char>(script[i]))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < script.size() && is_probe_char(script[end])) ++end;
    visit(i, script.substr(i, end - i));
    i = end;
  }
}

bool is_usdt_kind(const std::string& kind) { return kind == "usdt" || kind == "U"; }
bool is_uprobe_kind(const std::string& kind) {
  return kind == "uprobe" || kind == "uretprobe" || kind == "u" || kind == "ur";
}

}  // namespace

std::vector<PositionalProbe> positional_probes(std::string_view script) {
  std::vector<PositionalProbe> probes;
  for_each_probe_word(script, [&](size_t, std::string_view word) {
    const std::vector<std::string> parts = split_colons(word);
    if (parts.size() < 3 || parts[1].size() < 2 || parts[1][0] != '$') return;
    const bool usdt = is_usdt_kind(parts[0]);
    if (!usdt && !is_uprobe_kind(parts[0])) return;
    const int positional = std::atoi(parts[1].c_str() + 1);
    if (positional <= 0) return;
    PositionalProbe probe{positional, usdt, "", parts.back()};
    if (usdt && parts.size() >= 4) probe.provider = parts[2];
    probes.push_back(std::move(probe));
  });
  return probes;
}

std::string with_target_root_paths(std::string_view script, int pid, std::vector<std::string>* rewritten) {
  std::string out(script);
  if (pid <= 0) return out;
  std::vector<std::pair<size_t, std::string>> paths;  // offset in the script, path
  for_each_probe_word(script, [&](size_t at, std::string_view word) {
    const std::vector<std::string> parts = split_colons(word);
    if (parts.size() < 3 || !parts[1].starts_with('/') || parts[1].starts_with("/proc/")) return;
    if (!is_usdt_kind(parts[0]) && !is_uprobe_kind(parts[0])) return;
    const auto here = file_id(parts[1]);
    if (!here || file_id(from_here(pid, parts[1])) != here) return;  // another file there: the user's path stays
    paths.emplace_back(at + parts[0].size() + 1, parts[1]);
  });
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    out.insert(it->first, fmt::format("/proc/{}/root", pid));
    if (rewritten != nullptr) rewritten->insert(rewritten->begin(), it->second);
  }
  return out;
}

void resolve_literal_binaries(SourceOptions& options, std::string_view script) {
  std::vector<std::string> rewritten;
  std::string text = with_target_root_paths(script, options.target_pid, &rewritten);
  if (rewritten.empty()) return;
  for (const std::string& path : rewritten) {
    spdlog::info("probe binary {} passed to bpftrace as /proc/{}/root{} (with -p and the plain path bpftrace 0.24+ "
                 "attach its USDT probes twice)",
                 path, options.target_pid, path);
  }
  // bpftrace gets the rewritten script as program text.
  options.program_text = std::move(text);
  options.script_path.clear();
}

std::vector<std::string> mapped_files(int pid) {
  std::vector<std::string> files;
  std::set<std::string> seen;
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string file = line.substr(slash);
    if (file.ends_with(" (deleted)")) continue;
    if (seen.insert(file).second) files.push_back(std::move(file));
  }
  return files;
}

std::optional<std::vector<UsdtNote>> usdt_notes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  Elf64_Ehdr header{};
  if (::pread(fd, &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0 || header.e_shnum > 4096) {
    return std::nullopt;
  }
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  const ssize_t table = static_cast<ssize_t>(sections.size() * sizeof(Elf64_Shdr));
  if (::pread(fd, sections.data(), static_cast<size_t>(table), static_cast<off_t>(header.e_shoff)) != table ||
      header.e_shstrndx >= sections.size()) {
    return std::nullopt;
  }
  const auto read_section = [fd](const Elf64_Shdr& section) {
    std::string bytes(std::min<uint64_t>(section.sh_size, 64u << 20), '\0');
    const ssize_t n = ::pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(section.sh_offset));
    bytes.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return bytes;
  };
  const std::string names = read_section(sections[header.e_shstrndx]);
  std::vector<UsdtNote> notes;
  for (const Elf64_Shdr& section : sections) {
    if (section.sh_type != SHT_NOTE || section.sh_name >= names.size() ||
        std::string_view(names.c_str() + section.sh_name) != ".note.stapsdt") {
      continue;
    }
    const std::string data = read_section(section);
    const auto align4 = [](size_t n) { return (n + 3) & ~size_t{3}; };
    size_t at = 0;
    while (at + sizeof(Elf64_Nhdr) <= data.size()) {
      Elf64_Nhdr note{};
      std::memcpy(&note, data.data() + at, sizeof note);
      const size_t desc = at + sizeof note + align4(note.n_namesz);
      const size_t next = desc + align4(note.n_descsz);
      if (next > data.size() || next <= at) break;
      // desc: pc, base, semaphore (3 x 8 bytes), then provider\0 name\0 arguments\0
      if (note.n_type == 3 && note.n_descsz > 24) {
        const std::string_view strings(data.data() + desc + 24, note.n_descsz - 24);
        const size_t provider_end = strings.find('\0');
        if (provider_end != std::string_view::npos) {
          const size_t name_end = strings.find('\0', provider_end + 1);
          notes.push_back({std::string(strings.substr(0, provider_end)),
                           std::string(strings.substr(provider_end + 1, name_end == std::string_view::npos
                                                                            ? std::string_view::npos
                                                                            : name_end - provider_end - 1))});
        }
      }
      at = next;
    }
  }
  return notes;
}

std::string cpython_version(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base.starts_with("lib")) base.remove_prefix(3);
  if (!base.starts_with("python3.")) return "";
  size_t end = 8;
  while (end < base.size() && std::isdigit(static_cast<unsigned char>(base[end]))) ++end;
  return end > 8 ? std::string(base.substr(6, end - 6)) : "";
}

void resolve_traced_binaries(SourceOptions& options, std::string_view script) {
  if (options.target_pid <= 0 || !file_id(fmt::format("/proc/{}/maps", options.target_pid))) return;
  const std::vector<PositionalProbe> probes = positional_probes(script);
  if (probes.empty()) return;
  // Positional parameters: the arguments after the script that are no options.
  std::vector<std::string*> positionals;
  for (std::string& arg : options.extra_args) {
    if (!arg.starts_with("-")) positionals.push_back(&arg);
  }
  const std::vector<std::string> mapped = mapped_files(options.target_pid);
  std::set<int> done;
  for (const PositionalProbe& first : probes) {
    if (!done.insert(first.positional).second) continue;
    if (first.positional > static_cast<int>(positionals.size())) continue;  // bpftrace reports it
    std::string& given = *positionals[first.positional - 1];
    const auto given_id = file_id(given);
    if (given.empty() || given[0] != '/' || !given_id) continue;  // a library name, or no such file: bpftrace says
    std::vector<PositionalProbe> these;
    bool usdt = false;
    for (const PositionalProbe& p : probes) {
      if (p.positional != first.positional) continue;
      these.push_back(p);
      usdt = usdt || p.usdt;
    }
    std::string resolved;
    for (const std::string& file : mapped) {
      if (file_id(from_here(options.target_pid, file)) == given_id) {
        resolved = file;
        break;
      }
    }
    const std::string exe = executable_of(options.target_pid);
    if (resolved.empty() && !usdt) {
      spdlog::warn("process {} does not map ${} = {} (it runs {}): its uprobes fire only once the process loads "
                   "that file (or for other processes when bpftrace fires library uprobes everywhere)",
                   options.target_pid, first.positional, given, exe);
      continue;
    }
    if (resolved.empty()) {
      // Which file of the process has the probes, if any?
      std::string with_probes;
      for (const std::string& file : mapped) {
        const auto notes = usdt_notes(from_here(options.target_pid, file));
        if (notes && !notes->empty() && missing_probes(*notes, these).empty()) {
          with_probes = file;
          break;
        }
      }
      if (with_probes.empty()) {
        const std::string version = cpython_version(exe);
        throw StartupError(fmt::format(
            "process {} does not run {} (${} of the script): its executable is {}, and neither it nor a library it "
            "maps has the script's USDT probes{}. {}Start the program with a binary that has them, or pass the one "
            "it runs after --; `readelf -n FILE | grep -A2 stapsdt` lists a file's probes",
            options.target_pid, given, first.positional, exe,
            version.empty() ? "" : fmt::format(" (CPython {} built without --with-dtrace)", version),
            version.empty() ? ""
                            : "A `python3` found first on PATH (pyenv, conda, a source build) is not the "
                              "distribution's: Debian's /usr/bin/python3.X has the probes. "));
      }
      spdlog::warn("process {} does not run {} (${} of the script): its executable is {}; tracing the USDT probes of "
                   "{}, which it maps",
                   options.target_pid, given, first.positional, exe, with_probes);
      resolved = with_probes;
    } else if (resolved != given) {
      spdlog::info("${} = {} is {} in process {}", first.positional, given, resolved, options.target_pid);
    }
    if (usdt) {
      const auto notes = usdt_notes(from_here(options.target_pid, resolved));
      const std::string version = cpython_version(resolved);
      if (notes) {
        const std::string missing = missing_probes(*notes, these);
        if (!missing.empty()) {
          throw StartupError(fmt::format("{} has no USDT probe {}{} (process {}); `readelf -n {} | grep -A2 stapsdt` "
                                         "lists the probes it has",
                                         resolved, missing, cpython_hint(version, these), options.target_pid,
                                         resolved));
        }
      }
      const std::string hint = cpython_hint(version, these);
      if (!hint.empty()) spdlog::warn("process {} runs CPython {}{}", options.target_pid, version, hint);
    }
    // The file as seen through the process' root: bpftrace attaches it once on
    // every version (0.27 given the plain path of a file the process maps
    // attaches the probe twice, as that path and as /proc/PID/root/..., and
    // every event arrives twice), and it is right in another mount namespace.
    given = from_here(options.target_pid, resolved);
    spdlog::info("${} for bpftrace: {}", first.positional, given);
  }
}

}  // namespace bto

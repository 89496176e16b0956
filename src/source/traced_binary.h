#pragma once
// With --pid, the binary a script's usdt:/uprobe: probes name through a
// positional parameter ($1 ...) must be one the process runs. A process started
// as `python3 app.py` may run another interpreter than the path given after
// `--` (a symlink to the real file, or a pyenv/conda/venv python first on
// PATH): bpftrace then says only "No probes to attach" or "couldn't get
// argument 0" (0.17, 0.23), or attaches and never fires (0.27). Before bpftrace
// starts we look at what the process maps (/proc/PID/maps) and either pass the
// file it really maps, or stop with the cause and the fix.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/bpftrace_process.h"

namespace bto {

// A probe of the script whose binary is a positional parameter.
struct PositionalProbe {
  int positional = 0;    // 1 for $1
  bool usdt = false;     // else a uprobe/uretprobe
  std::string provider;  // usdt only; "" when the probe names none
  std::string name;      // function or probe name ("*" wildcards kept)
};
std::vector<PositionalProbe> positional_probes(std::string_view script);

// The files of `pid`'s file-backed mappings, in the order of /proc/PID/maps,
// each once (paths as the process sees them).
std::vector<std::string> mapped_files(int pid);

// provider:name of the USDT probes in an ELF file's .note.stapsdt section;
// nullopt when the file is no readable ELF64 file.
struct UsdtNote {
  std::string provider, name;
};
std::optional<std::vector<UsdtNote>> usdt_notes(const std::string& path);

// "3.11" for .../python3.11 or .../libpython3.11.so.1.0; "" otherwise.
std::string cpython_version(std::string_view path);

// Rewrites the positional parameter of each usdt/uprobe binary to the file the
// target maps (logging what it did), or throws StartupError naming the cause
// and the fix. Does nothing without a target PID.
void resolve_traced_binaries(SourceOptions& options, std::string_view script);

// The other way to name the binary: an absolute path in the script
// (usdt:/usr/bin/python3.11:python:gc__start). With a target PID, each
// usdt/uprobe path that the target sees as the same file becomes
// /proc/PID/root/<path>, as for $1 above: bpftrace 0.24+ given -p and the
// plain path attach a USDT probe twice, once per spelling, and every event
// arrives twice (docs/compatibility.md). `rewritten` collects the paths changed.
std::string with_target_root_paths(std::string_view script, int pid, std::vector<std::string>* rewritten = nullptr);
// Applies with_target_root_paths to the script of `options`; when it changes
// anything, bpftrace gets the new text as its program (--program).
void resolve_literal_binaries(SourceOptions& options, std::string_view script);

}  // namespace bto

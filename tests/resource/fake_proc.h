#pragma once
// A made-up /proc tree in a temporary directory, for the resource stage's
// proc_root: processes with any pid, start time, cgroup and environment, that
// can exit or be replaced (pid reuse) at will.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace bto::testing {

struct FakeProcess {
  int64_t pid = 0;
  int64_t ppid = 1;
  uint64_t start_ticks = 1000;
  std::string comm = "demo-server";
  std::string exe = "/usr/local/bin/demo-server";  // empty: exe unreadable
  std::vector<std::string> args = {"/usr/local/bin/demo-server", "--port", "8080"};
  uint32_t uid = 0;
  std::vector<int64_t> ns_pids;  // empty: just {pid}
  std::string environ;           // raw, NUL-separated
  std::string cgroup = "0::/user.slice/user-0.slice/session-1.scope\n";
  std::string passwd = "root:x:0:0:root:/root:/bin/bash\napp:x:10001:10001::/home/app:/sbin/nologin\n";
};

class FakeProc {
 public:
  const std::string& path() const { return dir_.path(); }

  void add(const FakeProcess& p) {
    const std::string dir = path() + "/" + std::to_string(p.pid);
    std::filesystem::create_directories(dir);
    write(dir + "/stat", std::to_string(p.pid) + " (" + p.comm + ") S " + std::to_string(p.ppid) +
                             " 1 1 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 " + std::to_string(p.start_ticks) +
                             " 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
    std::string ns = "NSpid:";
    if (p.ns_pids.empty()) {
      ns += "\t" + std::to_string(p.pid);
    } else {
      for (const int64_t n : p.ns_pids) ns += "\t" + std::to_string(n);
    }
    const std::string uid = std::to_string(p.uid);
    write(dir + "/status", "Name:\t" + p.comm + "\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n" + ns +
                               "\n");
    std::string cmdline;
    for (const std::string& a : p.args) cmdline += a + '\0';
    write(dir + "/cmdline", cmdline);
    write(dir + "/environ", p.environ);
    write(dir + "/cgroup", p.cgroup);
    std::filesystem::remove(dir + "/exe");
    if (!p.exe.empty()) std::filesystem::create_symlink(p.exe, dir + "/exe");
    const std::string root = path() + "/roots/" + std::to_string(p.pid);
    std::filesystem::create_directories(root + "/etc");
    write(root + "/etc/passwd", p.passwd);
    std::filesystem::remove(dir + "/root");
    std::filesystem::create_directory_symlink(root, dir + "/root");
  }

  // The process exits.
  void remove(int64_t pid) { std::filesystem::remove_all(path() + "/" + std::to_string(pid)); }

 private:
  static void write(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }

  TempDir dir_{"bto-fake-proc"};
};

}  // namespace bto::testing

#pragma once
// Shared by the tests of tests/source: a temporary directory holding an
// executable copy of helpers/fake_bpftrace.py (the exec bit does not depend
// on how the repository was checked out), and a LineHandler that records.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "source/line_reader.h"

namespace bto::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bto-source-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  std::string write(std::string_view name, std::string_view text, mode_t mode = 0644) const {
    const std::string p = file(name);
    std::ofstream(p, std::ios::binary) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

inline std::string install_fake_bpftrace(const TempDir& dir) {
  std::ifstream in(std::string(BTO_SOURCE_DIR) + "/tests/source/helpers/fake_bpftrace.py", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return dir.write("fake-bpftrace", text, 0755);
}

class RecordingHandler : public LineHandler {
 public:
  void on_line(std::string_view line) override { lines.emplace_back(line); }
  void on_oversized_line(std::string_view prefix, size_t length) override {
    oversized.push_back({std::string(prefix), length});
  }

  struct Oversized {
    std::string prefix;
    size_t length;
  };
  std::vector<std::string> lines;
  std::vector<Oversized> oversized;
};

}  // namespace bto::testing

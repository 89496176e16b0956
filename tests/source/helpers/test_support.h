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
#include "support/temp_dir.h"

namespace bto::testing {

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

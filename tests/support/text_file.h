#pragma once
// Whole-file reads and writes, and counting a needle, for tests that check
// what a process wrote (logs, console output, spooled files).

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>

namespace bto::testing {

// "" when the file cannot be read.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Non-overlapping occurrences of a non-empty `needle`.
inline size_t count_of(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

}  // namespace bto::testing

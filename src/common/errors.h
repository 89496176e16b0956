#pragma once
// Fatal start-up errors (bad configuration, missing bpftrace, ...). Thrown
// only before the pipeline runs; caught in main, printed, non-zero exit.
// The hot path never throws: it returns status values and counts failures.

#include <stdexcept>
#include <string>

namespace bto {

class StartupError : public std::runtime_error {
 public:
  explicit StartupError(const std::string& message, int exit_code = 2)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace bto

#pragma once

#include "config/app_options.h"

namespace bto {

// Runs until the input ends (replay) or the target/bpftrace ends or a stop
// signal arrives; then flushes and prints the summary. Returns the exit code.
int run(const AppOptions& options);

}  // namespace bto

#pragma once
// SIGINT/SIGTERM arrive on a file descriptor (signalfd) so the reader loop can
// poll them together with its input. Must be created before any thread starts,
// so every thread inherits the blocked mask.

namespace bto {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  int fd() const noexcept { return fd_; }
  // Reads a pending signal; returns its number or 0.
  int take() noexcept;

 private:
  int fd_ = -1;
};

}  // namespace bto

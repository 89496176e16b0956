// The event burst of the lost-events test (tests/e2e/versions_e2e_test.cpp):
// N getppid(2) calls as fast as possible, each one event of the test's
// tracepoint script, which filters on this process' name ("bto-burst").
// It runs on the highest-numbered CPU it may use: bpftrace 0.24+ forget the
// losses of the last CPU (docs/compatibility.md), so the test sees them.
//
// After the burst it prints "burst done" (the test then lets bpftrace read
// again), waits a second and makes TRAIL more calls, 10 ms apart, from the
// same CPU: with perf buffers (bpftrace 0.17) the kernel reports the last
// losses of a burst only with the next event written on that CPU.
//
//   e2e-burst-gen N [TRAIL]     prints "burst done", then the counts and the CPU

#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: e2e-burst-gen N [TRAIL]\n");
    return 2;
  }
  const long count = std::atol(argv[1]);
  const long trail = argc == 3 ? std::atol(argv[2]) : 0;
  ::prctl(PR_SET_NAME, "bto-burst");
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  int cpu = -1;
  if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    for (int c = CPU_SETSIZE - 1; c >= 0 && cpu < 0; --c) {
      if (CPU_ISSET(c, &allowed)) cpu = c;
    }
  }
  if (cpu >= 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ::sched_setaffinity(0, sizeof one, &one);
  }
  for (long i = 0; i < count; ++i) ::syscall(SYS_getppid);
  std::printf("burst done\n");
  std::fflush(stdout);
  if (trail > 0) ::usleep(1'000'000);
  for (long i = 0; i < trail; ++i) {
    ::syscall(SYS_getppid);
    ::usleep(10'000);
  }
  std::printf("%ld + %ld events on cpu %d\n", count, trail, cpu);
  return 0;
}

// The event burst of the lost-events test (tests/e2e/versions_e2e_test.cpp):
// N getppid(2) calls as fast as possible, each one event of the test's
// tracepoint script, which filters on this process' name ("bto-burst").
// It runs on the highest-numbered CPU it may use: bpftrace 0.24+ forget the
// losses of the last CPU (docs/compatibility.md), so the test sees them.
//
//   e2e-burst-gen N     prints N and the CPU on stdout when done

#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: e2e-burst-gen N\n");
    return 2;
  }
  const long count = std::atol(argv[1]);
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
  std::printf("%ld events on cpu %d\n", count, cpu);
  return 0;
}

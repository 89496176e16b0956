// LD_PRELOAD allocation counter: counts malloc/calloc/realloc/memalign calls in
// the whole process and in the main thread (bpftrace-otel's reader thread) and
// writes them to $BTO_MALLOC_COUNT_FILE (or stderr) at exit. Forwards to
// glibc's __libc_* entry points, so no dlsym bootstrap problem.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static atomic_ulong g_total;
static unsigned long g_main;  // only the main thread writes it
static pid_t g_pid;
static __thread int t_is_main = -1;

static inline void count(void) {
  atomic_fetch_add_explicit(&g_total, 1, memory_order_relaxed);
  if (t_is_main < 0) {
    // Before our constructor ran (other libraries' constructors allocate), only
    // the main thread exists: count it there, decide for good later.
    if (g_pid == 0) {
      ++g_main;
      return;
    }
    t_is_main = (pid_t)syscall(SYS_gettid) == g_pid;
  }
  if (t_is_main) ++g_main;
}

void* malloc(size_t n) { count(); return __libc_malloc(n); }
void* calloc(size_t a, size_t b) { count(); return __libc_calloc(a, b); }
void* realloc(void* p, size_t n) { count(); return __libc_realloc(p, n); }
void free(void* p) { __libc_free(p); }
void* memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void* aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n) {
  count();
  void* p = __libc_memalign(a, n);
  if (p == NULL) return 12;
  *out = p;
  return 0;
}

__attribute__((constructor)) static void start(void) { g_pid = getpid(); }

__attribute__((destructor)) static void report(void) {
  if (getpid() != g_pid) return;  // a forked child
  char line[160];
  const int len = snprintf(line, sizeof line, "malloc_counter: total=%lu main_thread=%lu\n",
                           atomic_load(&g_total), g_main);
  const char* path = getenv("BTO_MALLOC_COUNT_FILE");
  int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;
  if (fd < 0) fd = 2;
  if (write(fd, line, (size_t)len) < 0) {
  }
  if (fd != 2) close(fd);
}

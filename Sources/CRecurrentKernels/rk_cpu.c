// CPU feature detection, ISA selection and the thread-count setting.
//
// The detected ISA and the thread count are process-global, read with atomics. The ISA forced
// with rk_force_isa applies to the calling thread only: the kernels a thread calls (GEMM, which
// hands its choice to its pool workers, vector math, cell kernels) read rk_active_isa() on that
// thread. So a test that forces the portable path does not change the results of tests running
// at the same time on other threads (Swift Testing runs suites in parallel; bit-for-bit
// comparisons such as checkpoint resumption broke when one suite's global override leaked into
// another's run). Threads that never force an ISA use the best one. A GEMM reads the ISA and the
// thread count once at its start, so changing them concurrently never mixes kernels in a call.
#include "rk_cpu.h"

#include <stdatomic.h>
#include <unistd.h>

/// -1: not detected yet; otherwise an rk_isa value.
static atomic_int rk_best_isa_cache = -1;
/// -1: not forced on this thread (use the best); otherwise the forced rk_isa value.
static _Thread_local int rk_forced_isa = -1;
/// 0: not initialised yet (default computed lazily); otherwise >= 1.
static atomic_int rk_thread_count = 0;

static rk_isa rk_detect_isa(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks (via xgetbv) that the OS saves the ymm state.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RK_ISA_AVX2_FMA;
#endif
  return RK_ISA_PORTABLE;
}

rk_isa rk_cpu_best_isa(void) {
  int isa = atomic_load_explicit(&rk_best_isa_cache, memory_order_relaxed);
  if (isa < 0) {
    // Idempotent: racing first callers compute the same value.
    isa = (int)rk_detect_isa();
    atomic_store_explicit(&rk_best_isa_cache, isa, memory_order_relaxed);
  }
  return (rk_isa)isa;
}

rk_isa rk_active_isa(void) {
  return rk_forced_isa >= 0 ? (rk_isa)rk_forced_isa : rk_cpu_best_isa();
}

void rk_force_isa(rk_isa isa) {
  rk_isa best = rk_cpu_best_isa();
  if ((int)isa >= (int)best)
    rk_forced_isa = -1;  // back to the best
  else
    rk_forced_isa = (int)isa < 0 ? 0 : (int)isa;
}

static int rk_default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > 8) n = 8;
  return (int)n;
}

int rk_get_num_threads(void) {
  int n = atomic_load_explicit(&rk_thread_count, memory_order_relaxed);
  if (n == 0) {
    int expected = 0;
    n = rk_default_threads();
    // Keep a value set concurrently by rk_set_num_threads.
    if (!atomic_compare_exchange_strong(&rk_thread_count, &expected, n)) n = expected;
  }
  return n;
}

void rk_set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n > 64) n = 64;  // the pool's hard limit (RK_POOL_MAX_THREADS)
  atomic_store_explicit(&rk_thread_count, n, memory_order_relaxed);
}

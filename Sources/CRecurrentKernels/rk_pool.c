// The persistent worker pool and per-thread scratch buffers.
//
// One process-wide pool. A parallel region is claimed with an atomic flag; a caller that finds
// the pool busy (another thread's GEMM is running on it) runs its region single-threaded inline,
// so there is no queueing, no nesting and no deadlock. Workers are created lazily, on the first
// region that needs them, and live for the rest of the process.
//
// Hand-off: the claimer writes the job (fn, ctx, n), sets `remaining` to the number of workers,
// then bumps `generation` (release) under the mutex and broadcasts. Each worker waits for the
// generation to change (spinning up to RK_POOL_SPIN_NS, then sleeping on `wake`), runs its share
// if its tid < n, and decrements `remaining`; the one that reaches 0 signals `done`. The claimer
// runs share 0 itself, then waits for `remaining == 0` (spin, then `done`). Every worker, needed or
// not, acknowledges each generation, so the job fields are never rewritten while a worker may
// still read them, and no generation can be missed.
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE) && !defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L  // clock_gettime under strict -std=c11
#endif

#include "rk_internal_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define RK_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define RK_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define RK_CPU_RELAX() ((void)0)
#endif

/// How long an idle worker (or a waiting claimer) spins before sleeping. Long enough to bridge
/// the gap between consecutive GEMMs of a recurrent step loop (the fused cell kernel runs in
/// between), short enough not to steal a core from other work for long.
#define RK_POOL_SPIN_NS 200000LL

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t wake;  // workers sleep here waiting for a new generation
  pthread_cond_t done;  // the claimer sleeps here waiting for remaining == 0
  atomic_uint generation;
  atomic_int remaining;
  atomic_flag busy;
  // The current job; written only by the claimer while every worker is idle.
  rk_task_fn fn;
  void *ctx;
  int n;
  int workers;  // created so far; only the claimer changes it
} rk_pool = {
    .mutex = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .busy = ATOMIC_FLAG_INIT,
};

static int64_t rk_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct {
  int tid;
  unsigned seen;  // the generation this worker last handled
} rk_worker_arg;

static void *rk_worker_main(void *p) {
  rk_worker_arg arg = *(rk_worker_arg *)p;
  free(p);
  for (;;) {
    unsigned gen = atomic_load_explicit(&rk_pool.generation, memory_order_acquire);
    if (gen == arg.seen) {
      int64_t deadline = rk_now_ns() + RK_POOL_SPIN_NS;
      for (int spins = 0;; spins++) {
        RK_CPU_RELAX();
        gen = atomic_load_explicit(&rk_pool.generation, memory_order_acquire);
        if (gen != arg.seen) break;
        if ((spins & 63) == 63 && rk_now_ns() > deadline) break;
      }
      if (gen == arg.seen) {
        pthread_mutex_lock(&rk_pool.mutex);
        while ((gen = atomic_load_explicit(&rk_pool.generation, memory_order_acquire)) == arg.seen)
          pthread_cond_wait(&rk_pool.wake, &rk_pool.mutex);
        pthread_mutex_unlock(&rk_pool.mutex);
      }
    }
    arg.seen = gen;
    rk_task_fn fn = rk_pool.fn;
    void *ctx = rk_pool.ctx;
    int n = rk_pool.n;
    if (arg.tid < n) fn(ctx, arg.tid, n);
    if (atomic_fetch_sub_explicit(&rk_pool.remaining, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&rk_pool.mutex);
      pthread_cond_broadcast(&rk_pool.done);
      pthread_mutex_unlock(&rk_pool.mutex);
    }
  }
  return NULL;
}

/// Creates workers until there are `want` (called only by the claimer). Returns the count.
static int rk_pool_grow(int want) {
  while (rk_pool.workers < want) {
    rk_worker_arg *arg = malloc(sizeof *arg);
    if (!arg) break;
    arg->tid = rk_pool.workers + 1;
    arg->seen = atomic_load_explicit(&rk_pool.generation, memory_order_relaxed);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 1 << 20);  // kernels use little stack
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, rk_worker_main, arg);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      free(arg);
      break;
    }
    rk_pool.workers++;
  }
  return rk_pool.workers;
}

int rk_pool_run(rk_task_fn fn, void *ctx, int nthreads) {
  if (nthreads > RK_POOL_MAX_THREADS) nthreads = RK_POOL_MAX_THREADS;
  if (nthreads <= 1 || atomic_flag_test_and_set_explicit(&rk_pool.busy, memory_order_acquire)) {
    fn(ctx, 0, 1);
    return 1;
  }
  int workers = rk_pool_grow(nthreads - 1);
  if (workers + 1 < nthreads) {  // could not create enough threads: all or nothing
    atomic_flag_clear_explicit(&rk_pool.busy, memory_order_release);
    fn(ctx, 0, 1);
    return 1;
  }
  rk_pool.fn = fn;
  rk_pool.ctx = ctx;
  rk_pool.n = nthreads;
  atomic_store_explicit(&rk_pool.remaining, workers, memory_order_relaxed);
  pthread_mutex_lock(&rk_pool.mutex);
  atomic_fetch_add_explicit(&rk_pool.generation, 1, memory_order_release);
  pthread_cond_broadcast(&rk_pool.wake);
  pthread_mutex_unlock(&rk_pool.mutex);

  fn(ctx, 0, nthreads);

  if (atomic_load_explicit(&rk_pool.remaining, memory_order_acquire) != 0) {
    int64_t deadline = rk_now_ns() + RK_POOL_SPIN_NS;
    for (int spins = 0; atomic_load_explicit(&rk_pool.remaining, memory_order_acquire) != 0; spins++) {
      RK_CPU_RELAX();
      if ((spins & 63) == 63 && rk_now_ns() > deadline) {
        pthread_mutex_lock(&rk_pool.mutex);
        while (atomic_load_explicit(&rk_pool.remaining, memory_order_acquire) != 0)
          pthread_cond_wait(&rk_pool.done, &rk_pool.mutex);
        pthread_mutex_unlock(&rk_pool.mutex);
        break;
      }
    }
  }
  atomic_flag_clear_explicit(&rk_pool.busy, memory_order_release);
  return nthreads;
}

// ---- Barrier ----

void rk_barrier_init(rk_barrier *b, int n) {
  atomic_init(&b->count, 0);
  atomic_init(&b->generation, 0);
  b->n = n;
}

void rk_barrier_wait(rk_barrier *b) {
  unsigned gen = atomic_load_explicit(&b->generation, memory_order_acquire);
  if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->n - 1) {
    atomic_store_explicit(&b->count, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->generation, 1, memory_order_release);
    return;
  }
  for (int spins = 0; atomic_load_explicit(&b->generation, memory_order_acquire) == gen; spins++) {
    if (spins < 4096)
      RK_CPU_RELAX();
    else
      sched_yield();
  }
}

// ---- Per-thread scratch ----

#define RK_SCRATCH_SLOTS 4

typedef struct {
  void *raw[RK_SCRATCH_SLOTS];      // from malloc
  void *aligned[RK_SCRATCH_SLOTS];  // raw rounded up to 64 bytes
  size_t size[RK_SCRATCH_SLOTS];    // usable bytes at aligned
} rk_scratch_set;

static pthread_key_t rk_scratch_key;
static pthread_once_t rk_scratch_once = PTHREAD_ONCE_INIT;

static void rk_scratch_free(void *p) {
  rk_scratch_set *set = p;
  for (int i = 0; i < RK_SCRATCH_SLOTS; i++) free(set->raw[i]);
  free(set);
}

static void rk_scratch_make_key(void) { pthread_key_create(&rk_scratch_key, rk_scratch_free); }

void *rk_scratch(int slot, size_t bytes) {
  pthread_once(&rk_scratch_once, rk_scratch_make_key);
  rk_scratch_set *set = pthread_getspecific(rk_scratch_key);
  if (!set) {
    set = calloc(1, sizeof *set);
    if (!set) return NULL;
    if (pthread_setspecific(rk_scratch_key, set) != 0) {
      free(set);
      return NULL;
    }
  }
  if (set->size[slot] < bytes) {
    free(set->raw[slot]);
    set->raw[slot] = set->aligned[slot] = NULL;
    set->size[slot] = 0;
    void *raw = malloc(bytes + 64);
    if (!raw) return NULL;
    set->raw[slot] = raw;
    set->aligned[slot] = (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    set->size[slot] = bytes;
  }
  return set->aligned[slot];
}

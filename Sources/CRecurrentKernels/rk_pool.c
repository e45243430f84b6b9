// The persistent worker pool and per-thread scratch buffers.
//
// One process-wide pool. A parallel region is claimed with an atomic flag; a caller that finds
// the pool busy (another thread's GEMM is running on it) runs its region single-threaded inline,
// so there is no queueing, no nesting and no deadlock. Workers are created lazily, on the first
// region that needs them, and live for the rest of the process.
//
// Teams form dynamically, so an oversubscribed machine degrades to "the caller does it all"
// instead of "the caller waits for a worker the OS has not scheduled":
//   1. the claimer writes the job (fn, ctx, how many workers it wants) and publishes a new
//      generation in `team` (generation << 32 | closed bit | joined count), waking sleepers;
//   2. each worker that sees the new generation while the team is open and not full joins it
//      with a CAS on `team`, which gives it its member index;
//   3. the claimer waits until the team is full or `join_wait_ns` has passed, then closes the
//      team (sets the closed bit); the count at that moment is final: n = joined + 1;
//   4. every member runs fn(ctx, tid, n); workers count themselves in `finished`, and the
//      claimer (member 0) returns once all n - 1 have.
// A worker that arrives after the close (or for a full team) skips the region without touching
// the job. Job fields are read only by members, after a successful join, and are rewritten only
// by the next claimer, after every member has finished, so those reads never race. Idle workers
// spin for RK_POOL_SPIN_NS, then sleep on a condition variable.
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

#define RK_TEAM_GEN(t) ((uint32_t)((t) >> 32))
#define RK_TEAM_CLOSED ((uint64_t)1 << 31)
#define RK_TEAM_COUNT(t) ((int)((t) & 0x7fffffff))

static struct {
  pthread_mutex_t mutex;
  pthread_cond_t wake;  // idle workers sleep here waiting for a new generation
  pthread_cond_t done;  // the claimer sleeps here waiting for its members to finish
  _Atomic uint64_t team;
  _Atomic int finished;
  _Atomic int max_workers;  // workers the current region wants
  atomic_flag busy;
  _Atomic int barrier_count;
  _Atomic unsigned barrier_generation;
  // The current job; written only by the claimer before publishing, read only by members.
  rk_task_fn fn;
  void *ctx;
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

/// Waits (spin, then sleep) until the team generation differs from `seen`; returns the word.
static uint64_t rk_wait_new_generation(uint32_t seen) {
  uint64_t t = atomic_load_explicit(&rk_pool.team, memory_order_acquire);
  if (RK_TEAM_GEN(t) != seen) return t;
  int64_t deadline = rk_now_ns() + RK_POOL_SPIN_NS;
  for (int spins = 0;; spins++) {
    RK_CPU_RELAX();
    t = atomic_load_explicit(&rk_pool.team, memory_order_acquire);
    if (RK_TEAM_GEN(t) != seen) return t;
    if ((spins & 63) == 63 && rk_now_ns() > deadline) break;
  }
  pthread_mutex_lock(&rk_pool.mutex);
  while (RK_TEAM_GEN(t = atomic_load_explicit(&rk_pool.team, memory_order_acquire)) == seen)
    pthread_cond_wait(&rk_pool.wake, &rk_pool.mutex);
  pthread_mutex_unlock(&rk_pool.mutex);
  return t;
}

static void *rk_worker_main(void *p) {
  uint32_t seen = *(uint32_t *)p;
  free(p);
  for (;;) {
    uint64_t t = rk_wait_new_generation(seen);
    seen = RK_TEAM_GEN(t);
    // Join the team of generation `seen` if it is still open and not full.
    int tid = 0;
    while (RK_TEAM_GEN(t) == seen && !(t & RK_TEAM_CLOSED)) {
      if (RK_TEAM_COUNT(t) >= atomic_load_explicit(&rk_pool.max_workers, memory_order_relaxed))
        break;
      if (atomic_compare_exchange_weak_explicit(&rk_pool.team, &t, t + 1, memory_order_acq_rel,
                                                memory_order_acquire)) {
        tid = RK_TEAM_COUNT(t) + 1;
        break;
      }
    }
    if (tid == 0) continue;  // too late or not needed: skip this region
    // The claimer closes the team within its join wait; then the count is final.
    for (int spins = 0; !((t = atomic_load_explicit(&rk_pool.team, memory_order_acquire)) &
                          RK_TEAM_CLOSED);
         spins++) {
      if (spins < 4096)
        RK_CPU_RELAX();
      else
        sched_yield();
    }
    const int n = RK_TEAM_COUNT(t) + 1;
    rk_pool.fn(rk_pool.ctx, tid, n);
    if (atomic_fetch_add_explicit(&rk_pool.finished, 1, memory_order_acq_rel) + 1 == n - 1) {
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
    uint32_t *seen = malloc(sizeof *seen);
    if (!seen) break;
    *seen = RK_TEAM_GEN(atomic_load_explicit(&rk_pool.team, memory_order_relaxed));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 1 << 20);  // kernels use little stack
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, rk_worker_main, seen);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      free(seen);
      break;
    }
    rk_pool.workers++;
  }
  return rk_pool.workers;
}

int rk_pool_run(rk_task_fn fn, void *ctx, int nthreads, long join_wait_ns) {
  if (nthreads > RK_POOL_MAX_THREADS) nthreads = RK_POOL_MAX_THREADS;
  if (nthreads <= 1 || atomic_flag_test_and_set_explicit(&rk_pool.busy, memory_order_acquire)) {
    fn(ctx, 0, 1);
    return 1;
  }
  int want = rk_pool_grow(nthreads - 1);
  if (want > nthreads - 1) want = nthreads - 1;
  if (want < 1) {
    atomic_flag_clear_explicit(&rk_pool.busy, memory_order_release);
    fn(ctx, 0, 1);
    return 1;
  }
  // 1. Publish.
  rk_pool.fn = fn;
  rk_pool.ctx = ctx;
  atomic_store_explicit(&rk_pool.max_workers, want, memory_order_relaxed);
  atomic_store_explicit(&rk_pool.finished, 0, memory_order_relaxed);
  atomic_store_explicit(&rk_pool.barrier_count, 0, memory_order_relaxed);
  const uint32_t gen =
      RK_TEAM_GEN(atomic_load_explicit(&rk_pool.team, memory_order_relaxed)) + 1;
  pthread_mutex_lock(&rk_pool.mutex);
  atomic_store_explicit(&rk_pool.team, (uint64_t)gen << 32, memory_order_release);
  pthread_cond_broadcast(&rk_pool.wake);
  pthread_mutex_unlock(&rk_pool.mutex);

  // 3. Wait for the team to fill, at most join_wait_ns, then close it.
  uint64_t t = atomic_load_explicit(&rk_pool.team, memory_order_acquire);
  if (RK_TEAM_COUNT(t) < want && join_wait_ns > 0) {
    const int64_t deadline = rk_now_ns() + join_wait_ns;
    for (int spins = 0; RK_TEAM_COUNT(atomic_load_explicit(&rk_pool.team, memory_order_acquire)) < want;
         spins++) {
      RK_CPU_RELAX();
      if ((spins & 15) == 15 && rk_now_ns() > deadline) break;
    }
  }
  t = atomic_load_explicit(&rk_pool.team, memory_order_acquire);
  while (!atomic_compare_exchange_weak_explicit(&rk_pool.team, &t, t | RK_TEAM_CLOSED,
                                                memory_order_acq_rel, memory_order_acquire)) {
  }
  const int n = RK_TEAM_COUNT(t) + 1;

  // 4. Run share 0, then wait for the members.
  fn(ctx, 0, n);
  if (n > 1 && atomic_load_explicit(&rk_pool.finished, memory_order_acquire) != n - 1) {
    const int64_t deadline = rk_now_ns() + RK_POOL_SPIN_NS;
    for (int spins = 0; atomic_load_explicit(&rk_pool.finished, memory_order_acquire) != n - 1;
         spins++) {
      RK_CPU_RELAX();
      if ((spins & 63) == 63 && rk_now_ns() > deadline) {
        pthread_mutex_lock(&rk_pool.mutex);
        while (atomic_load_explicit(&rk_pool.finished, memory_order_acquire) != n - 1)
          pthread_cond_wait(&rk_pool.done, &rk_pool.mutex);
        pthread_mutex_unlock(&rk_pool.mutex);
        break;
      }
    }
  }
  atomic_flag_clear_explicit(&rk_pool.busy, memory_order_release);
  return n;
}

void rk_pool_barrier(int nthreads) {
  if (nthreads <= 1) return;
  unsigned gen = atomic_load_explicit(&rk_pool.barrier_generation, memory_order_acquire);
  if (atomic_fetch_add_explicit(&rk_pool.barrier_count, 1, memory_order_acq_rel) == nthreads - 1) {
    atomic_store_explicit(&rk_pool.barrier_count, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&rk_pool.barrier_generation, 1, memory_order_release);
    return;
  }
  for (int spins = 0;
       atomic_load_explicit(&rk_pool.barrier_generation, memory_order_acquire) == gen; spins++) {
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

// Private: the persistent worker pool and per-thread scratch buffers (rk_pool.c).
#ifndef RK_INTERNAL_POOL_H
#define RK_INTERNAL_POOL_H

#include <stddef.h>

/// Most threads one parallel region may use (the caller plus RK_POOL_MAX_THREADS - 1 workers).
#define RK_POOL_MAX_THREADS 64

/// A task body: thread `tid` of `nthreads` (0 = the calling thread) does its share of `ctx`.
typedef void (*rk_task_fn)(void *ctx, int tid, int nthreads);

/// Runs fn(ctx, t, n) for t in 0..<n, t = 0 on the calling thread, and returns when all are done.
/// Workers are created lazily once and then reused (they spin briefly, then sleep on a condition
/// variable). If the pool is busy with another caller's region (or n <= 1), runs fn(ctx, 0, 1)
/// inline instead, so concurrent callers never wait on each other; likewise if the workers
/// cannot be created. Returns the n actually used: `nthreads` or 1, never anything between.
int rk_pool_run(rk_task_fn fn, void *ctx, int nthreads);

/// A spinning barrier for the threads of one parallel region (all of them must call it the same
/// number of times). Spins, then yields the CPU, so it stays correct and tolerable when threads
/// are descheduled. Initialise with rk_barrier_init(&b, n) before the region starts.
typedef struct {
  _Atomic int count;
  _Atomic unsigned generation;
  int n;
} rk_barrier;

void rk_barrier_init(rk_barrier *b, int n);
void rk_barrier_wait(rk_barrier *b);

/// A 64-byte aligned scratch buffer of at least `bytes` bytes owned by the calling thread
/// (slot 0..3). Grown on demand, kept for reuse, freed at thread exit. NULL if out of memory.
void *rk_scratch(int slot, size_t bytes);

#endif

// Private: the persistent worker pool and per-thread scratch buffers (rk_pool.c).
#ifndef RK_INTERNAL_POOL_H
#define RK_INTERNAL_POOL_H

#include <stddef.h>

/// Most threads one parallel region may use (the caller plus RK_POOL_MAX_THREADS - 1 workers).
#define RK_POOL_MAX_THREADS 64

/// A task body: member `tid` of a team of `nthreads` (0 = the calling thread) does its share of
/// `ctx`. The team size is only known when the body runs, so it must partition by `nthreads`.
typedef void (*rk_task_fn)(void *ctx, int tid, int nthreads);

/// Runs fn(ctx, t, n) for t in 0..<n, t = 0 on the calling thread, and returns when all are done.
/// 1 <= n <= nthreads: n - 1 pool workers join the region, namely those that arrive within
/// `join_wait_ns` of the call (idle workers spin for a while before sleeping, so hot ones join
/// within a microsecond); a worker that arrives later skips the region, so a descheduled worker
/// never delays the caller by more than `join_wait_ns`. Workers are created lazily once and then
/// reused. If the pool is busy with another caller's region (or nthreads <= 1), runs fn(ctx, 0, 1)
/// inline instead, so concurrent callers never wait on each other. Returns n.
int rk_pool_run(rk_task_fn fn, void *ctx, int nthreads, long join_wait_ns);

/// A barrier among the `nthreads` members of the current region; call only from inside the task
/// body with the `nthreads` it was given (a no-op when it is 1). Spins, then yields the CPU.
void rk_pool_barrier(int nthreads);

/// A 64-byte aligned scratch buffer of at least `bytes` bytes owned by the calling thread
/// (slot 0..3). Grown on demand, kept for reuse, freed at thread exit. NULL if out of memory.
void *rk_scratch(int slot, size_t bytes);

#endif

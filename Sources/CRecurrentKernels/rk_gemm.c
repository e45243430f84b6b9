// rk_sgemm / rk_dgemm: packed, cache-blocked, multi-threaded GEMM (row-major BLAS semantics,
// see include/rk_gemm.h). The driver (blocking, packing calls, thread split) is written once in
// rk_internal_gemm_driver.h and instantiated here for float and double; the micro-kernels and
// packing routines come from a kernel set chosen per call by the active ISA:
//   rk_gemm_avx2.c     AVX2+FMA (sgemm 6x16, dgemm 6x8), x86-64 only
//   rk_gemm_portable.c plain C (sgemm 4x8, dgemm 4x4), any architecture
// Threads come from the persistent pool in rk_pool.c. rk_sgemm_prepacked (op(B) packed once,
// reused across calls) is in rk_internal_gemm_prepacked.h.
#include "rk_gemm.h"

#include <stddef.h>

#include "rk_cpu.h"
#include "rk_internal_gemm.h"
#include "rk_internal_pool.h"

static const rk_skernels *rk_skernels_for(rk_isa isa) {
#if defined(__x86_64__)
  if (isa == RK_ISA_AVX2_FMA) return &rk_skernels_avx2;
#endif
  (void)isa;
  return &rk_skernels_portable;
}

static const rk_dkernels *rk_dkernels_for(rk_isa isa) {
#if defined(__x86_64__)
  if (isa == RK_ISA_AVX2_FMA) return &rk_dkernels_avx2;
#endif
  (void)isa;
  return &rk_dkernels_portable;
}

/// Each thread should get at least this many multiply-adds.
#define RK_GEMM_MT_PER_THREAD 65536L
/// Longest the caller waits for workers to join a GEMM (see rk_pool_run).
#define RK_GEMM_MAX_JOIN_WAIT_NS 1000000L
/// Each thread needs at least this many rows of C to use the shared-B (M split) mode.
#define RK_GEMM_SHARED_MIN_ROWS 48L
/// Below this many multiply-adds the plain loops beat packing.
#define RK_GEMM_SMALL_MAX 512L

#define RK_T float
#define RK_KSET rk_skernels
#define RK_FN(x) rk_s##x
#define RK_PUBLIC_NAME rk_sgemm
#include "rk_internal_gemm_driver.h"
#include "rk_internal_gemm_prepacked.h"

// The pieces of rk_sgemm that fused loops (rk_seq_rows.c, rk_seq_units.c) reuse; see rk_internal_gemm.h.
const rk_skernels *rk_sgemm_kernels(void) { return rk_skernels_for(rk_active_isa()); }

int rk_sgemm_is_blocked(long M, long N, long K) {
  return M > 1 && N > 1 && K > 0 && M * N * K > RK_GEMM_SMALL_MAX;
}

long rk_sgemm_kc(const rk_skernels *ks, long K) { return rk_skc_block(ks, K); }

long rk_sgemm_mc(const rk_skernels *ks, long M) { return rk_sbalanced_block(M, ks->mc, ks->mr); }

void rk_sgemm_macro(const rk_skernels *ks, long mc, long nc, long kc, const float *Ap,
                    const float *Bp, float *C, long ldc, float alpha, float beta) {
  rk_smacro_kernel(ks, mc, nc, kc, Ap, Bp, C, ldc, alpha, beta);
}
#undef RK_T
#undef RK_KSET
#undef RK_FN
#undef RK_PUBLIC_NAME

#define RK_T double
#define RK_KSET rk_dkernels
#define RK_FN(x) rk_d##x
#define RK_PUBLIC_NAME rk_dgemm
#include "rk_internal_gemm_driver.h"

// Portable GEMM kernel sets: plain C micro-kernels that compile on any architecture (the compiler
// auto-vectorises them with the baseline SIMD: SSE2 on x86-64, NEON on aarch64).
// Float 4x8 and double 4x4 tiles keep the accumulators within 16 128-bit registers; the kernel
// is written for MR = 4.
#include "rk_internal_gemm.h"
#include "rk_internal_gemm_pack.h"

// One accumulator row per A row with the j loop innermost over the contiguous B row: the shape
// the loop vectoriser maps to broadcast-multiply-add (a 2-D accumulator array instead made clang
// keep the tile in memory and run at ~4 GFLOP/s).
#define RK_DEFINE_PORTABLE(T, SUFFIX, MR, NR)                                                     \
  static void rk_kernel_portable_##SUFFIX(long kc, const T *a, const T *b, T *c, long ldc,        \
                                          T alpha, T beta) {                                      \
    T c0[NR] = {0}, c1[NR] = {0}, c2[NR] = {0}, c3[NR] = {0};                                     \
    for (long p = 0; p < kc; p++, a += MR, b += NR) {                                             \
      const T a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];                                         \
      for (int j = 0; j < NR; j++) {                                                              \
        const T bj = b[j];                                                                        \
        c0[j] += a0 * bj;                                                                         \
        c1[j] += a1 * bj;                                                                         \
        c2[j] += a2 * bj;                                                                         \
        c3[j] += a3 * bj;                                                                         \
      }                                                                                           \
    }                                                                                             \
    const T *acc[MR] = {c0, c1, c2, c3};                                                          \
    for (int i = 0; i < MR; i++) {                                                                \
      T *ci = c + i * ldc;                                                                        \
      const T *r = acc[i];                                                                        \
      if (beta == 0)                                                                              \
        for (int j = 0; j < NR; j++) ci[j] = alpha * r[j];                                        \
      else if (beta == 1)                                                                         \
        for (int j = 0; j < NR; j++) ci[j] += alpha * r[j];                                       \
      else                                                                                        \
        for (int j = 0; j < NR; j++) ci[j] = alpha * r[j] + beta * ci[j];                         \
    }                                                                                             \
  }                                                                                               \
  static void rk_pack_a_portable_##SUFFIX(int transA, long mc, long kc, const T *A, long lda,     \
                                          T *out) {                                               \
    rk_pack_a_generic_##SUFFIX(transA, mc, kc, A, lda, out, MR);                                  \
  }                                                                                               \
  static void rk_pack_b_portable_##SUFFIX(int transB, long kc, long nc, const T *B, long ldb,     \
                                          T *out) {                                               \
    rk_pack_b_generic_##SUFFIX(transB, kc, nc, B, ldb, out, NR);                                  \
  }

RK_DEFINE_PORTABLE(float, s, 4, 8)
RK_DEFINE_PORTABLE(double, d, 4, 4)
RK_DEFINE_GEMV(float, rk_gemv_portable_s, )
RK_DEFINE_GEMV(double, rk_gemv_portable_d, )

const rk_skernels rk_skernels_portable = {
    .name = "portable 4x8",
    .mr = 4, .nr = 8, .mc = 128, .kc = 256, .nc = 2048,
    .kernel = rk_kernel_portable_s,
    .pack_a = rk_pack_a_portable_s,
    .pack_b = rk_pack_b_portable_s,
    .dots = rk_gemv_portable_s_dots,
    .axpys = rk_gemv_portable_s_axpys,
};

const rk_dkernels rk_dkernels_portable = {
    .name = "portable 4x4",
    .mr = 4, .nr = 4, .mc = 128, .kc = 256, .nc = 1024,
    .kernel = rk_kernel_portable_d,
    .pack_a = rk_pack_a_portable_d,
    .pack_b = rk_pack_b_portable_d,
    .dots = rk_gemv_portable_d_dots,
    .axpys = rk_gemv_portable_d_axpys,
};

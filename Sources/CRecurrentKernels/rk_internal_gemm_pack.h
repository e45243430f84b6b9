// Private: generic (any MR / NR) packing loops in plain C, used by the portable kernel sets and
// for the partial edge panels of the SIMD sets. See rk_internal_gemm.h for the layouts.
#ifndef RK_INTERNAL_GEMM_PACK_H
#define RK_INTERNAL_GEMM_PACK_H

#define RK_DEFINE_GENERIC_PACK(T, SUFFIX)                                                         \
  /* One A micro-panel: rows [0, m) of the block (m <= mr), zero rows up to mr. */               \
  static inline void rk_pack_a_panel_##SUFFIX(int transA, long m, long kc, const T *A, long lda, \
                                               T *out, int mr) {                                 \
    if (!transA) {                                                                               \
      for (long i = 0; i < m; i++) {                                                             \
        const T *row = A + i * lda;                                                              \
        for (long p = 0; p < kc; p++) out[p * mr + i] = row[p];                                  \
      }                                                                                          \
    } else {                                                                                     \
      for (long p = 0; p < kc; p++)                                                              \
        for (long i = 0; i < m; i++) out[p * mr + i] = A[p * lda + i];                           \
    }                                                                                            \
    if (m < mr)                                                                                  \
      for (long p = 0; p < kc; p++)                                                              \
        for (long i = m; i < mr; i++) out[p * mr + i] = 0;                                       \
  }                                                                                              \
  /* One B micro-panel: columns [0, n) of the block (n <= nr), zero columns up to nr. */         \
  static inline void rk_pack_b_panel_##SUFFIX(int transB, long n, long kc, const T *B, long ldb, \
                                               T *out, int nr) {                                 \
    if (!transB) {                                                                               \
      for (long p = 0; p < kc; p++)                                                              \
        for (long j = 0; j < n; j++) out[p * nr + j] = B[p * ldb + j];                           \
    } else {                                                                                     \
      for (long j = 0; j < n; j++) {                                                             \
        const T *col = B + j * ldb;                                                              \
        for (long p = 0; p < kc; p++) out[p * nr + j] = col[p];                                  \
      }                                                                                          \
    }                                                                                            \
    if (n < nr)                                                                                  \
      for (long p = 0; p < kc; p++)                                                              \
        for (long j = n; j < nr; j++) out[p * nr + j] = 0;                                       \
  }                                                                                              \
  static inline void rk_pack_a_generic_##SUFFIX(int transA, long mc, long kc, const T *A,        \
                                                 long lda, T *out, int mr) {                     \
    for (long i = 0; i < mc; i += mr, out += mr * kc) {                                          \
      long m = mc - i < mr ? mc - i : mr;                                                        \
      rk_pack_a_panel_##SUFFIX(transA, m, kc, transA ? A + i : A + i * lda, lda, out, mr);       \
    }                                                                                            \
  }                                                                                              \
  static inline void rk_pack_b_generic_##SUFFIX(int transB, long kc, long nc, const T *B,        \
                                                 long ldb, T *out, int nr) {                     \
    for (long j = 0; j < nc; j += nr, out += nr * kc) {                                          \
      long n = nc - j < nr ? nc - j : nr;                                                        \
      rk_pack_b_panel_##SUFFIX(transB, n, kc, transB ? B + j * ldb : B + j, ldb, out, nr);       \
    }                                                                                            \
  }

RK_DEFINE_GENERIC_PACK(float, s)
RK_DEFINE_GENERIC_PACK(double, d)

#endif

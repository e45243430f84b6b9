// Private: generic loops in plain C. The packing loops (any MR / NR) serve the portable kernel
// sets and the partial edge panels of the SIMD sets (layouts in rk_internal_gemm.h); the
// matrix-vector loops are instantiated per ISA (RK_DEFINE_GEMV), so the same C is vectorised
// with SSE2 / NEON in the portable set and with AVX2 + FMA under target("avx2,fma").
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

/// Defines NAME_dots and NAME_axpys (see rk_skernels) for element type T with function
/// attributes ATTR. Dots: four rows at a time, eight partial sums each, so the loop vectorises
/// without reassociating one long sum and has independent chains. Axpys: four rows of R per
/// pass over out.
#define RK_DEFINE_GEMV(T, NAME, ATTR)                                                            \
  ATTR static void NAME##_dots(long n, long K, const T *x, const T *R, long ldr, T *out) {       \
    long j = 0;                                                                                  \
    for (; j + 4 <= n; j += 4) {                                                                 \
      const T *r0 = R + j * ldr, *r1 = r0 + ldr, *r2 = r1 + ldr, *r3 = r2 + ldr;                \
      T s0[8] = {0}, s1[8] = {0}, s2[8] = {0}, s3[8] = {0};                                      \
      long p = 0;                                                                                \
      for (; p + 8 <= K; p += 8)                                                                 \
        for (int u = 0; u < 8; u++) {                                                            \
          const T xv = x[p + u];                                                                 \
          s0[u] += r0[p + u] * xv;                                                               \
          s1[u] += r1[p + u] * xv;                                                               \
          s2[u] += r2[p + u] * xv;                                                               \
          s3[u] += r3[p + u] * xv;                                                               \
        }                                                                                        \
      T t[4];                                                                                    \
      const T *ss[4] = {s0, s1, s2, s3};                                                         \
      for (int q = 0; q < 4; q++)                                                                \
        t[q] = ((ss[q][0] + ss[q][4]) + (ss[q][1] + ss[q][5])) +                                 \
               ((ss[q][2] + ss[q][6]) + (ss[q][3] + ss[q][7]));                                  \
      for (; p < K; p++) {                                                                       \
        t[0] += r0[p] * x[p];                                                                    \
        t[1] += r1[p] * x[p];                                                                    \
        t[2] += r2[p] * x[p];                                                                    \
        t[3] += r3[p] * x[p];                                                                    \
      }                                                                                          \
      for (int q = 0; q < 4; q++) out[j + q] = t[q];                                             \
    }                                                                                            \
    for (; j < n; j++) {                                                                         \
      const T *r = R + j * ldr;                                                                  \
      T s[8] = {0};                                                                              \
      long p = 0;                                                                                \
      for (; p + 8 <= K; p += 8)                                                                 \
        for (int u = 0; u < 8; u++) s[u] += r[p + u] * x[p + u];                                 \
      T t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));                   \
      for (; p < K; p++) t += r[p] * x[p];                                                       \
      out[j] = t;                                                                                \
    }                                                                                            \
  }                                                                                              \
  ATTR static void NAME##_axpys(long n, long K, const T *x, const T *R, long ldr, T *out) {      \
    for (long j = 0; j < n; j++) out[j] = 0;                                                     \
    long p = 0;                                                                                  \
    for (; p + 4 <= K; p += 4) {                                                                 \
      const T x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3];                            \
      const T *r0 = R + p * ldr, *r1 = r0 + ldr, *r2 = r1 + ldr, *r3 = r2 + ldr;                \
      for (long j = 0; j < n; j++) out[j] += (x0 * r0[j] + x1 * r1[j]) + (x2 * r2[j] + x3 * r3[j]); \
    }                                                                                            \
    for (; p < K; p++) {                                                                         \
      const T xp = x[p], *r = R + p * ldr;                                                       \
      for (long j = 0; j < n; j++) out[j] += xp * r[j];                                          \
    }                                                                                            \
  }

#endif

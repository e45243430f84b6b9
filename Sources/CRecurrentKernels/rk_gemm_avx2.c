// AVX2 + FMA GEMM kernel sets (x86-64 only; chosen at run time by cpuid, see rk_cpu.c).
//
// sgemm: 6x16 micro-tile = 12 ymm accumulators (6 rows x 2 vectors of 8), 2 ymm for the B row,
//        1 for the broadcast A element: 15 of 16 ymm registers, 12 FMAs per 8 loads.
// dgemm: 6x8 micro-tile, the same register shape with 4 doubles per vector.
// The transposing packs (A not transposed, B transposed: the operand whose K index is contiguous)
// use in-register 8x8 (float) / 4x4 (double) transposes, so op(X) = X^T costs no strided loops.
// Every function that uses AVX2 carries __attribute__((target("avx2,fma"))); the package is built
// without any -m flags, so nothing here runs unless rk_cpu_best_isa() found AVX2 and FMA.
#include "rk_internal_gemm.h"

#if defined(__x86_64__)

#include <immintrin.h>

#include "rk_internal_gemm_pack.h"

#define RK_AVX2 __attribute__((target("avx2,fma")))

// Blocking for Zen 3 (32 KiB L1d, 512 KiB L2 per core, shared L3), the values BLIS uses for
// zen3 (6x16 / 6x8 kernels); other nearby values measured the same within noise here:
//   KC: a B micro-panel (KC x NR: 16 KiB) stays in L1 while the A micro-panels stream by;
//   MC: the packed A block (MC x KC: 144 KiB float) stays in L2;
//   NC: the packed B block (KC x NC: 4 MiB float) stays in L3.
// Each can be overridden with -D for tuning runs.
#define RK_S_MR 6
#define RK_S_NR 16
#ifndef RK_S_MC
#define RK_S_MC 144
#endif
#ifndef RK_S_KC
#define RK_S_KC 256
#endif
#ifndef RK_S_NC
#define RK_S_NC 4080
#endif

#define RK_D_MR 6
#define RK_D_NR 8
#ifndef RK_D_MC
#define RK_D_MC 72
#endif
#ifndef RK_D_KC
#define RK_D_KC 256
#endif
#ifndef RK_D_NC
#define RK_D_NC 4080
#endif

// ---- float ----

// Transposes 8 ymm rows in place: afterwards r_q holds column q of the input.
#define RK_TRANSPOSE8_PS(r0, r1, r2, r3, r4, r5, r6, r7)                                      \
  do {                                                                                        \
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);                  \
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);                  \
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);                  \
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);                  \
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);        \
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);        \
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);        \
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);        \
    r0 = _mm256_permute2f128_ps(s0, s4, 0x20);                                                \
    r1 = _mm256_permute2f128_ps(s1, s5, 0x20);                                                \
    r2 = _mm256_permute2f128_ps(s2, s6, 0x20);                                                \
    r3 = _mm256_permute2f128_ps(s3, s7, 0x20);                                                \
    r4 = _mm256_permute2f128_ps(s0, s4, 0x31);                                                \
    r5 = _mm256_permute2f128_ps(s1, s5, 0x31);                                                \
    r6 = _mm256_permute2f128_ps(s2, s6, 0x31);                                                \
    r7 = _mm256_permute2f128_ps(s3, s7, 0x31);                                                \
  } while (0)

// C[6 x 16] = alpha * A[6 x kc] * B[kc x 16] + beta * C; a: kc x 6 packed, b: kc x 16 packed.
RK_AVX2 static void rk_kernel_avx2_s6x16(long kc, const float *a, const float *b, float *c,
                                         long ldc, float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int i = 0; i < 6; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
  }
#define RK_S_STEP(P)                                                                   \
  do {                                                                                 \
    __m256 b0 = _mm256_load_ps(b + (P) * 16), b1 = _mm256_load_ps(b + (P) * 16 + 8);  \
    __m256 av;                                                                         \
    av = _mm256_broadcast_ss(a + (P) * 6 + 0);                                         \
    c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);            \
    av = _mm256_broadcast_ss(a + (P) * 6 + 1);                                         \
    c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);            \
    av = _mm256_broadcast_ss(a + (P) * 6 + 2);                                         \
    c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);            \
    av = _mm256_broadcast_ss(a + (P) * 6 + 3);                                         \
    c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);            \
    av = _mm256_broadcast_ss(a + (P) * 6 + 4);                                         \
    c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);            \
    av = _mm256_broadcast_ss(a + (P) * 6 + 5);                                         \
    c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);            \
  } while (0)
  long p = 0;
  for (; p + 4 <= kc; p += 4) {
    _mm_prefetch((const char *)(b + 16 * 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(b + 16 * 16 + 32), _MM_HINT_T0);
    RK_S_STEP(0);
    RK_S_STEP(1);
    RK_S_STEP(2);
    RK_S_STEP(3);
    a += 24;
    b += 64;
  }
  for (; p < kc; p++) {
    RK_S_STEP(0);
    a += 6;
    b += 16;
  }
#undef RK_S_STEP
  __m256 va = _mm256_set1_ps(alpha);
#define RK_S_ROW(I, X0, X1)                                                                    \
  do {                                                                                         \
    float *ci = c + (I) * ldc;                                                                 \
    if (beta == 0) {                                                                           \
      _mm256_storeu_ps(ci, _mm256_mul_ps(va, X0));                                             \
      _mm256_storeu_ps(ci + 8, _mm256_mul_ps(va, X1));                                         \
    } else if (beta == 1) {                                                                    \
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, X0, _mm256_loadu_ps(ci)));                      \
      _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, X1, _mm256_loadu_ps(ci + 8)));              \
    } else {                                                                                   \
      __m256 vb = _mm256_set1_ps(beta);                                                        \
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, X0, _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));   \
      _mm256_storeu_ps(ci + 8,                                                                 \
                       _mm256_fmadd_ps(va, X1, _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));   \
    }                                                                                          \
  } while (0)
  RK_S_ROW(0, c00, c01);
  RK_S_ROW(1, c10, c11);
  RK_S_ROW(2, c20, c21);
  RK_S_ROW(3, c30, c31);
  RK_S_ROW(4, c40, c41);
  RK_S_ROW(5, c50, c51);
}

// C[4 x 16] = alpha * A[4 x kc] * B[kc x 16] + beta * C; a: kc x AS packed (the first 4 of AS
// rows per k), b: kc x 16 packed (the 6x16 kernel's B panels). 8 accumulators, 8 FMAs per 6
// loads. AS = 4: the kernel of the 4x16 set, for row counts that 6-row tiles would pad (B = 32
// pads to 36, 4-row tiles do not). AS = 6: the 6x16 set's kernel for an edge tile of 4 rows
// (B = 64 = 10 * 6 + 4), which would otherwise cost a whole 6-row tile and a merge. Each element
// of C is summed over k in the same order with the same FMAs as in the 6x16 kernel, so the bits
// are the same.
static inline __attribute__((always_inline, target("avx2,fma"))) void rk_kernel_avx2_s4x16_as(
    long kc, const float *a, const long AS, const float *b, float *c, long ldc, float alpha,
    float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  for (int i = 0; i < 4; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
  }
#define RK_S4_STEP(P)                                                                  \
  do {                                                                                 \
    __m256 b0 = _mm256_load_ps(b + (P) * 16), b1 = _mm256_load_ps(b + (P) * 16 + 8);  \
    __m256 av;                                                                         \
    av = _mm256_broadcast_ss(a + (P) * AS + 0);                                         \
    c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);            \
    av = _mm256_broadcast_ss(a + (P) * AS + 1);                                         \
    c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);            \
    av = _mm256_broadcast_ss(a + (P) * AS + 2);                                         \
    c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);            \
    av = _mm256_broadcast_ss(a + (P) * AS + 3);                                         \
    c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);            \
  } while (0)
  long p = 0;
  for (; p + 4 <= kc; p += 4) {
    _mm_prefetch((const char *)(b + 16 * 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(b + 16 * 16 + 32), _MM_HINT_T0);
    RK_S4_STEP(0);
    RK_S4_STEP(1);
    RK_S4_STEP(2);
    RK_S4_STEP(3);
    a += 4 * AS;
    b += 64;
  }
  for (; p < kc; p++) {
    RK_S4_STEP(0);
    a += AS;
    b += 16;
  }
#undef RK_S4_STEP
  __m256 va = _mm256_set1_ps(alpha);
  RK_S_ROW(0, c00, c01);
  RK_S_ROW(1, c10, c11);
  RK_S_ROW(2, c20, c21);
  RK_S_ROW(3, c30, c31);
}
#undef RK_S_ROW

RK_AVX2 static void rk_kernel_avx2_s4x16(long kc, const float *a, const float *b, float *c,
                                         long ldc, float alpha, float beta) {
  rk_kernel_avx2_s4x16_as(kc, a, 4, b, c, ldc, alpha, beta);
}

RK_AVX2 static void rk_kernel_avx2_s6x16_rows4(long kc, const float *a, const float *b, float *c,
                                               long ldc, float alpha, float beta) {
  rk_kernel_avx2_s4x16_as(kc, a, 6, b, c, ldc, alpha, beta);
}

// Packs op(A)[mc x kc] into 4-row micro-panels.
RK_AVX2 static void rk_pack_a_avx2_s4(int transA, long mc, long kc, const float *A, long lda,
                                      float *out) {
  long i = 0;
  for (; i + 4 <= mc; i += 4, out += 4 * kc) {
    if (!transA) {
      // Rows i..i+3 are contiguous in p: transpose 8 p at a time, keep 4 lanes of each column.
      const float *r = A + i * lda;
      long p = 0;
      for (; p + 8 <= kc; p += 8) {
        __m256 x0 = _mm256_loadu_ps(r + p), x1 = _mm256_loadu_ps(r + lda + p);
        __m256 x2 = _mm256_loadu_ps(r + 2 * lda + p), x3 = _mm256_loadu_ps(r + 3 * lda + p);
        __m256 x4 = _mm256_setzero_ps(), x5 = _mm256_setzero_ps();
        __m256 x6 = _mm256_setzero_ps(), x7 = _mm256_setzero_ps();
        RK_TRANSPOSE8_PS(x0, x1, x2, x3, x4, x5, x6, x7);
        float *o = out + p * 4;
        _mm_storeu_ps(o, _mm256_castps256_ps128(x0));
        _mm_storeu_ps(o + 4, _mm256_castps256_ps128(x1));
        _mm_storeu_ps(o + 8, _mm256_castps256_ps128(x2));
        _mm_storeu_ps(o + 12, _mm256_castps256_ps128(x3));
        _mm_storeu_ps(o + 16, _mm256_castps256_ps128(x4));
        _mm_storeu_ps(o + 20, _mm256_castps256_ps128(x5));
        _mm_storeu_ps(o + 24, _mm256_castps256_ps128(x6));
        _mm_storeu_ps(o + 28, _mm256_castps256_ps128(x7));
      }
      for (; p < kc; p++)
        for (int k = 0; k < 4; k++) out[p * 4 + k] = r[k * lda + p];
    } else {
      const float *s = A + i;
      for (long p = 0; p < kc; p++) _mm_storeu_ps(out + p * 4, _mm_loadu_ps(s + p * lda));
    }
  }
  if (i < mc) rk_pack_a_panel_s(transA, mc - i, kc, transA ? A + i : A + i * lda, lda, out, 4);
}

// Packs op(A)[mc x kc] into 6-row micro-panels.
RK_AVX2 static void rk_pack_a_avx2_s(int transA, long mc, long kc, const float *A, long lda,
                                     float *out) {
  long i = 0;
  for (; i + 6 <= mc; i += 6, out += 6 * kc) {
    if (!transA) {
      // Rows i..i+5 are contiguous in p: transpose 8 p at a time. Each 8-wide store writes 2
      // junk floats past its 6, overwritten by the next store (or within RK_PACK_SLACK).
      const float *r = A + i * lda;
      long p = 0;
      for (; p + 8 <= kc; p += 8) {
        __m256 x0 = _mm256_loadu_ps(r + p), x1 = _mm256_loadu_ps(r + lda + p);
        __m256 x2 = _mm256_loadu_ps(r + 2 * lda + p), x3 = _mm256_loadu_ps(r + 3 * lda + p);
        __m256 x4 = _mm256_loadu_ps(r + 4 * lda + p), x5 = _mm256_loadu_ps(r + 5 * lda + p);
        __m256 x6 = _mm256_setzero_ps(), x7 = _mm256_setzero_ps();
        RK_TRANSPOSE8_PS(x0, x1, x2, x3, x4, x5, x6, x7);
        float *o = out + p * 6;
        _mm256_storeu_ps(o, x0);
        _mm256_storeu_ps(o + 6, x1);
        _mm256_storeu_ps(o + 12, x2);
        _mm256_storeu_ps(o + 18, x3);
        _mm256_storeu_ps(o + 24, x4);
        _mm256_storeu_ps(o + 30, x5);
        _mm256_storeu_ps(o + 36, x6);
        _mm256_storeu_ps(o + 42, x7);
      }
      for (; p < kc; p++)
        for (int k = 0; k < 6; k++) out[p * 6 + k] = r[k * lda + p];
    } else {
      // op(A) row i is A column i: the 6 values of one p are contiguous.
      const float *s = A + i;
      for (long p = 0; p < kc; p++) {
        const float *sp = s + p * lda;
        _mm_storeu_ps(out + p * 6, _mm_loadu_ps(sp));
        _mm_storel_pi((__m64 *)(out + p * 6 + 4), _mm_castpd_ps(_mm_load_sd((const double *)(sp + 4))));
      }
    }
  }
  if (i < mc) rk_pack_a_panel_s(transA, mc - i, kc, transA ? A + i : A + i * lda, lda, out, 6);
}

// Packs op(B)[kc x nc] into 16-column micro-panels.
RK_AVX2 static void rk_pack_b_avx2_s(int transB, long kc, long nc, const float *B, long ldb,
                                     float *out) {
  long j = 0;
  for (; j + 16 <= nc; j += 16, out += 16 * kc) {
    if (!transB) {
      const float *s = B + j;
      for (long p = 0; p < kc; p++) {
        _mm256_store_ps(out + p * 16, _mm256_loadu_ps(s + p * ldb));
        _mm256_store_ps(out + p * 16 + 8, _mm256_loadu_ps(s + p * ldb + 8));
      }
    } else {
      // op(B) column j is B row j, contiguous in p: transpose 8 x 8 blocks.
      const float *r = B + j * ldb;
      long p = 0;
      for (; p + 8 <= kc; p += 8) {
        for (int h = 0; h < 2; h++) {
          const float *rh = r + h * 8 * ldb + p;
          __m256 x0 = _mm256_loadu_ps(rh), x1 = _mm256_loadu_ps(rh + ldb);
          __m256 x2 = _mm256_loadu_ps(rh + 2 * ldb), x3 = _mm256_loadu_ps(rh + 3 * ldb);
          __m256 x4 = _mm256_loadu_ps(rh + 4 * ldb), x5 = _mm256_loadu_ps(rh + 5 * ldb);
          __m256 x6 = _mm256_loadu_ps(rh + 6 * ldb), x7 = _mm256_loadu_ps(rh + 7 * ldb);
          RK_TRANSPOSE8_PS(x0, x1, x2, x3, x4, x5, x6, x7);
          float *o = out + p * 16 + h * 8;
          _mm256_store_ps(o, x0);
          _mm256_store_ps(o + 16, x1);
          _mm256_store_ps(o + 32, x2);
          _mm256_store_ps(o + 48, x3);
          _mm256_store_ps(o + 64, x4);
          _mm256_store_ps(o + 80, x5);
          _mm256_store_ps(o + 96, x6);
          _mm256_store_ps(o + 112, x7);
        }
      }
      for (; p < kc; p++)
        for (int k = 0; k < 16; k++) out[p * 16 + k] = r[k * ldb + p];
    }
  }
  if (j < nc) rk_pack_b_panel_s(transB, nc - j, kc, transB ? B + j * ldb : B + j, ldb, out, 16);
}

// ---- double ----

// Transposes 4 ymm rows of doubles in place: afterwards r_q holds column q.
#define RK_TRANSPOSE4_PD(r0, r1, r2, r3)                                         \
  do {                                                                           \
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);    \
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);    \
    r0 = _mm256_permute2f128_pd(t0, t2, 0x20);                                   \
    r1 = _mm256_permute2f128_pd(t1, t3, 0x20);                                   \
    r2 = _mm256_permute2f128_pd(t0, t2, 0x31);                                   \
    r3 = _mm256_permute2f128_pd(t1, t3, 0x31);                                   \
  } while (0)

// C[6 x 8] = alpha * A[6 x kc] * B[kc x 8] + beta * C.
RK_AVX2 static void rk_kernel_avx2_d6x8(long kc, const double *a, const double *b, double *c,
                                        long ldc, double alpha, double beta) {
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
  __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
  __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
  __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
  __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
  __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  for (int i = 0; i < 6; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
  for (int i = 0; i < 6; i++) _mm_prefetch((const char *)(c + i * ldc + 7), _MM_HINT_T0);
#define RK_D_STEP(P)                                                                  \
  do {                                                                                \
    __m256d b0 = _mm256_load_pd(b + (P) * 8), b1 = _mm256_load_pd(b + (P) * 8 + 4);  \
    __m256d av;                                                                       \
    av = _mm256_broadcast_sd(a + (P) * 6 + 0);                                        \
    c00 = _mm256_fmadd_pd(av, b0, c00); c01 = _mm256_fmadd_pd(av, b1, c01);           \
    av = _mm256_broadcast_sd(a + (P) * 6 + 1);                                        \
    c10 = _mm256_fmadd_pd(av, b0, c10); c11 = _mm256_fmadd_pd(av, b1, c11);           \
    av = _mm256_broadcast_sd(a + (P) * 6 + 2);                                        \
    c20 = _mm256_fmadd_pd(av, b0, c20); c21 = _mm256_fmadd_pd(av, b1, c21);           \
    av = _mm256_broadcast_sd(a + (P) * 6 + 3);                                        \
    c30 = _mm256_fmadd_pd(av, b0, c30); c31 = _mm256_fmadd_pd(av, b1, c31);           \
    av = _mm256_broadcast_sd(a + (P) * 6 + 4);                                        \
    c40 = _mm256_fmadd_pd(av, b0, c40); c41 = _mm256_fmadd_pd(av, b1, c41);           \
    av = _mm256_broadcast_sd(a + (P) * 6 + 5);                                        \
    c50 = _mm256_fmadd_pd(av, b0, c50); c51 = _mm256_fmadd_pd(av, b1, c51);           \
  } while (0)
  long p = 0;
  for (; p + 4 <= kc; p += 4) {
    _mm_prefetch((const char *)(b + 8 * 16), _MM_HINT_T0);
    _mm_prefetch((const char *)(b + 8 * 16 + 8), _MM_HINT_T0);
    RK_D_STEP(0);
    RK_D_STEP(1);
    RK_D_STEP(2);
    RK_D_STEP(3);
    a += 24;
    b += 32;
  }
  for (; p < kc; p++) {
    RK_D_STEP(0);
    a += 6;
    b += 8;
  }
#undef RK_D_STEP
  __m256d va = _mm256_set1_pd(alpha);
#define RK_D_ROW(I, X0, X1)                                                                    \
  do {                                                                                         \
    double *ci = c + (I) * ldc;                                                                \
    if (beta == 0) {                                                                           \
      _mm256_storeu_pd(ci, _mm256_mul_pd(va, X0));                                             \
      _mm256_storeu_pd(ci + 4, _mm256_mul_pd(va, X1));                                         \
    } else if (beta == 1) {                                                                    \
      _mm256_storeu_pd(ci, _mm256_fmadd_pd(va, X0, _mm256_loadu_pd(ci)));                      \
      _mm256_storeu_pd(ci + 4, _mm256_fmadd_pd(va, X1, _mm256_loadu_pd(ci + 4)));              \
    } else {                                                                                   \
      __m256d vb = _mm256_set1_pd(beta);                                                       \
      _mm256_storeu_pd(ci, _mm256_fmadd_pd(va, X0, _mm256_mul_pd(vb, _mm256_loadu_pd(ci))));   \
      _mm256_storeu_pd(ci + 4,                                                                 \
                       _mm256_fmadd_pd(va, X1, _mm256_mul_pd(vb, _mm256_loadu_pd(ci + 4))));   \
    }                                                                                          \
  } while (0)
  RK_D_ROW(0, c00, c01);
  RK_D_ROW(1, c10, c11);
  RK_D_ROW(2, c20, c21);
  RK_D_ROW(3, c30, c31);
  RK_D_ROW(4, c40, c41);
  RK_D_ROW(5, c50, c51);
#undef RK_D_ROW
}

RK_AVX2 static void rk_pack_a_avx2_d(int transA, long mc, long kc, const double *A, long lda,
                                     double *out) {
  long i = 0;
  for (; i + 6 <= mc; i += 6, out += 6 * kc) {
    if (!transA) {
      const double *r = A + i * lda;
      long p = 0;
      for (; p + 4 <= kc; p += 4) {
        __m256d x0 = _mm256_loadu_pd(r + p), x1 = _mm256_loadu_pd(r + lda + p);
        __m256d x2 = _mm256_loadu_pd(r + 2 * lda + p), x3 = _mm256_loadu_pd(r + 3 * lda + p);
        __m256d x4 = _mm256_loadu_pd(r + 4 * lda + p), x5 = _mm256_loadu_pd(r + 5 * lda + p);
        RK_TRANSPOSE4_PD(x0, x1, x2, x3);
        __m256d u0 = _mm256_unpacklo_pd(x4, x5);  // (r4[0], r5[0], r4[2], r5[2])
        __m256d u1 = _mm256_unpackhi_pd(x4, x5);  // (r4[1], r5[1], r4[3], r5[3])
        double *o = out + p * 6;
        _mm256_storeu_pd(o, x0);
        _mm_storeu_pd(o + 4, _mm256_castpd256_pd128(u0));
        _mm256_storeu_pd(o + 6, x1);
        _mm_storeu_pd(o + 10, _mm256_castpd256_pd128(u1));
        _mm256_storeu_pd(o + 12, x2);
        _mm_storeu_pd(o + 16, _mm256_extractf128_pd(u0, 1));
        _mm256_storeu_pd(o + 18, x3);
        _mm_storeu_pd(o + 22, _mm256_extractf128_pd(u1, 1));
      }
      for (; p < kc; p++)
        for (int k = 0; k < 6; k++) out[p * 6 + k] = r[k * lda + p];
    } else {
      const double *s = A + i;
      for (long p = 0; p < kc; p++) {
        const double *sp = s + p * lda;
        _mm256_storeu_pd(out + p * 6, _mm256_loadu_pd(sp));
        _mm_storeu_pd(out + p * 6 + 4, _mm_loadu_pd(sp + 4));
      }
    }
  }
  if (i < mc) rk_pack_a_panel_d(transA, mc - i, kc, transA ? A + i : A + i * lda, lda, out, 6);
}

RK_AVX2 static void rk_pack_b_avx2_d(int transB, long kc, long nc, const double *B, long ldb,
                                     double *out) {
  long j = 0;
  for (; j + 8 <= nc; j += 8, out += 8 * kc) {
    if (!transB) {
      const double *s = B + j;
      for (long p = 0; p < kc; p++) {
        _mm256_store_pd(out + p * 8, _mm256_loadu_pd(s + p * ldb));
        _mm256_store_pd(out + p * 8 + 4, _mm256_loadu_pd(s + p * ldb + 4));
      }
    } else {
      const double *r = B + j * ldb;
      long p = 0;
      for (; p + 4 <= kc; p += 4) {
        for (int h = 0; h < 2; h++) {
          const double *rh = r + h * 4 * ldb + p;
          __m256d x0 = _mm256_loadu_pd(rh), x1 = _mm256_loadu_pd(rh + ldb);
          __m256d x2 = _mm256_loadu_pd(rh + 2 * ldb), x3 = _mm256_loadu_pd(rh + 3 * ldb);
          RK_TRANSPOSE4_PD(x0, x1, x2, x3);
          double *o = out + p * 8 + h * 4;
          _mm256_store_pd(o, x0);
          _mm256_store_pd(o + 8, x1);
          _mm256_store_pd(o + 16, x2);
          _mm256_store_pd(o + 24, x3);
        }
      }
      for (; p < kc; p++)
        for (int k = 0; k < 8; k++) out[p * 8 + k] = r[k * ldb + p];
    }
  }
  if (j < nc) rk_pack_b_panel_d(transB, nc - j, kc, transB ? B + j * ldb : B + j, ldb, out, 8);
}

// Matrix-vector loops: the generic C, vectorised by the compiler for AVX2 + FMA.
RK_DEFINE_GEMV(float, rk_gemv_avx2_s, RK_AVX2)
RK_DEFINE_GEMV(double, rk_gemv_avx2_d, RK_AVX2)

const rk_skernels rk_skernels_avx2 = {
    .name = "avx2+fma 6x16",
    .mr = RK_S_MR, .nr = RK_S_NR, .mc = RK_S_MC, .kc = RK_S_KC, .nc = RK_S_NC,
    .kernel = rk_kernel_avx2_s6x16,
    .kernel_rows4 = rk_kernel_avx2_s6x16_rows4,
    .pack_a = rk_pack_a_avx2_s,
    .pack_b = rk_pack_b_avx2_s,
    .dots = rk_gemv_avx2_s_dots,
    .axpys = rk_gemv_avx2_s_axpys,
};

// The 4x16 variant: the same B panels, blocking and bits; rk_seq_kernels (rk_seq_rows.c) picks
// it when 6-row tiles would pad the rows by more than 5%.
const rk_skernels rk_skernels_avx2_4x16 = {
    .name = "avx2+fma 4x16",
    .mr = 4, .nr = RK_S_NR, .mc = RK_S_MC, .kc = RK_S_KC, .nc = RK_S_NC,
    .kernel = rk_kernel_avx2_s4x16,
    .pack_a = rk_pack_a_avx2_s4,
    .pack_b = rk_pack_b_avx2_s,
    .dots = rk_gemv_avx2_s_dots,
    .axpys = rk_gemv_avx2_s_axpys,
};

const rk_dkernels rk_dkernels_avx2 = {
    .name = "avx2+fma 6x8",
    .mr = RK_D_MR, .nr = RK_D_NR, .mc = RK_D_MC, .kc = RK_D_KC, .nc = RK_D_NC,
    .kernel = rk_kernel_avx2_d6x8,
    .pack_a = rk_pack_a_avx2_d,
    .pack_b = rk_pack_b_avx2_d,
    .dots = rk_gemv_avx2_d_dots,
    .axpys = rk_gemv_avx2_d_axpys,
};

#endif  // __x86_64__

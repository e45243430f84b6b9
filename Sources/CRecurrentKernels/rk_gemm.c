// PLACEHOLDER naive GEMM (to be replaced by the packed, blocked, AVX2 version).
#include "rk_gemm.h"
#define RK_NAIVE_GEMM(NAME, T)                                                         \
  void NAME(int transA, int transB, long M, long N, long K, T alpha, const T *A,      \
            long lda, const T *B, long ldb, T beta, T *C, long ldc) {                 \
    for (long i = 0; i < M; i++)                                                       \
      for (long j = 0; j < N; j++) {                                                   \
        T s = 0;                                                                       \
        for (long p = 0; p < K; p++) {                                                 \
          T a = transA ? A[p * lda + i] : A[i * lda + p];                              \
          T b = transB ? B[j * ldb + p] : B[p * ldb + j];                              \
          s += a * b;                                                                  \
        }                                                                              \
        C[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]);          \
      }                                                                                \
  }
RK_NAIVE_GEMM(rk_sgemm, float)
RK_NAIVE_GEMM(rk_dgemm, double)

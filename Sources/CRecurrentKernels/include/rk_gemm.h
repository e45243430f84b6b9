// General matrix multiply, row-major, BLAS semantics:
//   C[M, N] = alpha * op(A) * op(B) + beta * C
// op(A) is [M, K]: A itself (transA = 0, A is M x K with leading dimension lda >= K) or A^T
// (transA = 1, A is K x M with lda >= M). Likewise op(B) is [K, N]: B (K x N, ldb >= N) or
// B^T (B is N x K, ldb >= K). ldc >= N. beta == 0 overwrites C without reading it (NaN in C
// does not propagate). M, N or K == 0 is allowed (K == 0 scales C by beta).
// Thread-safe: may be called from several threads at once.
#ifndef RK_GEMM_H
#define RK_GEMM_H

#ifdef __cplusplus
extern "C" {
#endif

void rk_sgemm(int transA, int transB, long M, long N, long K,
              float alpha, const float *A, long lda,
              const float *B, long ldb,
              float beta, float *C, long ldc);

void rk_dgemm(int transA, int transB, long M, long N, long K,
              double alpha, const double *A, long lda,
              const double *B, long ldb,
              double beta, double *C, long ldc);

#ifdef __cplusplus
}
#endif
#endif

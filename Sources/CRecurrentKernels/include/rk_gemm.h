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

/// op(B) of an sgemm packed once for many calls with the same B (the recurrent weights across
/// the time steps of a sequence). Opaque; owned by the caller.
typedef struct rk_spacked_b rk_spacked_b;

/// Packs op(B) ([K, N]: B itself when transB = 0, else B^T with B N x K) for the current kernel
/// set. NULL if N or K <= 0 or out of memory (rk_sgemm_prepacked then packs per call).
rk_spacked_b *rk_sgemm_pack_b(int transB, long N, long K, const float *B, long ldb);
void rk_spacked_b_free(rk_spacked_b *packed);

/// rk_sgemm with op(B) taken from `packed` (made by rk_sgemm_pack_b from the same B, transB, N
/// and K): the same result bits as rk_sgemm, for any thread count. B and ldb must still be
/// valid: a NULL, mismatched or stale pack (the kernel set changed by rk_force_isa), and shapes
/// that do not pack at all (M or N == 1, tiny), fall back to rk_sgemm.
void rk_sgemm_prepacked(int transA, int transB, long M, long N, long K,
                        float alpha, const float *A, long lda,
                        const float *B, long ldb, const rk_spacked_b *packed,
                        float beta, float *C, long ldc);

#ifdef __cplusplus
}
#endif
#endif

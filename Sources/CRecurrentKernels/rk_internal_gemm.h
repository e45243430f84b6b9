// Private: the GEMM kernel sets (micro-kernel + packing routines + blocking) per ISA.
//
// Packed layouts (Goto / BLIS), shared by every kernel set of one element type:
//   packed A block (mc x kc): ceil(mc / MR) micro-panels, each kc x MR: element (i, p) of the
//     panel at [p * MR + i]; rows past mc are zero.
//   packed B block (kc x nc): ceil(nc / NR) micro-panels, each kc x NR: element (p, j) of the
//     panel at [p * NR + j]; columns past nc are zero.
// The micro-kernel computes the MR x NR tile  C = alpha * Apanel * Bpanel + beta * C  over kc,
// and must not read C when beta == 0. Packing routines take op(X) coordinates:
//   pack_a(transA, mc, kc, A, lda, out): A points at op(A)[0, 0] of the block, i.e. A[i0*lda + p0]
//     (transA = 0) or A[p0*lda + i0] (transA = 1);
//   pack_b(transB, kc, nc, B, ldb, out): B points at B[p0*ldb + j0] or B[j0*ldb + p0].
// pack_a may write up to RK_PACK_SLACK elements past the end of the block (buffers allow for it).
#ifndef RK_INTERNAL_GEMM_H
#define RK_INTERNAL_GEMM_H

#define RK_PACK_SLACK 16
#define RK_MAX_MR 8
#define RK_MAX_NR 16

typedef struct {
  const char *name;
  int mr, nr;      // micro-tile
  long mc, kc, nc;  // cache blocks (mc multiple of mr, nc multiple of nr)
  void (*kernel)(long kc, const float *a, const float *b, float *c, long ldc, float alpha,
                 float beta);
  // Optional: the kernel for an edge tile of exactly 4 rows on the same MR-row A panels, with
  // the bits of `kernel` (NULL: the edge goes through `kernel` and a merge).
  void (*kernel_rows4)(long kc, const float *a, const float *b, float *c, long ldc, float alpha,
                       float beta);
  void (*pack_a)(int transA, long mc, long kc, const float *A, long lda, float *out);
  void (*pack_b)(int transB, long kc, long nc, const float *B, long ldb, float *out);
  // Matrix-vector products (M == 1 or N == 1), no packing: out[j] = sum_p R[j*ldr + p] * x[p]
  // (dots) and out[j] = sum_p x[p] * R[p*ldr + j] (axpys), for j < n.
  void (*dots)(long n, long K, const float *x, const float *R, long ldr, float *out);
  void (*axpys)(long n, long K, const float *x, const float *R, long ldr, float *out);
} rk_skernels;

typedef struct {
  const char *name;
  int mr, nr;
  long mc, kc, nc;
  void (*kernel)(long kc, const double *a, const double *b, double *c, long ldc, double alpha,
                 double beta);
  void (*kernel_rows4)(long kc, const double *a, const double *b, double *c, long ldc,
                       double alpha, double beta);  // as in rk_skernels (none yet)
  void (*pack_a)(int transA, long mc, long kc, const double *A, long lda, double *out);
  void (*pack_b)(int transB, long kc, long nc, const double *B, long ldb, double *out);
  void (*dots)(long n, long K, const double *x, const double *R, long ldr, double *out);
  void (*axpys)(long n, long K, const double *x, const double *R, long ldr, double *out);
} rk_dkernels;

extern const rk_skernels rk_skernels_portable;
extern const rk_dkernels rk_dkernels_portable;
#if defined(__x86_64__)
extern const rk_skernels rk_skernels_avx2;
extern const rk_dkernels rk_dkernels_avx2;
extern const rk_skernels rk_skernels_avx2_4x16;
#endif

/// Below this many multiply-adds (M*N*K, ~3 us on one core) a GEMM runs on the calling thread;
/// the fused loops use the same threshold per step.
#define RK_GEMM_MT_MIN 131072L

// rk_sgemm's pieces, for fused loops that run its micro-kernel calls themselves (rk_gemm.c).
// Running the same calls in the same K-block order gives rk_sgemm's bits for any split of C.

/// The float kernel set rk_sgemm uses now (by rk_active_isa()).
const rk_skernels *rk_sgemm_kernels(void);
/// 1 if rk_sgemm runs M x N x K through packing and the micro-kernel (not the matrix-vector
/// or plain-loop paths).
int rk_sgemm_is_blocked(long M, long N, long K);
/// rk_sgemm's K block size for K, and its M block size (a multiple of MR) for M rows.
long rk_sgemm_kc(const rk_skernels *ks, long K);
long rk_sgemm_mc(const rk_skernels *ks, long M);
/// The macro-kernel: C[mc x nc] = alpha * Ap * Bp + beta * C over one packed kc block.
void rk_sgemm_macro(const rk_skernels *ks, long mc, long nc, long kc, const float *Ap,
                    const float *Bp, float *C, long ldc, float alpha, float beta);

#endif

// Private: GEMM with op(B) packed once and reused (float only), e.g. W_hh^T across the T steps
// of a recurrent forward pass, where the per-call packing of rk_sgemm's small-M path repeats
// the same N*K copy every step. Included by rk_gemm.c after the float driver (it uses the
// driver's static helpers).
//
// Packed layout: the K blocks of rk_sgemm (kc_block), one after the other; block pc (rows
// [pc, pc + kc) of op(B)) at offset pc * Npad (Npad = N rounded up to NR), holding Npad / NR
// micro-panels of kc x NR (the pack_b layout), panel jr at + jr * kc. Running the same
// micro-kernel calls on the same panels in the same K-block order as rk_sgemm's small-M path
// gives the same bits, for any thread split.
#include <stdlib.h>

struct rk_spacked_b {
  rk_isa isa;  // the kernel set that packed it (rk_force_isa may change it between calls)
  int transB;
  long N, K, kc_max, npad;
  float *data;  // 64-byte aligned
};

rk_spacked_b *rk_sgemm_pack_b(int transB, long N, long K, const float *B, long ldb) {
  if (N <= 0 || K <= 0) return NULL;
  transB = transB != 0;
  const rk_isa isa = rk_active_isa();
  const rk_skernels *ks = rk_skernels_for(isa);
  const long nr = ks->nr, kc_max = rk_skc_block(ks, K), npad = (N + nr - 1) / nr * nr;
  rk_spacked_b *p = malloc(sizeof *p);
  void *data = NULL;
  if (!p || posix_memalign(&data, 64, (size_t)(npad * K + RK_PACK_SLACK) * sizeof(float)) != 0) {
    free(p);
    return NULL;
  }
  *p = (rk_spacked_b){.isa = isa, .transB = transB, .N = N, .K = K, .kc_max = kc_max,
                      .npad = npad, .data = data};
  for (long pc = 0; pc < K; pc += kc_max) {
    const long kc = K - pc < kc_max ? K - pc : kc_max;
    ks->pack_b(transB, kc, N, transB ? B + pc : B + pc * ldb, ldb, p->data + pc * npad);
  }
  return p;
}

void rk_spacked_b_free(rk_spacked_b *packed) {
  if (!packed) return;
  free(packed->data);
  free(packed);
}

typedef struct {
  const rk_skernels *ks;
  const rk_spacked_b *pk;
  int transA, transB;
  long M, K;
  float alpha, beta;
  const float *A, *B;  // B: the original op(B), for the scratch-failure fallback only
  float *C;
  long lda, ldb, ldc;
} rk_sprepacked_job;

/// Columns [n0, n1) (n0 a multiple of NR) and rows [m0, m1) of C from the packed panels.
/// Returns -1 if scratch allocation failed (before writing C).
static int rk_sprepacked_part(const rk_sprepacked_job *jb, long m0, long m1, long n0, long n1) {
  const rk_skernels *ks = jb->ks;
  const rk_spacked_b *pk = jb->pk;
  const long mr = ks->mr, kc_max = pk->kc_max, K = jb->K, M = m1 - m0;
  const long mc_max = rk_sbalanced_block(M, ks->mc, mr);
  const long mc_pad = (mc_max + mr - 1) / mr * mr;
  float *Ap = rk_scratch(0, (size_t)(mc_pad * kc_max + RK_PACK_SLACK) * sizeof(float));
  if (!Ap) return -1;
  for (long pc = 0; pc < K; pc += kc_max) {
    const long kc = K - pc < kc_max ? K - pc : kc_max;
    const float beta_k = pc == 0 ? jb->beta : 1.0f;  // later K blocks accumulate
    const float *Bp = pk->data + pc * pk->npad + n0 * kc;
    for (long ic = m0; ic < m1; ic += mc_max) {
      const long mc = m1 - ic < mc_max ? m1 - ic : mc_max;
      ks->pack_a(jb->transA, mc, kc, jb->transA ? jb->A + pc * jb->lda + ic : jb->A + ic * jb->lda + pc,
                 jb->lda, Ap);
      rk_smacro_kernel(ks, mc, n1 - n0, kc, Ap, Bp, jb->C + ic * jb->ldc + n0, jb->ldc, jb->alpha,
                       beta_k);
    }
  }
  return 0;
}

static void rk_sprepacked_task(void *ctx, int tid, int nthreads) {
  const rk_sprepacked_job *jb = ctx;
  int tm = 1, tn = 1;
  if (nthreads > 1) rk_schoose_grid(jb->ks, jb->M, jb->pk->N, nthreads, &tm, &tn);
  if (tid >= tm * tn) return;
  const int ti = tid / tn, tj = tid % tn;
  const long N = jb->pk->N, mr = jb->ks->mr, nr = jb->ks->nr;
  const long m0 = rk_ssplit_start(jb->M, mr, tm, ti), m1 = rk_ssplit_start(jb->M, mr, tm, ti + 1);
  const long n0 = rk_ssplit_start(N, nr, tn, tj), n1 = rk_ssplit_start(N, nr, tn, tj + 1);
  if (m1 <= m0 || n1 <= n0) return;
  if (rk_sprepacked_part(jb, m0, m1, n0, n1) != 0)  // scratch failed: plain loops on our piece
    rk_sgemm_small(jb->transA, jb->transB, m1 - m0, n1 - n0, jb->K, jb->alpha,
                   jb->transA ? jb->A + m0 : jb->A + m0 * jb->lda, jb->lda,
                   jb->transB ? jb->B + n0 * jb->ldb : jb->B + n0, jb->ldb, jb->beta,
                   jb->C + m0 * jb->ldc + n0, jb->ldc);
}

void rk_sgemm_prepacked(int transA, int transB, long M, long N, long K, float alpha,
                        const float *A, long lda, const float *B, long ldb,
                        const rk_spacked_b *packed, float beta, float *C, long ldc) {
  transA = transA != 0;
  const rk_isa isa = rk_active_isa();
  const rk_skernels *ks = rk_skernels_for(isa);
  // The matrix-vector (M or N == 1) and tiny shapes, and a missing, stale or mismatched pack, go
  // to rk_sgemm itself. Every other shape runs rk_sgemm's micro-kernel calls in its K-block order
  // per element of C, so the bits are rk_sgemm's.
  const long work = M * N * K;
  if (!packed || packed->isa != isa || packed->transB != (transB != 0) || packed->N != N ||
      packed->K != K || M <= 1 || N <= 1 || K <= 0 || alpha == 0 || work <= RK_GEMM_SMALL_MAX) {
    rk_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  rk_sprepacked_job jb = {.ks = ks, .pk = packed, .transA = transA, .transB = transB != 0,
                          .M = M, .K = K, .alpha = alpha, .beta = beta, .A = A, .B = B, .C = C,
                          .lda = lda, .ldb = ldb, .ldc = ldc};
  int nt = work < RK_GEMM_MT_MIN ? 1 : rk_get_num_threads();
  if (nt > 1 && work / nt < RK_GEMM_MT_PER_THREAD) nt = (int)(work / RK_GEMM_MT_PER_THREAD);
  if (nt > 1) {
    int tm, tn;
    rk_schoose_grid(ks, M, N, nt, &tm, &tn);
    if (tm * tn == 1) nt = 1;
  }
  if (nt <= 1) {
    rk_sprepacked_task(&jb, 0, 1);
    return;
  }
  long join_wait_ns = work / 45 / 8;
  if (join_wait_ns > RK_GEMM_MAX_JOIN_WAIT_NS) join_wait_ns = RK_GEMM_MAX_JOIN_WAIT_NS;
  rk_pool_run(rk_sprepacked_task, &jb, nt, join_wait_ns);
}

// Private: the blocked, packed, threaded GEMM driver, written once for both element types.
// Included by rk_gemm.c with RK_T (element type), RK_KSET (kernel-set type), RK_FN(x) (name
// mangling) and RK_PUBLIC_NAME (the exported function) defined.
//
// Loop nest per thread (Goto / BLIS):
//   jc over N in NC blocks
//     pc over K in KC blocks          pack op(B)[pc, jc] (kc x nc)  -> L3
//       ic over M in MC blocks        pack op(A)[ic, pc] (mc x kc)  -> L2
//         jr over nc in NR panels     B micro-panel (kc x NR)       -> L1
//           ir over mc in MR panels   micro-kernel: C[MR x NR] (+)= A panel * B panel
// Threads split C into a tm x tn grid of independent sub-GEMMs (tm * tn = threads), each with
// its own packing buffers, so no barriers: splitting N repeats the packing of A in every column
// group (cost M*K per extra group) and splitting M repeats the packing of B (cost N*K), so the
// grid is chosen to minimise that repeated packing. Small M (the recurrent step: M = batch)
// therefore splits N, tall problems split M.

/// Splits [0, total) into `parts` near-equal ranges whose boundaries are multiples of `unit`
/// (except the end); returns the start of range `index`.
static long RK_FN(split_start)(long total, long unit, int parts, int index) {
  long units = (total + unit - 1) / unit;
  long start = units * index / parts * unit;
  return start < total ? start : total;
}

/// Balanced block size: the number of blocks that `max_block` implies, spread evenly, rounded
/// up to a multiple of `unit`.
static long RK_FN(balanced_block)(long total, long max_block, long unit) {
  long blocks = (total + max_block - 1) / max_block;
  long b = (total + blocks - 1) / blocks;
  b = (b + unit - 1) / unit * unit;
  return b < max_block ? b : max_block;
}

/// C[M x N] = beta * C (beta == 0 writes zeros without reading C).
static void RK_FN(scale_c)(long M, long N, RK_T beta, RK_T *C, long ldc) {
  if (beta == 1) return;
  for (long i = 0; i < M; i++) {
    RK_T *ci = C + i * ldc;
    if (beta == 0)
      for (long j = 0; j < N; j++) ci[j] = 0;
    else
      for (long j = 0; j < N; j++) ci[j] *= beta;
  }
}

/// Single-threaded blocked GEMM on one (sub)problem. Returns 0, or -1 if scratch allocation failed.
static int RK_FN(gemm_serial)(const RK_KSET *ks, int transA, int transB, long M, long N, long K,
                              RK_T alpha, const RK_T *A, long lda, const RK_T *B, long ldb,
                              RK_T beta, RK_T *C, long ldc) {
  const long mr = ks->mr, nr = ks->nr;
  const long kc_max = RK_FN(balanced_block)(K, ks->kc, 1);
  const long mc_max = RK_FN(balanced_block)(M, ks->mc, mr);
  long nc_max = (N + nr - 1) / nr * nr;
  if (nc_max > ks->nc) nc_max = ks->nc;
  const long mc_pad = (mc_max + mr - 1) / mr * mr;
  RK_T *Ap = rk_scratch(0, (size_t)(mc_pad * kc_max + RK_PACK_SLACK) * sizeof(RK_T));
  RK_T *Bp = rk_scratch(1, (size_t)(nc_max * kc_max + RK_PACK_SLACK) * sizeof(RK_T));
  if (!Ap || !Bp) return -1;
  RK_T tile[RK_MAX_MR * RK_MAX_NR] __attribute__((aligned(64)));

  for (long jc = 0; jc < N; jc += nc_max) {
    const long nc = N - jc < nc_max ? N - jc : nc_max;
    for (long pc = 0; pc < K; pc += kc_max) {
      const long kc = K - pc < kc_max ? K - pc : kc_max;
      const RK_T beta_k = pc == 0 ? beta : (RK_T)1;  // later K blocks accumulate
      ks->pack_b(transB, kc, nc, transB ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, Bp);
      for (long ic = 0; ic < M; ic += mc_max) {
        const long mc = M - ic < mc_max ? M - ic : mc_max;
        ks->pack_a(transA, mc, kc, transA ? A + pc * lda + ic : A + ic * lda + pc, lda, Ap);
        for (long jr = 0; jr < nc; jr += nr) {
          const long n = nc - jr < nr ? nc - jr : nr;
          const RK_T *bp = Bp + jr * kc;
          for (long ir = 0; ir < mc; ir += mr) {
            const long m = mc - ir < mr ? mc - ir : mr;
            const RK_T *ap = Ap + ir * kc;
            RK_T *c = C + (ic + ir) * ldc + jc + jr;
            if (m == mr && n == nr) {
              ks->kernel(kc, ap, bp, c, ldc, alpha, beta_k);
            } else {
              // Edge tile: compute the full tile into a buffer, merge the valid part.
              ks->kernel(kc, ap, bp, tile, nr, (RK_T)1, (RK_T)0);
              for (long i = 0; i < m; i++) {
                RK_T *ci = c + i * ldc;
                const RK_T *ti = tile + i * nr;
                if (beta_k == 0)
                  for (long j = 0; j < n; j++) ci[j] = alpha * ti[j];
                else
                  for (long j = 0; j < n; j++) ci[j] = alpha * ti[j] + beta_k * ci[j];
              }
            }
          }
        }
      }
    }
  }
  return 0;
}

/// Plain loops (no packing, no scratch) for problems too small for blocking to pay off, and the
/// fallback if scratch allocation fails. Accumulates each C element in registers.
static void RK_FN(gemm_small)(int transA, int transB, long M, long N, long K, RK_T alpha,
                              const RK_T *A, long lda, const RK_T *B, long ldb, RK_T beta,
                              RK_T *C, long ldc) {
  for (long i = 0; i < M; i++) {
    RK_T *ci = C + i * ldc;
    for (long j = 0; j < N; j++) {
      RK_T s = 0;
      if (!transA && transB) {
        const RK_T *ai = A + i * lda, *bj = B + j * ldb;
        for (long p = 0; p < K; p++) s += ai[p] * bj[p];
      } else {
        for (long p = 0; p < K; p++) {
          RK_T a = transA ? A[p * lda + i] : A[i * lda + p];
          RK_T b = transB ? B[j * ldb + p] : B[p * ldb + j];
          s += a * b;
        }
      }
      ci[j] = beta == 0 ? alpha * s : alpha * s + beta * ci[j];
    }
  }
}

typedef struct {
  const RK_KSET *ks;
  int transA, transB;
  long M, N, K;
  RK_T alpha, beta;
  const RK_T *A, *B;
  RK_T *C;
  long lda, ldb, ldc;
  int tm, tn;  // thread grid
} RK_FN(job);

static void RK_FN(run_part)(const RK_FN(job) *jb, int tid, int tm, int tn) {
  const int ti = tid / tn, tj = tid % tn;
  const long m0 = RK_FN(split_start)(jb->M, jb->ks->mr, tm, ti);
  const long m1 = RK_FN(split_start)(jb->M, jb->ks->mr, tm, ti + 1);
  const long n0 = RK_FN(split_start)(jb->N, jb->ks->nr, tn, tj);
  const long n1 = RK_FN(split_start)(jb->N, jb->ks->nr, tn, tj + 1);
  if (m1 <= m0 || n1 <= n0) return;
  const RK_T *A = jb->transA ? jb->A + m0 : jb->A + m0 * jb->lda;
  const RK_T *B = jb->transB ? jb->B + n0 * jb->ldb : jb->B + n0;
  RK_T *C = jb->C + m0 * jb->ldc + n0;
  if (RK_FN(gemm_serial)(jb->ks, jb->transA, jb->transB, m1 - m0, n1 - n0, jb->K, jb->alpha, A,
                         jb->lda, B, jb->ldb, jb->beta, C, jb->ldc) != 0)
    RK_FN(gemm_small)(jb->transA, jb->transB, m1 - m0, n1 - n0, jb->K, jb->alpha, A, jb->lda, B,
                      jb->ldb, jb->beta, C, jb->ldc);
}

static void RK_FN(task)(void *ctx, int tid, int nthreads) {
  const RK_FN(job) *jb = ctx;
  if (nthreads == jb->tm * jb->tn)
    RK_FN(run_part)(jb, tid, jb->tm, jb->tn);
  else  // the pool was busy: this thread does everything
    RK_FN(run_part)(jb, 0, 1, 1);
}

/// Chooses the thread grid tm x tn for `nt` threads minimising repeated packing.
static void RK_FN(choose_grid)(const RK_KSET *ks, long M, long N, int nt, int *tm, int *tn) {
  const long mpanels = (M + ks->mr - 1) / ks->mr, npanels = (N + ks->nr - 1) / ks->nr;
  double best = -1;
  *tm = 1;
  *tn = 1;
  for (int a = 1; a <= nt; a++) {
    if (nt % a != 0) continue;
    const int b = nt / a;
    if (a > mpanels || b > npanels) continue;
    // Repeated packing (elements) plus a penalty for tiny, imbalanced pieces.
    double cost = (double)(a - 1) * (double)N + (double)(b - 1) * (double)M;
    const double mimb = (double)((mpanels + a - 1) / a) * a / (double)mpanels;
    const double nimb = (double)((npanels + b - 1) / b) * b / (double)npanels;
    cost += (mimb * nimb - 1.0) * (double)(M + N) * 8.0;
    if (best < 0 || cost < best) {
      best = cost;
      *tm = a;
      *tn = b;
    }
  }
}

/// Below this many multiply-adds (M*N*K) a GEMM runs on the calling thread only.
#define RK_GEMM_MT_MIN 32768L
/// Each thread should get at least this many multiply-adds.
#define RK_GEMM_MT_PER_THREAD 32768L
/// Below this many multiply-adds the plain loops beat packing.
#define RK_GEMM_SMALL_MAX 512L

void RK_PUBLIC_NAME(int transA, int transB, long M, long N, long K, RK_T alpha, const RK_T *A,
                    long lda, const RK_T *B, long ldb, RK_T beta, RK_T *C, long ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0) {  // BLAS: A and B are not read
    RK_FN(scale_c)(M, N, beta, C, ldc);
    return;
  }
  transA = transA != 0;
  transB = transB != 0;
  const long work = M * N * K;
  if (work <= RK_GEMM_SMALL_MAX) {
    RK_FN(gemm_small)(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const RK_KSET *ks = RK_FN(kernels_for)(rk_active_isa());
  RK_FN(job) jb = {ks, transA, transB, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, 1, 1};
  int nt = work < RK_GEMM_MT_MIN ? 1 : rk_get_num_threads();
  if (nt > 1 && work / nt < RK_GEMM_MT_PER_THREAD) nt = (int)(work / RK_GEMM_MT_PER_THREAD);
  if (nt < 1) nt = 1;
  if (nt > 1) {
    RK_FN(choose_grid)(ks, M, N, nt, &jb.tm, &jb.tn);
    nt = jb.tm * jb.tn;  // may be 1 if the problem has too few panels
  }
  if (nt <= 1) {
    RK_FN(run_part)(&jb, 0, 1, 1);
    return;
  }
  rk_pool_run(RK_FN(task), &jb, nt);
}

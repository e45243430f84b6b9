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

/// Runs the micro-kernel over a packed mc x kc A block and kc x nc B block into C (the
/// macro-kernel: B micro-panel outer so it stays in L1 while the A micro-panels stream by).
static void RK_FN(macro_kernel)(const RK_KSET *ks, long mc, long nc, long kc, const RK_T *Ap,
                                const RK_T *Bp, RK_T *C, long ldc, RK_T alpha, RK_T beta) {
  const long mr = ks->mr, nr = ks->nr;
  RK_T tile[RK_MAX_MR * RK_MAX_NR] __attribute__((aligned(64)));
  for (long jr = 0; jr < nc; jr += nr) {
    const long n = nc - jr < nr ? nc - jr : nr;
    const RK_T *bp = Bp + jr * kc;
    for (long ir = 0; ir < mc; ir += mr) {
      const long m = mc - ir < mr ? mc - ir : mr;
      RK_T *c = C + ir * ldc + jr;
      if (m == mr && n == nr) {
        ks->kernel(kc, Ap + ir * kc, bp, c, ldc, alpha, beta);
      } else if (m == 4 && n == nr && ks->kernel_rows4) {
        ks->kernel_rows4(kc, Ap + ir * kc, bp, c, ldc, alpha, beta);  // B = 64: 10 * 6 + 4 rows
      } else {
        // Edge tile: compute the full tile into a buffer, merge the valid part.
        ks->kernel(kc, Ap + ir * kc, bp, tile, nr, (RK_T)1, (RK_T)0);
        for (long i = 0; i < m; i++) {
          RK_T *ci = c + i * ldc;
          const RK_T *ti = tile + i * nr;
          if (beta == 0)
            for (long j = 0; j < n; j++) ci[j] = alpha * ti[j];
          else
            for (long j = 0; j < n; j++) ci[j] = alpha * ti[j] + beta * ci[j];
        }
      }
    }
  }
}

/// The K block size: at most KC, balanced so the last block is not tiny, a multiple of 8 (the
/// transposing packs work on 8 (float) / 4 (double) values of K at a time).
static long RK_FN(kc_block)(const RK_KSET *ks, long K) { return RK_FN(balanced_block)(K, ks->kc, 8); }

/// M == 1 or N == 1: a matrix-vector product, without packing (each element of the matrix is
/// used once, so packing it would cost as much as the multiply). Returns -1 if scratch failed.
static int RK_FN(gemm_vector)(const RK_KSET *ks, int transA, int transB, long M, long N, long K,
                              RK_T alpha, const RK_T *A, long lda, const RK_T *B, long ldb,
                              RK_T beta, RK_T *C, long ldc) {
  // Row case: C[0, :] = op(A)[0, :] . op(B);  column case: C[:, 0] = op(A) . op(B)[:, 0].
  const int row = M == 1;
  const long n = row ? N : M;
  const RK_T *v = row ? A : B;  // the vector operand
  const long vinc = row ? (transA ? lda : 1) : (transB ? 1 : ldb);
  RK_T *x = rk_scratch(0, (size_t)(K + RK_PACK_SLACK) * sizeof(RK_T));
  RK_T *out = rk_scratch(1, (size_t)(n + RK_PACK_SLACK) * sizeof(RK_T));
  if (!x || !out) return -1;
  for (long p = 0; p < K; p++) x[p] = v[p * vinc];
  // The matrix operand, as rows contiguous in K (dots) or in the output index (axpys).
  if (row ? transB : !transA)
    ks->dots(n, K, x, row ? B : A, row ? ldb : lda, out);
  else
    ks->axpys(n, K, x, row ? B : A, row ? ldb : lda, out);
  const long cinc = row ? 1 : ldc;
  for (long j = 0; j < n; j++) {
    RK_T *c = C + j * cinc;
    *c = beta == 0 ? alpha * out[j] : alpha * out[j] + beta * *c;
  }
  return 0;
}

/// Single-threaded blocked GEMM on one (sub)problem. Returns 0, or -1 if scratch allocation failed.
static int RK_FN(gemm_serial)(const RK_KSET *ks, int transA, int transB, long M, long N, long K,
                              RK_T alpha, const RK_T *A, long lda, const RK_T *B, long ldb,
                              RK_T beta, RK_T *C, long ldc) {
  const long mr = ks->mr, nr = ks->nr;
  const long kc_max = RK_FN(kc_block)(ks, K);
  const long mc_max = RK_FN(balanced_block)(M, ks->mc, mr);
  const long mc_pad = (mc_max + mr - 1) / mr * mr;
  RK_T *Ap = rk_scratch(0, (size_t)(mc_pad * kc_max + RK_PACK_SLACK) * sizeof(RK_T));
  if (!Ap) return -1;

  if (M <= mc_max) {
    // One A block (small M, e.g. the recurrent step: M = batch). Each B micro-panel is used only
    // ceil(M / MR) times, so pack it just before use into an L1-sized buffer instead of packing
    // a whole KC x NC block through L2/L3 and reading it back.
    RK_T *Bp = rk_scratch(1, (size_t)(nr * kc_max + RK_PACK_SLACK) * sizeof(RK_T));
    if (!Bp) return -1;
    for (long pc = 0; pc < K; pc += kc_max) {
      const long kc = K - pc < kc_max ? K - pc : kc_max;
      const RK_T beta_k = pc == 0 ? beta : (RK_T)1;  // later K blocks accumulate
      ks->pack_a(transA, M, kc, transA ? A + pc * lda : A + pc, lda, Ap);
      for (long jr = 0; jr < N; jr += nr) {
        const long n = N - jr < nr ? N - jr : nr;
        ks->pack_b(transB, kc, n, transB ? B + jr * ldb + pc : B + pc * ldb + jr, ldb, Bp);
        RK_FN(macro_kernel)(ks, M, n, kc, Ap, Bp, C + jr, ldc, alpha, beta_k);
      }
    }
    return 0;
  }

  long nc_max = (N + nr - 1) / nr * nr;
  if (nc_max > ks->nc) nc_max = ks->nc;
  RK_T *Bp = rk_scratch(1, (size_t)(nc_max * kc_max + RK_PACK_SLACK) * sizeof(RK_T));
  if (!Bp) return -1;
  for (long jc = 0; jc < N; jc += nc_max) {
    const long nc = N - jc < nc_max ? N - jc : nc_max;
    for (long pc = 0; pc < K; pc += kc_max) {
      const long kc = K - pc < kc_max ? K - pc : kc_max;
      const RK_T beta_k = pc == 0 ? beta : (RK_T)1;
      ks->pack_b(transB, kc, nc, transB ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, Bp);
      for (long ic = 0; ic < M; ic += mc_max) {
        const long mc = M - ic < mc_max ? M - ic : mc_max;
        ks->pack_a(transA, mc, kc, transA ? A + pc * lda + ic : A + ic * lda + pc, lda, Ap);
        RK_FN(macro_kernel)(ks, mc, nc, kc, Ap, Bp, C + ic * ldc + jc, ldc, alpha, beta_k);
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
  // shared == 1: the threads split M and share each packed B block (two buffers, alternating);
  // shared == 0: each thread runs an independent sub-GEMM on its cell of a thread grid.
  int shared;
  long kc_max, nc_max;
  RK_T *Bbuf[2];
} RK_FN(job);

static void RK_FN(run_part)(const RK_FN(job) *jb, int tid, int tm, int tn) {
  if (tid >= tm * tn) return;
  const int ti = tid / tn, tj = tid % tn;
  const long m0 = RK_FN(split_start)(jb->M, jb->ks->mr, tm, ti);
  const long m1 = RK_FN(split_start)(jb->M, jb->ks->mr, tm, ti + 1);
  const long n0 = RK_FN(split_start)(jb->N, jb->ks->nr, tn, tj);
  const long n1 = RK_FN(split_start)(jb->N, jb->ks->nr, tn, tj + 1);
  if (m1 <= m0 || n1 <= n0) return;
  const RK_T *A = jb->transA ? jb->A + m0 : jb->A + m0 * jb->lda;
  const RK_T *B = jb->transB ? jb->B + n0 * jb->ldb : jb->B + n0;
  RK_T *C = jb->C + m0 * jb->ldc + n0;
  // The path is chosen by the whole problem's shape, not the piece's (a split can leave a piece
  // one column wide), so the result does not depend on how many threads joined.
  const int vector = jb->M == 1 || jb->N == 1;
  if ((vector ? RK_FN(gemm_vector)(jb->ks, jb->transA, jb->transB, m1 - m0, n1 - n0, jb->K,
                                   jb->alpha, A, jb->lda, B, jb->ldb, jb->beta, C, jb->ldc)
              : RK_FN(gemm_serial)(jb->ks, jb->transA, jb->transB, m1 - m0, n1 - n0, jb->K,
                                   jb->alpha, A, jb->lda, B, jb->ldb, jb->beta, C, jb->ldc)) != 0)
    RK_FN(gemm_small)(jb->transA, jb->transB, m1 - m0, n1 - n0, jb->K, jb->alpha, A, jb->lda, B,
                      jb->ldb, jb->beta, C, jb->ldc);
}

/// Shared-B mode, thread `tid` of `nt`: for each (jc, pc) block, pack its share of the B
/// micro-panels into the shared buffer, wait for the others, then multiply its own rows of C
/// (its own packed A). Alternating two B buffers makes one barrier per block enough: passing
/// barrier i means every thread has finished computing with block i - 1, whose buffer block
/// i + 1 reuses.
static void RK_FN(run_shared)(const RK_FN(job) *jb, int tid, int nt) {
  const RK_KSET *ks = jb->ks;
  const long mr = ks->mr, nr = ks->nr, M = jb->M, N = jb->N, K = jb->K;
  const long m0 = RK_FN(split_start)(M, mr, nt, tid), m1 = RK_FN(split_start)(M, mr, nt, tid + 1);
  const long mc_max = RK_FN(balanced_block)(m1 > m0 ? m1 - m0 : 1, ks->mc, mr);
  const long mc_pad = (mc_max + mr - 1) / mr * mr;
  const long kc_max = jb->kc_max, nc_max = jb->nc_max;
  // Scratch failure cannot abandon the barrier protocol: fall back to plain loops for our rows.
  RK_T *Ap = rk_scratch(0, (size_t)(mc_pad * kc_max + RK_PACK_SLACK) * sizeof(RK_T));
  int it = 0;
  for (long jc = 0; jc < N; jc += nc_max) {
    const long nc = N - jc < nc_max ? N - jc : nc_max;
    const long panels = (nc + nr - 1) / nr;
    for (long pc = 0; pc < K; pc += kc_max, it++) {
      const long kc = K - pc < kc_max ? K - pc : kc_max;
      const RK_T beta_k = pc == 0 ? jb->beta : (RK_T)1;
      RK_T *Bp = jb->Bbuf[it & 1];
      const long p0 = panels * tid / nt, p1 = panels * (tid + 1) / nt;
      if (p1 > p0) {
        const long j0 = jc + p0 * nr, j1 = jc + p1 * nr < jc + nc ? jc + p1 * nr : jc + nc;
        ks->pack_b(jb->transB, kc, j1 - j0,
                   jb->transB ? jb->B + j0 * jb->ldb + pc : jb->B + pc * jb->ldb + j0, jb->ldb,
                   Bp + p0 * nr * kc);
      }
      rk_pool_barrier(nt);
      for (long ic = m0; ic < m1; ic += mc_max) {
        const long mc = m1 - ic < mc_max ? m1 - ic : mc_max;
        RK_T *C = jb->C + ic * jb->ldc + jc;
        if (!Ap) {
          RK_FN(gemm_small)(jb->transA, jb->transB, mc, nc, kc, jb->alpha,
                            jb->transA ? jb->A + pc * jb->lda + ic : jb->A + ic * jb->lda + pc,
                            jb->lda, jb->transB ? jb->B + jc * jb->ldb + pc : jb->B + pc * jb->ldb + jc,
                            jb->ldb, beta_k, C, jb->ldc);
          continue;
        }
        ks->pack_a(jb->transA, mc, kc,
                   jb->transA ? jb->A + pc * jb->lda + ic : jb->A + ic * jb->lda + pc, jb->lda, Ap);
        RK_FN(macro_kernel)(ks, mc, nc, kc, Ap, Bp, C, jb->ldc, jb->alpha, beta_k);
      }
    }
  }
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

/// The parallel region: the team size is known only here (workers that arrive late skip).
static void RK_FN(task)(void *ctx, int tid, int nthreads) {
  const RK_FN(job) *jb = ctx;
  if (nthreads == 1) {
    RK_FN(run_part)(jb, 0, 1, 1);
  } else if (jb->shared) {
    RK_FN(run_shared)(jb, tid, nthreads);
  } else {
    int tm, tn;
    RK_FN(choose_grid)(jb->ks, jb->M, jb->N, nthreads, &tm, &tn);
    RK_FN(run_part)(jb, tid, tm, tn);
  }
}

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
  RK_FN(job) jb = {.ks = ks, .transA = transA, .transB = transB, .M = M, .N = N, .K = K,
                   .alpha = alpha, .beta = beta, .A = A, .B = B, .C = C,
                   .lda = lda, .ldb = ldb, .ldc = ldc};
  int nt = work < RK_GEMM_MT_MIN ? 1 : rk_get_num_threads();
  if (nt > 1 && work / nt < RK_GEMM_MT_PER_THREAD) nt = (int)(work / RK_GEMM_MT_PER_THREAD);
  if (nt > 1) {
    int tm, tn;
    RK_FN(choose_grid)(ks, M, N, nt, &tm, &tn);
    if (tm * tn == 1) nt = 1;  // too few micro-panels to split
  }
  if (nt <= 1) {
    RK_FN(run_part)(&jb, 0, 1, 1);
    return;
  }
  if (M >= (long)nt * RK_GEMM_SHARED_MIN_ROWS && N > 1) {  // N == 1: matrix-vector path
    // Enough rows per thread: split M and share the packed B blocks.
    jb.kc_max = RK_FN(kc_block)(ks, K);
    jb.nc_max = (N + ks->nr - 1) / ks->nr * ks->nr;
    if (jb.nc_max > ks->nc) jb.nc_max = ks->nc;
    const size_t bbytes = (size_t)(jb.nc_max * jb.kc_max + RK_PACK_SLACK) * sizeof(RK_T);
    jb.Bbuf[0] = rk_scratch(2, bbytes);
    jb.Bbuf[1] = rk_scratch(3, bbytes);
    jb.shared = jb.Bbuf[0] && jb.Bbuf[1];
  }
  // Workers get a share of the work only if they join within ~1/8 of the single-thread time
  // (at ~90 GFLOP/s, i.e. work / 45 ns): hot workers join at once, a descheduled one is skipped.
  long join_wait_ns = work / 45 / 8;
  if (join_wait_ns > RK_GEMM_MAX_JOIN_WAIT_NS) join_wait_ns = RK_GEMM_MAX_JOIN_WAIT_NS;
  rk_pool_run(RK_FN(task), &jb, nt, join_wait_ns);
}

// The LSTM time loops, forward and backward, each as one parallel region (semantics:
// include/rk_cells.h). Per step the step-by-step driver ran two thread hand-offs (the step GEMM,
// then the gate kernel) on the whole [B, 4H] slab; here every thread owns a range of hidden
// units [u0, u1) (whole 16-column micro-panels) for all T steps:
//
//   forward, step t:   G[t][:, q*H + u] += h_{t-1} . W_hh[q*H + u, :]^T   (q = i, f, g, o)
//                      gate kernel on units u of every row  -> c_t[:, u], h_t[:, u]
//                      barrier (step t + 1 reads all of h_t)
//   backward, step t:  gate backward on units u              -> dG[t][:, q*H + u], dc[:, u]
//                      barrier (the GEMM reads all of dG[t])
//                      dh_{t-1}[:, u] += dG[t] . W_hh[:, u]
//                      (step t - 1 reads only dh_{t-1}[:, u], which this thread wrote)
//
// so one barrier per step instead of two fork/joins, and the thread's slice of W_hh is packed
// into micro-panels once, not at every step. When W_hh is at most 4 MiB (configs S, M, L) the
// forward loop splits the batch rows instead (rk_seq_forward_rows_task): a row's recurrence
// needs only its own h, so there is no barrier between steps at all, and row groups are handed
// out dynamically, a few steps at a time, so a delayed core does less of the work. The GEMM
// pieces are rk_sgemm's (rk_sgemm_macro over the same K blocks in the same order), and the
// gate kernels compute each unit independently, so the bits equal the step-by-step driver's
// (rk_sgemm + rk_lstm_forward_f32 / _backward_f32) for any number of threads and either split.
//
// rk_lstm_forward_sequence_x_f32 starts from the batch-first input: the rows split computes
// each step's input projection x_t . W_ih^T for its own rows just before the recurrent product
// (the same K blocks of I, then of H, as the two separate GEMMs), so x is never copied
// time-major and the gates are written once, while hot; the units split keeps one big
// projection GEMM. Both write h_t straight into the batch-first output as well.
#include <stdatomic.h>

#include "rk_cells.h"
#include "rk_cpu.h"
#include "rk_gemm.h"
#include "rk_internal_cells.h"
#include "rk_internal_gemm.h"
#include "rk_internal_pool.h"

/// Largest slice of packed W_hh a thread keeps (floats): 4 MiB. Beyond it (H > ~1000 on two
/// threads) the panels are packed per step into an L1-sized buffer, as rk_sgemm does.
#define RK_SEQ_MAX_PACKED (1L << 20)

#ifndef RK_SEQ_4X16_PERCENT
#define RK_SEQ_4X16_PERCENT 105
#endif

/// rk_sgemm's kernel set, or its 4-row AVX2 variant (the same B panels, K blocks and bits) when
/// 6-row tiles would pad the B rows by more than 5% (B = 32 computes 36 rows with 6-row tiles):
/// the units split and the backward loop, which run every row of the batch in one M block.
static const rk_skernels *rk_seq_kernels(long B) {
  const rk_skernels *ks = rk_sgemm_kernels();
#if defined(__x86_64__)
  if (ks == &rk_skernels_avx2) {
    const long pad6 = (B + 5) / 6 * 6, pad4 = (B + 3) / 4 * 4;
    if (pad6 * 100 > pad4 * RK_SEQ_4X16_PERCENT) return &rk_skernels_avx2_4x16;
  }
#endif
  return ks;
}

typedef struct {
  const rk_skernels *ks;
  int avx2;
  long T, B, H;
  long kc_max, mc_max;
  const float *whh;  // [4H, H]
  // forward
  float *gates;       // [T*B, 4H]
  const float *bias;  // [4H]
  float *hs, *cs;     // [(T+1)*B, H]
  // backward
  const float *g;    // [T*B, 4H] activated gates
  const float *ccs;  // [(T+1)*B, H]
  float *dHs, *dh0, *dc, *dG, *db;
  float *shared_bp;  // forward, rows split: all of W_hh^T packed, shared by the threads
  // forward, rows split from the input (x != NULL): G[t] = x_t . W_ih^T inside the loop
  const float *x;     // [B, T, I] batch-first; step t reads time index t (reversed: T-1-t)
  const float *wih;   // [4H, I]
  long I, kcx_max;    // K blocks of the projection: rk_sgemm's for K = I
  int reversed;
  float *out;         // [B, T, H] batch-first copy of h_1...h_T, or NULL
  float *shared_bpx;  // forward, rows split: all of W_ih^T packed, shared by the threads
  // forward, rows split: the batch in row tiles of the kernel's MR rows (`full` of them), then
  // `fours` tiles of 4 rows and the rest; row group k is tiles [k tpg, (k + 1) tpg). Per group:
  // its next step (written only by the thread that holds it) and whether a thread holds it.
  const rk_skernels *rows_ks;
  long full, fours, tpg, groups;
  _Atomic long *group_next;
  _Atomic int *group_held;
  _Atomic int failed;
} rk_lstm_seq_job;

/// Step t's input rows: row b at rk_seq_x(jb, t) + b * T * I.
static const float *rk_seq_x(const rk_lstm_seq_job *jb, long t) {
  return jb->x + (jb->reversed ? jb->T - 1 - t : t) * jb->I;
}

/// Copies h_t of rows [r0, r1), units [u0, u1), into the batch-first output (if any).
static void rk_seq_copy_out(const rk_lstm_seq_job *jb, long t, long r0, long r1, long u0, long u1) {
  if (!jb->out) return;
  const long T = jb->T, B = jb->B, H = jb->H;
  const float *h = jb->hs + (t + 1) * B * H;
  for (long r = r0; r < r1; r++) {
    const float *src = h + r * H + u0;
    float *dst = jb->out + (r * T + t) * H + u0;
    for (long u = 0; u < u1 - u0; u++) dst[u] = src[u];
  }
}

/// One thread's share of a loop: its hidden units [u0, u1) (whole micro-panels; padded width
/// wpad), its scratch, and whether its slice of W_hh is packed once (else per panel, per step).
typedef struct {
  long u0, u1, w, wpad;
  float *Ap, *Bp;
  int prepacked;
} rk_seq_share;

/// Sets up member `tid`'s share; every member learns whether anyone's scratch failed before any
/// write. Returns 0, or -1 if the loop must not run.
static int rk_seq_begin(rk_lstm_seq_job *jb, int tid, int n, rk_seq_share *sh) {
  const long nr = jb->ks->nr, mr = jb->ks->mr, panels = (jb->H + nr - 1) / nr;
  const long p0 = panels * tid / n, p1 = panels * (tid + 1) / n;
  sh->u0 = p0 * nr;
  sh->u1 = p1 * nr < jb->H ? p1 * nr : jb->H;
  sh->w = sh->u1 - sh->u0;
  sh->wpad = (p1 - p0) * nr;
  const long mc_pad = (jb->mc_max + mr - 1) / mr * mr;
  sh->prepacked = 4 * sh->wpad * jb->H <= RK_SEQ_MAX_PACKED;
  const long bfloats = sh->prepacked ? 4 * sh->wpad * jb->H : nr * jb->kc_max;
  sh->Ap = rk_scratch(0, (size_t)(mc_pad * jb->kc_max + RK_PACK_SLACK) * sizeof(float));
  sh->Bp = rk_scratch(1, (size_t)(bfloats + RK_PACK_SLACK) * sizeof(float));
  if (!sh->Ap || !sh->Bp) atomic_store(&jb->failed, 1);
  rk_pool_barrier(n);
  return atomic_load(&jb->failed) ? -1 : 0;
}

/// C[mc x w] += Ap . op(B)[pc block, the share's columns], one K block of width kc: from the
/// share's packed slice at `packed`, or (not prepacked) packing each micro-panel of op(B) just
/// before use from `src` = op(B)[pc, u0] (rk_sgemm's small-M path).
static void rk_seq_multiply(const rk_skernels *ks, const rk_seq_share *sh, long mc, long kc,
                            const float *packed, int transB, const float *src, long ldb, float *C,
                            long ldc) {
  if (sh->prepacked) {
    rk_sgemm_macro(ks, mc, sh->w, kc, sh->Ap, packed, C, ldc, 1, 1);
    return;
  }
  for (long jr = 0; jr < sh->w; jr += ks->nr) {
    const long nn = sh->w - jr < ks->nr ? sh->w - jr : ks->nr;
    ks->pack_b(transB, kc, nn, transB ? src + jr * ldb : src + jr, ldb, sh->Bp);
    rk_sgemm_macro(ks, mc, nn, kc, sh->Ap, sh->Bp, C + jr, ldc, 1, 1);
  }
}

// ---- forward ----

/// Packed W_hh slice, forward operand op(B) = W_hh^T [H, 4H] restricted to the thread's gate
/// columns: K block pc at Bp + pc * 4 * wpad, gate q at + q * wpad * kc, panel j at + j * kc.
static void rk_seq_forward_task(void *ctx, int tid, int n) {
  rk_lstm_seq_job *jb = ctx;
  const rk_skernels *ks = jb->ks;
  const long T = jb->T, B = jb->B, H = jb->H, G = 4 * H;
  rk_seq_share sh;
  if (rk_seq_begin(jb, tid, n, &sh) != 0) return;
  const long u0 = sh.u0, w = sh.w, wpad = sh.wpad;
  if (sh.prepacked && w > 0)
    for (long pc = 0; pc < H; pc += jb->kc_max) {
      const long kc = H - pc < jb->kc_max ? H - pc : jb->kc_max;
      for (int q = 0; q < 4; q++)
        ks->pack_b(1, kc, w, jb->whh + (q * H + u0) * H + pc, H, sh.Bp + pc * 4 * wpad + q * wpad * kc);
    }
  for (long t = 0; t < T; t++) {
    const float *hPrev = jb->hs + t * B * H;
    float *g = jb->gates + t * B * G;
    if (w > 0) {
      // G[t][:, q*H + u] += h_{t-1} . W_hh^T[:, q*H + u]   (rk_sgemm(0, 1, B, 4H, H, 1, ...))
      for (long pc = 0; pc < H; pc += jb->kc_max) {
        const long kc = H - pc < jb->kc_max ? H - pc : jb->kc_max;
        for (long ic = 0; ic < B; ic += jb->mc_max) {
          const long mc = B - ic < jb->mc_max ? B - ic : jb->mc_max;
          ks->pack_a(0, mc, kc, hPrev + ic * H + pc, H, sh.Ap);
          for (int q = 0; q < 4; q++)
            rk_seq_multiply(ks, &sh, mc, kc, sh.Bp + pc * 4 * wpad + q * wpad * kc, 1,
                            jb->whh + (q * H + u0) * H + pc, H, g + ic * G + q * H + u0, G);
        }
      }
      // c_t, h_t on our units (adds the biases, activates the gates in place)
      rk_lstm_forward_units_f32(jb->avx2, B, H, u0, sh.u1, g, jb->bias, jb->cs + t * B * H,
                                jb->cs + (t + 1) * B * H, jb->hs + (t + 1) * B * H);
      rk_seq_copy_out(jb, t, 0, B, u0, sh.u1);
    }
    rk_pool_barrier(n);  // h_t complete before step t + 1 packs it
  }
}

/// Threads for a loop whose per-step work is B x 4H x H, at most `cap` (the units or rows it
/// can split). A step smaller than rk_sgemm's threading threshold (~3 us on one core) runs on
/// one thread: a barrier per step would cost more than the second core gains.
static int rk_seq_threads(const rk_lstm_seq_job *jb, long cap) {
  int nt = rk_get_num_threads();
  if (nt > cap) nt = (int)cap;
  if (jb->B * 4 * jb->H * jb->H < RK_GEMM_MT_MIN) nt = 1;
  return nt;
}

/// Runs `task` on `nt` threads of the pool (or inline).
static int rk_seq_run(rk_task_fn task, rk_lstm_seq_job *jb, int nt) {
  // A worker joins only within ~1/8 of one thread's time for the whole loop, at most 1 ms.
  long join_wait_ns = jb->T * jb->B * 4 * jb->H * jb->H / 45 / 8;
  if (join_wait_ns > 1000000L) join_wait_ns = 1000000L;
  if (nt <= 1)
    task(jb, 0, 1);
  else
    rk_pool_run(task, jb, nt, join_wait_ns);
  return atomic_load(&jb->failed) ? -1 : 0;
}

/// Whole 16-unit micro-panels of H: the most threads the units split can use.
static long rk_seq_panels(const rk_lstm_seq_job *jb) {
  return (jb->H + jb->ks->nr - 1) / jb->ks->nr;
}

// ---- forward, rows split ----

/// Step t of rows [r0, r1): the input projection (if the loop does it), the recurrent product,
/// the gate kernel and the copy into the batch-first output. Ap holds mc_max x max(kc) floats.
static void rk_seq_rows_step(const rk_lstm_seq_job *jb, const rk_skernels *ks, float *Ap,
                             long mc_max, long r0, long r1, long t) {
  const long T = jb->T, B = jb->B, H = jb->H, G = 4 * H, I = jb->I;
  const long npad = (G + ks->nr - 1) / ks->nr * ks->nr;
#if defined(__x86_64__)
  // A 4-row tile runs on the 4-row set: 4-row A panels and its 4x16 kernel, the same B panels
  // and arithmetic as the 6-row set's rows-4 kernel, without zero-filling two rows of every
  // 6-row A panel and reading them back.
  if (r1 - r0 == 4 && ks == &rk_skernels_avx2) ks = &rk_skernels_avx2_4x16;
#endif
  const float *hPrev = jb->hs + t * B * H;
  float *g = jb->gates + t * B * G;
  if (jb->x) {
    // G[t][r, :] = x_t[r, :] . W_ih^T   (rk_sgemm(0, 1, T*B, 4H, I, 1, X, ...) on these rows)
    const float *xt = rk_seq_x(jb, t);
    for (long pc = 0; pc < I; pc += jb->kcx_max) {
      const long kc = I - pc < jb->kcx_max ? I - pc : jb->kcx_max;
      for (long ic = r0; ic < r1; ic += mc_max) {
        const long mc = r1 - ic < mc_max ? r1 - ic : mc_max;
        ks->pack_a(0, mc, kc, xt + ic * T * I + pc, T * I, Ap);
        rk_sgemm_macro(ks, mc, G, kc, Ap, jb->shared_bpx + pc * npad, g + ic * G, G, 1,
                       pc == 0 ? 0 : 1);
      }
    }
  }
  // G[t][r, :] += h_{t-1}[r, :] . W_hh^T   (rk_sgemm(0, 1, B, 4H, H, 1, ...) on these rows)
  for (long pc = 0; pc < H; pc += jb->kc_max) {
    const long kc = H - pc < jb->kc_max ? H - pc : jb->kc_max;
    for (long ic = r0; ic < r1; ic += mc_max) {
      const long mc = r1 - ic < mc_max ? r1 - ic : mc_max;
      ks->pack_a(0, mc, kc, hPrev + ic * H + pc, H, Ap);
      rk_sgemm_macro(ks, mc, G, kc, Ap, jb->shared_bp + pc * npad, g + ic * G, G, 1, 1);
    }
  }
  // c_t, h_t of these rows (adds the biases, activates the gates in place)
  rk_lstm_forward_units_f32(jb->avx2, r1 - r0, H, 0, H, g + r0 * G, jb->bias,
                            jb->cs + t * B * H + r0 * H, jb->cs + (t + 1) * B * H + r0 * H,
                            jb->hs + (t + 1) * B * H + r0 * H);
  rk_seq_copy_out(jb, t, r0, r1, 0, H);
}

/// First row of row tile j (j = tiles: B).
static long rk_seq_tile_start(const rk_lstm_seq_job *jb, long j) {
  const long mr = jb->rows_ks->mr;
  if (j <= jb->full) return j * mr;
  if (j <= jb->full + jb->fours) return jb->full * mr + (j - jb->full) * 4;
  return jb->B;
}

/// First row of row group k (k = groups: B).
static long rk_seq_group_start(const rk_lstm_seq_job *jb, long k) {
  return k >= jb->groups ? jb->B : rk_seq_tile_start(jb, k * jb->tpg);
}

/// Steps a group runs per claim: short enough that the last claims end close together, long
/// enough that claiming (two atomics) is free and a group's h, c stay in one core's cache.
#define RK_SEQ_GROUP_STEPS 4

/// A row's recurrence reads only its own h_{t-1}, so the batch is cut into row groups that
/// advance independently, and the threads share them out dynamically: each claims the least
/// advanced free group, runs RK_SEQ_GROUP_STEPS steps of it, releases it and claims again. No
/// barrier in the loop (one after the shared packing of W_hh^T), and no fixed share either:
/// when the host delays one vCPU the other runs more of the groups, so a call ends about when
/// the pair's total work is done, not when the slower thread's half is. Packed W_hh^T:
/// rk_sgemm_pack_b's layout (K block pc at Bp + pc * npad, panel j0 at + j0 * kc), each thread
/// packing a share of the panels.
static void rk_seq_forward_rows_task(void *ctx, int tid, int n) {
  rk_lstm_seq_job *jb = ctx;
  const long T = jb->T, H = jb->H, G = 4 * H, I = jb->I, groups = jb->groups;
  const rk_skernels *ks = jb->rows_ks;
  const long nr = ks->nr, npad = (G + nr - 1) / nr * nr, panels = npad / nr;
  const long kc_max = jb->kc_max, mc_max = rk_sgemm_mc(ks, jb->tpg * ks->mr);
  const long mc_pad = (mc_max + ks->mr - 1) / ks->mr * ks->mr;
  const long kc_all = kc_max > jb->kcx_max ? kc_max : jb->kcx_max;
  float *Ap = rk_scratch(0, (size_t)(mc_pad * kc_all + RK_PACK_SLACK) * sizeof(float));
  if (!Ap) atomic_store(&jb->failed, 1);
  const long p0 = panels * tid / n, p1 = panels * (tid + 1) / n;
  const long j0 = p0 * nr, j1 = p1 * nr < G ? p1 * nr : G;
  if (p1 > p0) {
    for (long pc = 0; pc < H; pc += kc_max) {
      const long kc = H - pc < kc_max ? H - pc : kc_max;
      ks->pack_b(1, kc, j1 - j0, jb->whh + j0 * H + pc, H, jb->shared_bp + pc * npad + j0 * kc);
    }
    for (long pc = 0; jb->x && pc < I; pc += jb->kcx_max) {
      const long kc = I - pc < jb->kcx_max ? I - pc : jb->kcx_max;
      ks->pack_b(1, kc, j1 - j0, jb->wih + j0 * I + pc, I, jb->shared_bpx + pc * npad + j0 * kc);
    }
  }
  rk_pool_barrier(n);  // W_hh^T (and W_ih^T) packed; everyone's scratch known
  if (atomic_load(&jb->failed)) return;
  long last = groups * tid / n;  // ties go to the group this thread ran last (its h, c are hot)
  for (;;) {
    long k = -1, k_next = T;
    for (long m = 0; m < groups; m++) {
      const long c = (last + m) % groups;
      const long next = atomic_load_explicit(&jb->group_next[c], memory_order_relaxed);
      if (next < k_next && !atomic_load_explicit(&jb->group_held[c], memory_order_relaxed)) {
        k = c;
        k_next = next;
      }
    }
    // Every group is finished or held; a holder claims again after its steps, so none is left.
    if (k < 0) return;
    int free_ = 0;
    if (!atomic_compare_exchange_strong(&jb->group_held[k], &free_, 1)) continue;  // taken since
    const long t0 = atomic_load(&jb->group_next[k]);
    const long t1 = T - t0 < RK_SEQ_GROUP_STEPS ? T : t0 + RK_SEQ_GROUP_STEPS;
    const long r0 = rk_seq_group_start(jb, k), r1 = rk_seq_group_start(jb, k + 1);
    for (long t = t0; t < t1; t++) rk_seq_rows_step(jb, ks, Ap, mc_max, r0, r1, t);
    atomic_store(&jb->group_next[k], t1);
    atomic_store(&jb->group_held[k], 0);  // releases the steps' writes to the next holder
    last = k;
  }
}

/// The rows split runs when every thread gets at least RK_SEQ_ROWS_MIN rows and all of W_hh^T
/// packed (4H x H floats) is at most RK_SEQ_ROWS_MAX_PACKED floats (4 MiB: H <= 512, config
/// L's W_hh). Every group step then reads all of it (and of W_ih^T, when the loop projects x),
/// from L3 at these sizes (32 MiB here); the units split reads each thread's half once per step
/// but has a barrier per step, so every delay of either vCPU holds up both, and packs all of
/// h_{t-1} on both threads. Measured on config L forward from x (B 64, T 100, I 512, H 512), C
/// harness, 4 alternating pairs of 15 runs, p50: units 220.1 / 203.3 / 205.8 / 209.0 ms, rows
/// with the projection in the loop 194.6 / 195.0 / 206.4 / 199.8; in one process interleaved
/// with onnxruntime's LSTM (12 rounds of 6 runs), p50: units 209.4, rows 190.7, rows after one
/// projection GEMM 193.9, onnxruntime 204.1. Config M: rows 43.9 ms against units 46.1 (8
/// alternating rounds of 30 runs, median of the round medians; static halves of the batch then).
/// W_ih^T (4H x I) is projected inside the rows loop under the same bound.
#ifndef RK_SEQ_ROWS_MIN
#define RK_SEQ_ROWS_MIN 8
#endif
#ifndef RK_SEQ_ROWS_MAX_PACKED
#define RK_SEQ_ROWS_MAX_PACKED (1024L * 1024)
#endif
/// Row groups in the rows split: one per row tile (6 rows with the AVX2 kernels: B 64 runs 10
/// groups of 6 rows and one of 4, B 32 four of 6 and two of 4), at most RK_SEQ_MAX_GROUPS.
/// 6-row tiles on the 6x16 kernel, not 8-row groups on the 4x16 one: W_hh^T and W_ih^T packed
/// (1.5 MiB at config M) do not fit in L2 and stream from L3 at every group step, and the 6x16
/// kernel needs 64 bytes of them per 12 FMAs against the 4x16's per 8 (one thread, N 1024,
/// kc 256, C harness: 93 GFLOP/s with 6-row tiles, 82 with 4-row ones). Measured on config M
/// forward from x (C harness, 4 alternating pairs of 40 runs): p50 44.6 / 43.2 / 45.5 / 42.3 ms
/// with 8 groups of 8 rows, 39.2 / 38.9 / 39.6 / 38.6 with 6-row tiles; config S level.
#define RK_SEQ_MAX_GROUPS 64

int rk_lstm_forward_sequence_x_f32(long T, long B, long I, long H, const float *x, int reversed,
                                   const float *wih, float *xs, int *x_copied, float *gates,
                                   const float *bias, const float *whh, float *hs, float *cs,
                                   float *out) {
  if (x_copied) *x_copied = 0;
  if (T <= 0) return 0;
  if (!rk_sgemm_is_blocked(B, 4 * H, H)) return 1;
  if (x && (I <= 0 || !rk_sgemm_is_blocked(T * B, 4 * H, I))) return 1;
  const rk_skernels *ks = rk_seq_kernels(B);
  rk_lstm_seq_job jb = {.ks = ks, .avx2 = rk_cells_use_avx2(), .T = T, .B = B, .H = H,
                        .kc_max = rk_sgemm_kc(ks, H), .mc_max = rk_sgemm_mc(ks, B), .whh = whh,
                        .gates = gates, .bias = bias, .hs = hs, .cs = cs, .reversed = reversed,
                        .out = out};
  const long npad = (4 * H + ks->nr - 1) / ks->nr * ks->nr;
  const int row_threads = rk_seq_threads(&jb, B / RK_SEQ_ROWS_MIN);
  const int rows = npad * H <= RK_SEQ_ROWS_MAX_PACKED && row_threads > 1;
  if (x && rows && npad * I <= RK_SEQ_ROWS_MAX_PACKED) {
    // The rows split projects each step's rows itself (W_ih^T packed once, shared).
    jb.x = x, jb.wih = wih, jb.I = I, jb.kcx_max = rk_sgemm_kc(ks, I);
    jb.shared_bpx = rk_scratch(3, (size_t)(npad * I + RK_PACK_SLACK) * sizeof(float));
    if (!jb.shared_bpx) return -1;
  } else if (x) {
    // One big GEMM over all steps reuses each packed block of W_ih^T across T*B rows: faster
    // than per-step projections once W_ih is large (B 64, I 512, H 512: 7% at the minimum).
    rk_swap_batch_time_f32(B, T, I, reversed, 1, x, xs);
    rk_sgemm(0, 1, T * B, 4 * H, I, 1, xs, I, wih, I, 0, gates, 4 * H);
    if (x_copied) *x_copied = 1;
  }
  if (rows) {
    jb.shared_bp = rk_scratch(2, (size_t)(npad * H + RK_PACK_SLACK) * sizeof(float));
    if (!jb.shared_bp) return -1;
    // Row tiles: whole MR-row tiles; with 6-row tiles and a 4-row kernel, a remainder of 4
    // rows (or 2, as 8 = 4 + 4) becomes 4-row tiles instead of a padded 6-row tile.
    const rk_skernels *rks = rk_sgemm_kernels();
    const long mr = rks->mr, left = B % mr;
    jb.rows_ks = rks;
    jb.fours = mr == 6 && rks->kernel_rows4 ? (left == 4 ? 1 : left == 2 && B >= 8 ? 2 : 0) : 0;
    jb.full = (B - 4 * jb.fours) / mr;
    const long tiles = jb.full + jb.fours + (B - jb.full * mr - 4 * jb.fours > 0);
    // One tile per group, fewer groups of more tiles beyond RK_SEQ_MAX_GROUPS.
    jb.tpg = (tiles + RK_SEQ_MAX_GROUPS - 1) / RK_SEQ_MAX_GROUPS;
    jb.groups = (tiles + jb.tpg - 1) / jb.tpg;
    _Atomic long group_next[RK_SEQ_MAX_GROUPS];
    _Atomic int group_held[RK_SEQ_MAX_GROUPS];
    for (long k = 0; k < jb.groups; k++) {
      atomic_init(&group_next[k], 0);
      atomic_init(&group_held[k], 0);
    }
    jb.group_next = group_next, jb.group_held = group_held;
    return rk_seq_run(rk_seq_forward_rows_task, &jb, row_threads);
  }
  return rk_seq_run(rk_seq_forward_task, &jb, rk_seq_threads(&jb, rk_seq_panels(&jb)));
}

int rk_lstm_forward_sequence_f32(long T, long B, long H, float *gates, const float *bias,
                                 const float *whh, float *hs, float *cs) {
  return rk_lstm_forward_sequence_x_f32(T, B, 0, H, NULL, 0, NULL, NULL, NULL, gates, bias, whh, hs, cs,
                                        NULL);
}

// ---- backward ----

/// Packed W_hh slice, backward operand op(B) = W_hh [4H, H] restricted to the thread's columns
/// u: K block pc (rows of W_hh) at Bp + pc * wpad, panel j at + j * kc.
static void rk_seq_backward_task(void *ctx, int tid, int n) {
  rk_lstm_seq_job *jb = ctx;
  const rk_skernels *ks = jb->ks;
  const long T = jb->T, B = jb->B, H = jb->H, G = 4 * H;
  rk_seq_share sh;
  if (rk_seq_begin(jb, tid, n, &sh) != 0) return;
  const long u0 = sh.u0, w = sh.w, wpad = sh.wpad;
  if (sh.prepacked && w > 0)
    for (long pc = 0; pc < G; pc += jb->kc_max) {
      const long kc = G - pc < jb->kc_max ? G - pc : jb->kc_max;
      ks->pack_b(0, kc, w, jb->whh + pc * H + u0, H, sh.Bp + pc * wpad);
    }
  for (long t = T - 1; t >= 0; t--) {
    const float *dG = jb->dG + t * B * G;
    float *dhPrev = t > 0 ? jb->dHs + (t - 1) * B * H : jb->dh0;
    // reverses the gate kernel on our units: dG[t][:, q*H + u], dc[:, u], db[q*H + u]
    if (w > 0)
      rk_lstm_backward_units_f32(jb->avx2, B, H, u0, sh.u1, jb->g + t * B * G, jb->ccs + t * B * H,
                                 jb->ccs + (t + 1) * B * H, jb->dHs + t * B * H, jb->dc,
                                 jb->dG + t * B * G, jb->db);
    rk_pool_barrier(n);  // dG[t] complete before anyone multiplies it
    if (w == 0) continue;
    // reverses G[t] += h_{t-1} . W_hh^T:  dh_{t-1}[:, u] += dG[t] . W_hh[:, u]
    // (rk_sgemm(0, 0, B, H, 4H, 1, dG, 4H, W_hh, H, 1, dh_{t-1}, H))
    for (long pc = 0; pc < G; pc += jb->kc_max) {
      const long kc = G - pc < jb->kc_max ? G - pc : jb->kc_max;
      for (long ic = 0; ic < B; ic += jb->mc_max) {
        const long mc = B - ic < jb->mc_max ? B - ic : jb->mc_max;
        ks->pack_a(0, mc, kc, dG + ic * G + pc, G, sh.Ap);
        rk_seq_multiply(ks, &sh, mc, kc, sh.Bp + pc * wpad, 0, jb->whh + pc * H + u0, H,
                        dhPrev + ic * H + u0, H);
      }
    }
  }
}

int rk_lstm_backward_sequence_f32(long T, long B, long H, const float *gates, const float *cs,
                                  const float *whh, float *dHs, float *dh0, float *dc, float *dG,
                                  float *db) {
  if (T <= 0) return 0;
  if (!rk_sgemm_is_blocked(B, H, 4 * H)) return 1;
  const rk_skernels *ks = rk_seq_kernels(B);
  rk_lstm_seq_job jb = {.ks = ks, .avx2 = rk_cells_use_avx2(), .T = T, .B = B, .H = H,
                        .kc_max = rk_sgemm_kc(ks, 4 * H), .mc_max = rk_sgemm_mc(ks, B),
                        .whh = whh, .g = gates, .ccs = cs, .dHs = dHs, .dh0 = dh0, .dc = dc,
                        .dG = dG, .db = db};
  return rk_seq_run(rk_seq_backward_task, &jb, rk_seq_threads(&jb, rk_seq_panels(&jb)));
}

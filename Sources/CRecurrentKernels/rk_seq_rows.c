// The forward time loop's rows split, for the LSTM and the GRU (reset-after): a row's
// recurrence reads only its own h_{t-1}, so the batch is cut into row groups that advance
// independently, each thread claiming groups a few steps at a time, with no barrier between
// steps. Per group step: the input projection x_t . W_ih^T of its rows (when the loop does it),
// the recurrent product h_{t-1} . W_hh^T against all of W_hh^T packed once and shared, then the
// cell's gate kernel on those rows. The GEMM pieces are rk_sgemm's (rk_sgemm_macro over the
// same K blocks in the same order; beta 0 on the first K block where rk_sgemm's beta is 0) and
// the gate kernels compute each row alone, so the bits equal the step-by-step driver's for any
// number of threads:
//   LSTM: G[t] = x_t W_ih^T;  G[t] += h_{t-1} W_hh^T;  rk_lstm_forward_f32
//   GRU:  G[t] = x_t W_ih^T;  R = h_{t-1} W_hh^T (beta 0: reset-after needs W_hn h apart);
//         rk_gru_forward_f32
// Also the helpers the units split (rk_seq_units.c) shares.
#include "rk_cells.h"
#include "rk_cpu.h"
#include "rk_gemm.h"
#include "rk_internal_cells.h"
#include "rk_internal_seq.h"

#ifndef RK_SEQ_4X16_PERCENT
#define RK_SEQ_4X16_PERCENT 105
#endif

/// B = 32 computes 36 rows with 6-row tiles: the units split and the backward loop, which run
/// every row of the batch in one M block, take the 4-row set then.
const rk_skernels *rk_seq_kernels(long B) {
  const rk_skernels *ks = rk_sgemm_kernels();
#if defined(__x86_64__)
  if (ks == &rk_skernels_avx2) {
    const long pad6 = (B + 5) / 6 * 6, pad4 = (B + 3) / 4 * 4;
    if (pad6 * 100 > pad4 * RK_SEQ_4X16_PERCENT) return &rk_skernels_avx2_4x16;
  }
#endif
  return ks;
}

/// A step smaller than rk_sgemm's threading threshold (~3 us on one core) runs on one thread:
/// a barrier per step would cost more than the second core gains.
int rk_seq_threads(const rk_seq_job *jb, long cap) {
  int nt = rk_get_num_threads();
  if (nt > cap) nt = (int)cap;
  if (jb->B * jb->G * jb->H < RK_GEMM_MT_MIN) nt = 1;
  return nt;
}

int rk_seq_run(rk_task_fn task, rk_seq_job *jb, int nt) {
  // A worker joins only within ~1/8 of one thread's time for the whole loop, at most 1 ms.
  long join_wait_ns = jb->T * jb->B * jb->G * jb->H / 45 / 8;
  if (join_wait_ns > 1000000L) join_wait_ns = 1000000L;
  if (nt <= 1)
    task(jb, 0, 1);
  else
    rk_pool_run(task, jb, nt, join_wait_ns);
  return atomic_load(&jb->failed) ? -1 : 0;
}

/// Step t's input rows: row b at rk_seq_x(jb, t) + b * T * I.
static const float *rk_seq_x(const rk_seq_job *jb, long t) {
  return jb->x + (jb->reversed ? jb->T - 1 - t : t) * jb->I;
}

void rk_seq_copy_out(const rk_seq_job *jb, long t, long r0, long r1, long u0, long u1) {
  if (!jb->out) return;
  const long T = jb->T, B = jb->B, H = jb->H;
  const float *h = jb->hs + (t + 1) * B * H;
  for (long r = r0; r < r1; r++) {
    const float *src = h + r * H + u0;
    float *dst = jb->out + (r * T + t) * H + u0;
    for (long u = 0; u < u1 - u0; u++) dst[u] = src[u];
  }
}

// ---- forward, rows split ----

/// Step t of rows [r0, r1): the input projection (if the loop does it), the recurrent product,
/// the gate kernel and the copy into the batch-first output. Ap holds mc_max x max(kc) floats.
static void rk_seq_rows_step(const rk_seq_job *jb, const rk_skernels *ks, float *Ap,
                             long mc_max, long r0, long r1, long t) {
  const long T = jb->T, B = jb->B, H = jb->H, G = jb->G, I = jb->I;
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
    // G[t][r, :] = x_t[r, :] . W_ih^T   (rk_sgemm(0, 1, T*B, G, I, 1, X, ...) on these rows)
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
  // LSTM: G[t][r, :] += h_{t-1}[r, :] . W_hh^T   (rk_sgemm(0, 1, B, 4H, H, 1, ..., 1, G[t], 4H))
  // GRU:  R[r, :] = h_{t-1}[r, :] . W_hh^T        (rk_sgemm(0, 1, B, 3H, H, 1, ..., 0, R, 3H))
  float *acc = jb->gru ? jb->rec : g;
  for (long pc = 0; pc < H; pc += jb->kc_max) {
    const long kc = H - pc < jb->kc_max ? H - pc : jb->kc_max;
    for (long ic = r0; ic < r1; ic += mc_max) {
      const long mc = r1 - ic < mc_max ? r1 - ic : mc_max;
      ks->pack_a(0, mc, kc, hPrev + ic * H + pc, H, Ap);
      rk_sgemm_macro(ks, mc, G, kc, Ap, jb->shared_bp + pc * npad, acc + ic * G, G, 1,
                     jb->gru && pc == 0 ? 0 : 1);
    }
  }
  float *hNext = jb->hs + (t + 1) * B * H + r0 * H;
  if (jb->gru)
    // r, z, n and h_t of these rows (adds the biases, activates the gates in place; hn saved)
    rk_gru_forward_rows_f32(jb->avx2, r1 - r0, H, g + r0 * G, jb->rec + r0 * G, jb->bih, jb->bhh,
                            hPrev + r0 * H, jb->hn + (t * B + r0) * H, hNext);
  else
    // c_t, h_t of these rows (adds the biases, activates the gates in place)
    rk_lstm_forward_units_f32(jb->avx2, r1 - r0, H, 0, H, g + r0 * G, jb->bias,
                              jb->cs + t * B * H + r0 * H, jb->cs + (t + 1) * B * H + r0 * H,
                              hNext);
  rk_seq_copy_out(jb, t, r0, r1, 0, H);
}

/// First row of row tile j (j = tiles: B).
static long rk_seq_tile_start(const rk_seq_job *jb, long j) {
  const long mr = jb->rows_ks->mr;
  if (j <= jb->full) return j * mr;
  if (j <= jb->full + jb->fours) return jb->full * mr + (j - jb->full) * 4;
  return jb->B;
}

/// First row of row group k (k = groups: B).
static long rk_seq_group_start(const rk_seq_job *jb, long k) {
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
  rk_seq_job *jb = ctx;
  const long T = jb->T, H = jb->H, G = jb->G, I = jb->I, groups = jb->groups;
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
/// packed (G x H floats) is at most RK_SEQ_ROWS_MAX_PACKED floats (4 MiB: H <= 512 for the
/// LSTM, H <= 591 for the GRU; config L's W_hh). Every group step then reads all of it (and of W_ih^T, when the loop projects x),
/// from L3 at these sizes (32 MiB here); the units split reads each thread's half once per step
/// but has a barrier per step, so every delay of either vCPU holds up both, and packs all of
/// h_{t-1} on both threads. Measured on config L forward from x (B 64, T 100, I 512, H 512), C
/// harness, 4 alternating pairs of 15 runs, p50: units 220.1 / 203.3 / 205.8 / 209.0 ms, rows
/// with the projection in the loop 194.6 / 195.0 / 206.4 / 199.8; in one process interleaved
/// with onnxruntime's LSTM (12 rounds of 6 runs), p50: units 209.4, rows 190.7, rows after one
/// projection GEMM 193.9, onnxruntime 204.1. Config M: rows 43.9 ms against units 46.1 (8
/// alternating rounds of 30 runs, median of the round medians; static halves of the batch then).
/// W_ih^T (G x I) is projected inside the rows loop under the same bound.
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


int rk_seq_rows_threads(const rk_seq_job *jb, int single) {
  const long npad = (jb->G + jb->ks->nr - 1) / jb->ks->nr * jb->ks->nr;
  if (npad * jb->H > RK_SEQ_ROWS_MAX_PACKED) return 0;
  const long cap = jb->B / RK_SEQ_ROWS_MIN;
  const int nt = rk_seq_threads(jb, cap > 1 ? cap : 1);
  return nt > 1 || single ? nt : 0;
}

int rk_seq_plan_projection(rk_seq_job *jb, int rows, const float *x, long I, int reversed,
                           const float *wih, float *xs, int *x_copied) {
  const long T = jb->T, B = jb->B, G = jb->G;
  const long npad = (G + jb->ks->nr - 1) / jb->ks->nr * jb->ks->nr;
  if (rows > 0 && npad * I <= RK_SEQ_ROWS_MAX_PACKED) {
    // The rows split projects each step's rows itself (W_ih^T packed once, shared).
    jb->x = x, jb->wih = wih, jb->I = I, jb->reversed = reversed;
    jb->kcx_max = rk_sgemm_kc(jb->ks, I);
    jb->shared_bpx = rk_scratch(3, (size_t)(npad * I + RK_PACK_SLACK) * sizeof(float));
    return jb->shared_bpx ? 0 : -1;
  }
  // One big GEMM over all steps reuses each packed block of W_ih^T across T*B rows: faster
  // than per-step projections once W_ih is large (LSTM, B 64, I 512, H 512: 7% at the minimum).
  rk_swap_batch_time_f32(B, T, I, reversed, 1, x, xs);
  rk_sgemm(0, 1, T * B, G, I, 1, xs, I, wih, I, 0, jb->gates, G);
  if (x_copied) *x_copied = 1;
  return 0;
}

int rk_seq_forward_rows(rk_seq_job *jb, int rows) {
  const long B = jb->B, H = jb->H;
  const long npad = (jb->G + jb->ks->nr - 1) / jb->ks->nr * jb->ks->nr;
  jb->shared_bp = rk_scratch(2, (size_t)(npad * H + RK_PACK_SLACK) * sizeof(float));
  if (!jb->shared_bp) return -1;
  // Row tiles: whole MR-row tiles; with 6-row tiles and a 4-row kernel, a remainder of 4 rows
  // (or 2, as 8 = 4 + 4) becomes 4-row tiles instead of a padded 6-row tile.
  const rk_skernels *rks = rk_sgemm_kernels();
  const long mr = rks->mr, left = B % mr;
  jb->rows_ks = rks;
  jb->fours = mr == 6 && rks->kernel_rows4 ? (left == 4 ? 1 : left == 2 && B >= 8 ? 2 : 0) : 0;
  jb->full = (B - 4 * jb->fours) / mr;
  const long tiles = jb->full + jb->fours + (B - jb->full * mr - 4 * jb->fours > 0);
  // One tile per group, fewer groups of more tiles beyond RK_SEQ_MAX_GROUPS.
  jb->tpg = (tiles + RK_SEQ_MAX_GROUPS - 1) / RK_SEQ_MAX_GROUPS;
  jb->groups = (tiles + jb->tpg - 1) / jb->tpg;
  _Atomic long group_next[RK_SEQ_MAX_GROUPS];
  _Atomic int group_held[RK_SEQ_MAX_GROUPS];
  for (long k = 0; k < jb->groups; k++) {
    atomic_init(&group_next[k], 0);
    atomic_init(&group_held[k], 0);
  }
  jb->group_next = group_next, jb->group_held = group_held;
  return rk_seq_run(rk_seq_forward_rows_task, jb, rows);
}

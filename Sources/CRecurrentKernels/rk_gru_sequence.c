// The GRU (reset-after) time loops, each as one parallel region (semantics:
// include/rk_cells.h). The step-by-step driver ran, per step, rk_sgemm for R = h_{t-1} W_hh^T
// (packing W_hh^T again at every step) and then the gate kernel, two thread hand-offs on the
// whole batch. Here the forward is the rows split of rk_seq_rows.c for all T steps: W_hh^T (and
// W_ih^T, when the loop projects x) packed once and shared, row groups claimed a few steps at
// a time, no barrier between steps. The backward is the units split of rk_seq_units.c. Both
// give the same bits as the step-by-step driver for any thread count.
#include "rk_cells.h"
#include "rk_gemm.h"
#include "rk_internal_cells.h"
#include "rk_internal_seq.h"

int rk_gru_forward_sequence_x_f32(long T, long B, long I, long H, const float *x, int reversed,
                                  const float *wih, float *xs, int *x_copied, float *gates,
                                  const float *bih, const float *bhh, const float *whh,
                                  float *rec, float *hs, float *hn, float *out) {
  if (x_copied) *x_copied = 0;
  if (T <= 0) return 0;
  if (!rk_sgemm_is_blocked(B, 3 * H, H)) return 1;
  if (x && (I <= 0 || !rk_sgemm_is_blocked(T * B, 3 * H, I))) return 1;
  const rk_skernels *ks = rk_seq_kernels(B);
  rk_seq_job jb = {.ks = ks, .avx2 = rk_cells_use_avx2(), .gru = 1, .T = T, .B = B, .H = H,
                   .G = 3 * H, .kc_max = rk_sgemm_kc(ks, H), .mc_max = rk_sgemm_mc(ks, B),
                   .whh = whh, .gates = gates, .hs = hs, .rec = rec, .bih = bih, .bhh = bhh,
                   .hn = hn, .out = out};
  // One thread runs the rows loop too: W_hh^T is still packed once, not at every step.
  const int rows = rk_seq_rows_threads(&jb, 1);
  if (!rows) return 1;
  if (x && rk_seq_plan_projection(&jb, rows, x, I, reversed, wih, xs, x_copied) != 0) return -1;
  return rk_seq_forward_rows(&jb, rows);
}

/// The backward by the units split of rk_seq_units.c: per step the gate backward on each
/// thread's units, a barrier, then dh_{t-1}[:, u] += dG_h[t] . W_hh[:, u] with the thread's
/// slice of W_hh packed once (the step driver packed all of it at every step).
int rk_gru_backward_sequence_f32(long T, long B, long H, const float *gates, const float *hn,
                                 const float *hs, const float *whh, float *dHs, float *dh0,
                                 float *dGx, float *dGh, float *dbx, float *dbh) {
  if (T <= 0) return 0;
  if (!rk_sgemm_is_blocked(B, H, 3 * H)) return 1;
  const rk_skernels *ks = rk_seq_kernels(B);
  rk_seq_job jb = {.ks = ks, .avx2 = rk_cells_use_avx2(), .gru = 1, .T = T, .B = B, .H = H,
                   .G = 3 * H, .kc_max = rk_sgemm_kc(ks, 3 * H), .mc_max = rk_sgemm_mc(ks, B),
                   .whh = whh, .g = gates, .hn = (float *)hn, .hs = (float *)hs, .dHs = dHs,
                   .dh0 = dh0, .dG = dGx, .dGh = dGh, .db = dbx, .dbh = dbh};
  return rk_seq_backward_units(&jb);
}

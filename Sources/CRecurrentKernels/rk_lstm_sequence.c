// The LSTM's fused time loops (semantics: include/rk_cells.h): the forward by the rows split
// (rk_seq_rows.c) when W_hh is at most 1M floats and each thread gets 8 or more rows, else by
// the units split (rk_seq_units.c); the backward by the units split.
#include "rk_cells.h"
#include "rk_gemm.h"
#include "rk_internal_cells.h"
#include "rk_internal_seq.h"

int rk_lstm_forward_sequence_x_f32(long T, long B, long I, long H, const float *x, int reversed,
                                   const float *wih, float *xs, int *x_copied, float *gates,
                                   const float *bias, const float *whh, float *hs, float *cs,
                                   float *out) {
  if (x_copied) *x_copied = 0;
  if (T <= 0) return 0;
  if (!rk_sgemm_is_blocked(B, 4 * H, H)) return 1;
  if (x && (I <= 0 || !rk_sgemm_is_blocked(T * B, 4 * H, I))) return 1;
  const rk_skernels *ks = rk_seq_kernels(B);
  rk_seq_job jb = {.ks = ks, .avx2 = rk_cells_use_avx2(), .T = T, .B = B, .H = H, .G = 4 * H,
                   .kc_max = rk_sgemm_kc(ks, H), .mc_max = rk_sgemm_mc(ks, B), .whh = whh,
                   .gates = gates, .bias = bias, .hs = hs, .cs = cs, .out = out};
  const int rows = rk_seq_rows_threads(&jb, 0);
  if (x && rk_seq_plan_projection(&jb, rows, x, I, reversed, wih, xs, x_copied) != 0) return -1;
  if (rows) return rk_seq_forward_rows(&jb, rows);
  return rk_seq_forward_units(&jb);
}

int rk_lstm_forward_sequence_f32(long T, long B, long H, float *gates, const float *bias,
                                 const float *whh, float *hs, float *cs) {
  return rk_lstm_forward_sequence_x_f32(T, B, 0, H, NULL, 0, NULL, NULL, NULL, gates, bias, whh, hs, cs,
                                        NULL);
}

// ---- backward ----

int rk_lstm_backward_sequence_f32(long T, long B, long H, const float *gates, const float *cs,
                                  const float *whh, float *dHs, float *dh0, float *dc, float *dG,
                                  float *db) {
  if (T <= 0) return 0;
  if (!rk_sgemm_is_blocked(B, H, 4 * H)) return 1;
  const rk_skernels *ks = rk_seq_kernels(B);
  rk_seq_job jb = {.ks = ks, .avx2 = rk_cells_use_avx2(), .T = T, .B = B, .H = H, .G = 4 * H,
                   .kc_max = rk_sgemm_kc(ks, 4 * H), .mc_max = rk_sgemm_mc(ks, B), .whh = whh,
                   .g = gates, .ccs = cs, .dHs = dHs, .dh0 = dh0, .dc = dc, .dG = dG, .db = db};
  return rk_seq_backward_units(&jb);
}

// Private: the fused time loops' shared job and helpers. rk_seq_rows.c has the forward rows
// split (LSTM and GRU) and the helpers below, rk_seq_units.c the units split (the LSTM forward,
// the LSTM and GRU backward); rk_lstm_sequence.c and rk_gru_sequence.c the entry points.
#ifndef RK_INTERNAL_SEQ_H
#define RK_INTERNAL_SEQ_H

#include <stdatomic.h>

#include "rk_internal_gemm.h"
#include "rk_internal_pool.h"

/// One fused loop: a cell, its shapes and buffers (time-major, as include/rk_cells.h says).
typedef struct {
  const rk_skernels *ks;
  int avx2;
  int gru;         // 0: LSTM, gates i | f | g | o (G = 4H); 1: GRU reset-after, r | z | n (G = 3H)
  long T, B, H, G;
  long kc_max, mc_max;
  const float *whh;  // [G, H]
  // forward
  float *gates;       // [T*B, G]
  const float *bias;  // [4H] LSTM: b_ih + b_hh
  float *hs, *cs;     // [(T+1)*B, H] (cs: LSTM)
  float *rec;         // [B, 3H] GRU: the step's h_{t-1} W_hh^T, row by row
  const float *bih, *bhh;  // [3H] GRU
  float *hn;          // [T*B, H] GRU: W_hn h_{t-1} + b_hn
  // backward (the GRU's also reads hs and hn)
  const float *g;    // [T*B, G] activated gates
  const float *ccs;  // [(T+1)*B, H] LSTM: the cell states
  float *dHs, *dh0, *dc, *dG, *db;  // dc: LSTM; dG [T*B, G]: dL/d(pre-activations); db [G]
  float *dGh, *dbh;  // GRU: [T*B, 3H] dL/d(h W_hh^T + b_hh) and [3H] its column sums
  float *shared_bp;  // forward, rows split: all of W_hh^T packed, shared by the threads
  // forward, rows split from the input (x != NULL): G[t] = x_t . W_ih^T inside the loop
  const float *x;     // [B, T, I] batch-first; step t reads time index t (reversed: T-1-t)
  const float *wih;   // [G, I]
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
} rk_seq_job;

/// rk_sgemm's kernel set, or its 4-row AVX2 variant (the same B panels, K blocks and bits) when
/// 6-row tiles would pad the B rows by more than 5%.
const rk_skernels *rk_seq_kernels(long B);

/// Threads for a loop whose per-step work is B x G x H, at most `cap`.
int rk_seq_threads(const rk_seq_job *jb, long cap);

/// Runs `task` on `nt` threads of the pool (or inline). Returns 0, or -1 if scratch failed.
int rk_seq_run(rk_task_fn task, rk_seq_job *jb, int nt);

/// Copies h_t of rows [r0, r1), units [u0, u1), into the batch-first output (if any).
void rk_seq_copy_out(const rk_seq_job *jb, long t, long r0, long r1, long u0, long u1);

/// Threads the forward rows split runs on, or 0 when it does not apply (W_hh^T packed larger
/// than RK_SEQ_ROWS_MAX_PACKED; fewer than RK_SEQ_ROWS_MIN rows per thread, or one thread,
/// unless `single` allows one).
int rk_seq_rows_threads(const rk_seq_job *jb, int single);

/// Sets up the input projection for a forward loop from x: inside the rows split (`rows`
/// threads > 0 and W_ih^T packed at most RK_SEQ_ROWS_MAX_PACKED; sets jb's x fields), or as one
/// rk_sgemm over all steps into jb->gates after copying x time-major into xs (*x_copied = 1).
/// Returns 0, or -1 if scratch failed (nothing written).
int rk_seq_plan_projection(rk_seq_job *jb, int rows, const float *x, long I, int reversed,
                           const float *wih, float *xs, int *x_copied);

/// The forward loop by the rows split on `rows` threads. Returns 0, or -1 if scratch failed.
int rk_seq_forward_rows(rk_seq_job *jb, int rows);

/// The LSTM forward loop by the units split (rk_seq_units.c). Returns as rk_seq_run.
int rk_seq_forward_units(rk_seq_job *jb);

/// The backward loop (LSTM or GRU) by the units split (rk_seq_units.c). Returns as rk_seq_run.
int rk_seq_backward_units(rk_seq_job *jb);

#endif

// Fused recurrent cell kernels (one time step, forward and backward side by side) and the small
// memory-bound helpers of the BPTT driver. Raw buffers only; every [R, C] matrix is row-major and
// contiguous (row stride C). Gate order follows PyTorch: LSTM i|f|g|o, GRU r|z|n.
//
// Float kernels have an AVX2+FMA variant chosen at run time (rk_active_isa(), so rk_force_isa
// switches them too) and a portable C fallback; their sigmoid / tanh are accurate to 1e-6
// relative. Double helpers are plain C (the Double cell math stays in Swift as the reference).
//
// Forward kernels take the gate pre-activations *without* biases (the input projection
// x W_ih^T and, for LSTM and SimpleRNN, the recurrent projection h W_hh^T accumulated into the
// same buffer) and add the biases themselves, so the driver never makes a separate bias pass.
#ifndef RK_CELLS_H
#define RK_CELLS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Caps the instruction set of the rk_cells kernels on the calling thread only (RK_ISA_PORTABLE
/// = 0: the portable kernels; -1: follow rk_active_isa(), the default). For tests: unlike
/// rk_force_isa it does not change what other threads (other tests) run.
void rk_cells_set_thread_isa(int isa);

// ---- LSTM ----

/// One LSTM step forward for `B` rows of `H` units.
///   g  [B, 4H]  in: a = x W_ih^T + h_{t-1} W_hh^T (no biases); out: activated i | f | g | o
///   bias [4H]   b_ih + b_hh
///   c_prev, c, h [B, H]:  c = f * c_prev + i * g;  h = o * tanh(c)
void rk_lstm_forward_f32(long B, long H, float *g, const float *bias, const float *c_prev,
                         float *c, float *h);

/// rk_lstm_forward_f32 with the rows split between the GEMM pool's threads (rk_set_num_threads)
/// when there are enough of them (B * H >= 2048 units); the same bits as rk_lstm_forward_f32
/// whatever the number of threads (each row is computed alone, by the caller's ISA choice).
void rk_lstm_forward_f32_mt(long B, long H, float *g, const float *bias, const float *c_prev,
                            float *c, float *h);

/// One LSTM step backward (reverses rk_lstm_forward_f32).
///   g [B, 4H]   the activated gates forward left;  c_prev, c [B, H] as forward left them
///   dh [B, H]   dL/dh_t (complete);  dc [B, H]  in dL/dc_t, out dL/dc_{t-1}
///   dg [B, 4H]  out: dL/da (pre-activation gradients)
///   db [4H]     if not NULL, += the column sums of dg (the bias gradient, while dg is hot)
void rk_lstm_backward_f32(long B, long H, const float *g, const float *c_prev, const float *c,
                          const float *dh, float *dc, float *dg, float *db);

/// The whole LSTM forward time loop (no masks): for t in 0..<T,
///   gates[t] += h_{t-1} W_hh^T, then rk_lstm_forward_f32 on it (c_t, h_t)
///   gates [T*B, 4H]  in: x W_ih^T per step (time-major, no biases); out: activated gates
///   bias [4H] b_ih + b_hh;  whh [4H, H] (rows i | f | g | o)
///   hs, cs [(T+1)*B, H]  slot 0: the initial state (in); slots 1...T: h_t, c_t (out)
/// One parallel region for all T steps: each thread owns a range of hidden units (one barrier
/// per step) or, when W_hh is at most 1M floats (H <= 512) and every thread gets 8 or more
/// rows, the threads claim groups of batch rows a few steps at a time (no barrier between
/// steps). The same bits as the step-by-step loop (rk_sgemm(0, 1, B, 4H, H, 1, h_{t-1}, H, whh,
/// H, 1, gates[t], 4H) then rk_lstm_forward_f32) for any number of threads.
/// Returns 0; 1 if the shape is one rk_sgemm does not block (B == 1, tiny): nothing was written,
/// run the step loop; -1 if scratch memory ran out: nothing was written.
int rk_lstm_forward_sequence_f32(long T, long B, long H, float *gates, const float *bias,
                                 const float *whh, float *hs, float *cs);


/// rk_lstm_forward_sequence_f32 from the batch-first input, projection included:
///   x [B, T, I] batch-first; step t uses time index t (reversed != 0: T-1-t, go_backwards)
///   wih [4H, I];  gates [T*B, 4H] out only (activated, as rk_lstm_forward_sequence_f32 leaves them)
///   xs [T*B, I] scratch: may receive x time-major; *x_copied (if not NULL) says whether it did
///   out [B, T, H] or NULL: h_t of step t also written at out[b, t] (processing order)
/// When the loop splits the batch rows and W_ih^T is small (4H x I <= 1M floats), each thread
/// projects its own rows step by step (no copy of x, no separate pass); otherwise x is copied to
/// xs and projected by one rk_sgemm. Either way the same bits as rk_sgemm(0, 1, T*B, 4H, I, 1,
/// xs, I, wih, I, 0, gates, 4H) then rk_lstm_forward_sequence_f32, for any number of threads.
/// x == NULL: exactly rk_lstm_forward_sequence_f32 (gates in). Returns as that function; 1 also
/// when I <= 0 or the projection is a product rk_sgemm does not block (nothing written).
int rk_lstm_forward_sequence_x_f32(long T, long B, long I, long H, const float *x, int reversed,
                                   const float *wih, float *xs, int *x_copied, float *gates,
                                   const float *bias, const float *whh, float *hs, float *cs,
                                   float *out);
/// The whole LSTM backward time loop (reverses rk_lstm_forward_sequence_f32): for t = T-1...0,
///   rk_lstm_backward_f32 on step t, then dh_{t-1} += dG[t] W_hh
///   gates [T*B, 4H], cs [(T+1)*B, H] as the forward left them; whh [4H, H]
///   dHs [T*B, H]  slot t: dL/dh_{t+1} from above (in); completed in place by the recurrence
///   dh0 [B, H]    += dL/dh_0;  dc [B, H]  in dL/dc_T, out dL/dc_0
///   dG [T*B, 4H]  out: dL/d(pre-activations);  db [4H] += their column sums (not NULL)
/// The same bits as the step-by-step loop for any number of threads; returns as the forward.
int rk_lstm_backward_sequence_f32(long T, long B, long H, const float *gates, const float *cs,
                                  const float *whh, float *dHs, float *dh0, float *dc, float *dG,
                                  float *db);

// ---- GRU (reset-after) ----

/// One GRU step forward.
///   g [B, 3H]    in: x W_ih^T (no bias); out: activated r | z | n
///   rec [B, 3H]  h_{t-1} W_hh^T (no bias); bih, bhh [3H]
///   h_prev [B, H];  hn [B, H] out: W_hn h_{t-1} + b_hn (saved for backward);  h [B, H] out
///   r, z = σ(x_rz + b_irz + rec_rz + b_hrz);  n = tanh(x_n + b_in + r * hn);
///   h = n + z * (h_prev - n)
void rk_gru_forward_f32(long B, long H, float *g, const float *rec, const float *bih,
                        const float *bhh, const float *h_prev, float *hn, float *h);

/// rk_gru_forward_f32 with the rows split between the GEMM pool's threads when there are enough
/// of them (B * H >= 2048 units); the same bits whatever the number of threads.
void rk_gru_forward_f32_mt(long B, long H, float *g, const float *rec, const float *bih,
                           const float *bhh, const float *h_prev, float *hn, float *h);

/// The whole GRU forward time loop from the batch-first input (no masks): for t in 0..<T,
///   gates[t] = x_t W_ih^T;  rec = h_{t-1} W_hh^T;  rk_gru_forward_f32 on them (hn[t], h_t)
///   x [B, T, I] batch-first; step t uses time index t (reversed != 0: T-1-t, go_backwards);
///   x == NULL: gates [T*B, 3H] already hold x W_ih^T per step (time-major, no bias)
///   wih [3H, I];  whh [3H, H];  bih, bhh [3H];  gates [T*B, 3H] out: activated r | z | n
///   xs [T*B, I] scratch: may receive x time-major; *x_copied (if not NULL) says whether it did
///   rec [B, 3H] scratch;  hs [(T+1)*B, H] slot 0: h_0 (in), slots 1...T: h_t (out)
///   hn [T*B, H] out: W_hn h_{t-1} + b_hn per step;  out [B, T, H] or NULL: h_t at out[b, t]
/// The threads claim groups of batch rows a few steps at a time (no barrier between steps),
/// W_hh^T packed once and shared; when W_ih^T is small (3H x I <= 1M floats) each step's rows
/// are projected in the loop, else x is copied to xs and projected by one rk_sgemm. The same
/// bits as rk_sgemm(0, 1, T*B, 3H, I, 1, xs, I, wih, I, 0, gates, 3H), then per step
/// rk_sgemm(0, 1, B, 3H, H, 1, h_{t-1}, H, whh, H, 0, rec, 3H) and rk_gru_forward_f32, for any
/// number of threads. Returns 0; 1 (nothing written: run the step loop) when the shape is one
/// rk_sgemm does not block (B == 1, tiny), I <= 0 with x, or W_hh^T is over 1M floats
/// (H > 591); -1 if scratch memory ran out (nothing written).
int rk_gru_forward_sequence_x_f32(long T, long B, long I, long H, const float *x, int reversed,
                                  const float *wih, float *xs, int *x_copied, float *gates,
                                  const float *bih, const float *bhh, const float *whh,
                                  float *rec, float *hs, float *hn, float *out);

/// The whole GRU backward time loop (no masks; reverses rk_gru_forward_sequence_x_f32): for
/// t = T-1...0, rk_gru_backward_f32 on step t, then dh_{t-1} += dG_h[t] W_hh
///   gates [T*B, 3H], hn [T*B, H], hs [(T+1)*B, H] as the forward left them;  whh [3H, H]
///   dHs [T*B, H]  slot t: dL/dh_{t+1} from above (in); completed in place by the recurrence
///   dh0 [B, H]    += dL/dh_0
///   dGx, dGh [T*B, 3H] out: dL/d(x W_ih^T + b_ih), dL/d(h W_hh^T + b_hh)
///   dbx, dbh [3H] += their column sums (not NULL)
/// Each thread owns a range of hidden units (one barrier per step), its slice of W_hh packed
/// once. The same bits as the step-by-step loop for any number of threads. Returns 0; 1 if
/// the shape is one rk_sgemm does not block (nothing written); -1 if scratch ran out.
int rk_gru_backward_sequence_f32(long T, long B, long H, const float *gates, const float *hn,
                                 const float *hs, const float *whh, float *dHs, float *dh0,
                                 float *dGx, float *dGh, float *dbx, float *dbh);

/// One GRU step backward (reverses rk_gru_forward_f32).
///   g [B, 3H] activated gates;  hn, h_prev [B, H] as forward left them;  dh [B, H] dL/dh_t
///   dh_prev [B, H]   *adds* the direct path dh * z
///   dgx [B, 3H] out: dL/d(x W_ih^T + b_ih);  dgh [B, 3H] out: dL/d(h W_hh^T + b_hh)
///   dbx, dbh [3H]  if not NULL, += the column sums of dgx and dgh (the bias gradients)
void rk_gru_backward_f32(long B, long H, const float *g, const float *hn, const float *h_prev,
                         const float *dh, float *dh_prev, float *dgx, float *dgh, float *dbx,
                         float *dbh);

// ---- SimpleRNN ----

/// One SimpleRNN step forward: h = act(a + bias), act = tanh (relu != 0: relu).
///   a [B, H] in: x W_ih^T + h_{t-1} W_hh^T (no biases), left unchanged;  bias [H] b_ih + b_hh
void rk_rnn_forward_f32(long B, long H, int relu, const float *a, const float *bias, float *h);

/// One SimpleRNN step backward: da = dh * act'(.) from h = act(.).  h, dh, da [B, H];
/// db [H] if not NULL, += the column sums of da.
void rk_rnn_backward_f32(long B, long H, int relu, const float *h, const float *dh, float *da,
                         float *db);

/// y = tanh(x), y = sigmoid(x) over n floats with the activations the Float kernels use
/// (AVX2 or portable, as the active ISA says). For tests.
void rk_cells_tanh_f32(long n, const float *x, float *y);
void rk_cells_sigmoid_f32(long n, const float *x, float *y);

// ---- Driver helpers (Float and Double) ----

/// y[i] += x[i] for i < n.
void rk_add_f32(long n, const float *x, float *y);
void rk_add_f64(long n, const double *x, double *y);

/// y[i] = x[i] * m[i] for i < n.
void rk_mul_f32(long n, const float *x, const float *m, float *y);
void rk_mul_f64(long n, const double *x, const double *m, double *y);

/// y[i] += x[i] * m[i] for i < n.
void rk_add_mul_f32(long n, const float *x, const float *m, float *y);
void rk_add_mul_f64(long n, const double *x, const double *m, double *y);

/// out[j] += sum_i a[i * cols + j].
void rk_colsum_add_f32(long rows, long cols, const float *a, float *out);
void rk_colsum_add_f64(long rows, long cols, const double *a, double *out);

/// a[i * cols + j] += v[j] for every row i.
void rk_add_row_vector_f32(long rows, long cols, const float *v, float *a);
void rk_add_row_vector_f64(long rows, long cols, const double *v, double *a);

/// Batch-first [B, T, F] <-> time-major [T, B, F]. to_time_major != 0: dst[t, b] = src[b, tt];
/// else dst[b, tt] = src[t, b]; tt = reversed ? T-1-t : t.
void rk_swap_batch_time_f32(long B, long T, long F, int reversed, int to_time_major,
                            const float *src, float *dst);
void rk_swap_batch_time_f64(long B, long T, long F, int reversed, int to_time_major,
                            const double *src, double *dst);

#ifdef __cplusplus
}
#endif
#endif

// Private: the LSTM and GRU step kernels on a range of hidden units (the GRU forward on whole
// rows), on the kernel the caller picks, for the fused sequence loops (rk_seq_rows.c,
// rk_seq_units.c). LSTM semantics as rk_lstm_forward_f32 / rk_lstm_backward_f32
// (include/rk_cells.h), restricted to units [u0, u1) of each of the B rows (gate columns
// q * H + [u0, u1), q = i, f, g, o). Every unit's arithmetic is independent of the range, and
// db sums each column over rows in row order, so any split of the units gives the same bits.
#ifndef RK_INTERNAL_CELLS_H
#define RK_INTERNAL_CELLS_H

/// 1 if the cell kernels run AVX2+FMA on this thread now (rk_active_isa and the thread's cap).
int rk_cells_use_avx2(void);

/// avx2 != 0: the AVX2+FMA kernel (the caller checked with rk_cells_use_avx2); 0: portable.
void rk_lstm_forward_units_f32(int avx2, long B, long H, long u0, long u1, float *g,
                               const float *bias, const float *c_prev, float *c, float *h);
void rk_lstm_backward_units_f32(int avx2, long B, long H, long u0, long u1, const float *g,
                                const float *c_prev, const float *c, const float *dh, float *dc,
                                float *dg, float *db);

/// rk_gru_forward_f32 on the kernel `avx2` names (chosen by the caller); each row alone.
void rk_gru_forward_rows_f32(int avx2, long B, long H, float *g, const float *rec,
                             const float *bih, const float *bhh, const float *h_prev,
                             float *hn, float *h);

/// rk_gru_backward_f32 on units [u0, u1) of each row (gate columns q * H + [u0, u1), q = r, z,
/// n; dbx, dbh summed over rows in row order): any split of the units gives the same bits.
void rk_gru_backward_units_f32(int avx2, long B, long H, long u0, long u1, const float *g,
                               const float *hn, const float *h_prev, const float *dh,
                               float *dh_prev, float *dgx, float *dgh, float *dbx, float *dbh);

#endif

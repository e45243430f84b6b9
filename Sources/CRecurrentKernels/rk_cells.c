// Fused cell kernels: run-time dispatch to the AVX2+FMA variants (rk_cells_avx2.c) and the
// portable C fallback; plus the driver's memory-bound helpers. Semantics: include/rk_cells.h.
//
// The portable kernels are the same one-pass loops written with libm's expf / tanhf (accurate
// to an ulp or two). The ISA is read at every call, so rk_force_isa switches these as well.
#include "rk_cells.h"

#include <math.h>
#include <string.h>

#include "rk_cpu.h"
#include "rk_internal_cells.h"
#include "rk_internal_pool.h"

/// The calling thread's cap on the ISA (-1: none); see rk_cells_set_thread_isa.
static _Thread_local int rk_cells_thread_isa = -1;

void rk_cells_set_thread_isa(int isa) { rk_cells_thread_isa = isa < 0 ? -1 : isa; }

#if defined(__x86_64__)
void rk_lstm_forward_f32_avx2(long B, long H, long u0, long u1, float *g, const float *bias,
                              const float *c_prev, float *c, float *h);
void rk_lstm_backward_f32_avx2(long B, long H, long u0, long u1, const float *g,
                               const float *c_prev, const float *c, const float *dh, float *dc,
                               float *dg, float *db);
void rk_gru_forward_f32_avx2(long B, long H, float *g, const float *rec, const float *bih,
                             const float *bhh, const float *h_prev, float *hn, float *h);
void rk_gru_backward_f32_avx2(long B, long H, long u0, long u1, const float *g,
                              const float *hn, const float *h_prev, const float *dh,
                              float *dh_prev, float *dgx, float *dgh, float *dbx, float *dbh);
void rk_rnn_forward_f32_avx2(long B, long H, int relu, const float *pre, const float *bias,
                             float *h);
void rk_rnn_backward_f32_avx2(long B, long H, int relu, const float *h, const float *dh,
                              float *da, float *db);
void rk_cells_tanh_f32_avx2(long n, const float *x, float *y);
void rk_cells_sigmoid_f32_avx2(long n, const float *x, float *y);

/// rk_active_isa() reports AVX2+FMA only when cpuid found both (rk_cpu.c), and never above
/// what the CPU supports (rk_force_isa clamps), so this is the whole check, bar the thread cap.
static inline int rk_cells_avx2(void) {
  int isa = (int)rk_active_isa();
  if (rk_cells_thread_isa >= 0 && rk_cells_thread_isa < isa) isa = rk_cells_thread_isa;
  return isa == RK_ISA_AVX2_FMA;
}
#define RK_CELLS_DISPATCH(call) \
  do {                          \
    if (rk_cells_avx2()) {      \
      call;                     \
      return;                   \
    }                           \
  } while (0)
#else
#define RK_CELLS_DISPATCH(call) ((void)0)
#endif

int rk_cells_use_avx2(void) {
#if defined(__x86_64__)
  return rk_cells_avx2();
#else
  return 0;
#endif
}

// ---- portable activations ----

static inline float rkp_sigmoid(float x) {
  // exp(-|x|) in (0, 1]: no overflow, no cancellation in either tail
  float e = expf(-fabsf(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

static inline float rkp_tanh(float x) { return tanhf(x); }

// ---- LSTM ----

static void rk_lstm_forward_f32_portable(long B, long H, long u0, long u1, float *g,
                                         const float *bias, const float *c_prev, float *c,
                                         float *h);
static void rk_lstm_backward_f32_portable(long B, long H, long u0, long u1, const float *g,
                                          const float *c_prev, const float *c, const float *dh,
                                          float *dc, float *dg, float *db);

void rk_lstm_forward_units_f32(int avx2, long B, long H, long u0, long u1, float *g,
                               const float *bias, const float *c_prev, float *c, float *h) {
#if defined(__x86_64__)
  if (avx2) {
    rk_lstm_forward_f32_avx2(B, H, u0, u1, g, bias, c_prev, c, h);
    return;
  }
#endif
  (void)avx2;
  rk_lstm_forward_f32_portable(B, H, u0, u1, g, bias, c_prev, c, h);
}

void rk_lstm_backward_units_f32(int avx2, long B, long H, long u0, long u1, const float *g,
                                const float *c_prev, const float *c, const float *dh, float *dc,
                                float *dg, float *db) {
#if defined(__x86_64__)
  if (avx2) {
    rk_lstm_backward_f32_avx2(B, H, u0, u1, g, c_prev, c, dh, dc, dg, db);
    return;
  }
#endif
  (void)avx2;
  rk_lstm_backward_f32_portable(B, H, u0, u1, g, c_prev, c, dh, dc, dg, db);
}

void rk_lstm_forward_f32(long B, long H, float *g, const float *bias, const float *c_prev,
                         float *c, float *h) {
  rk_lstm_forward_units_f32(rk_cells_use_avx2(), B, H, 0, H, g, bias, c_prev, c, h);
}

// Rows split between the pool's threads. Every row is computed by the same kernel (chosen once,
// on the calling thread, so a per-thread ISA cap applies to the workers too) whatever the split,
// so the result does not depend on how many threads joined.
typedef struct {
  long B, H;
  float *g;
  const float *bias, *c_prev;
  float *c, *h;
  int avx2;
} rk_lstm_forward_job;

static void rk_lstm_forward_task(void *ctx, int tid, int nthreads) {
  const rk_lstm_forward_job *j = ctx;
  const long b0 = j->B * tid / nthreads, b1 = j->B * (tid + 1) / nthreads, H = j->H;
  if (b1 <= b0) return;
  rk_lstm_forward_units_f32(j->avx2, b1 - b0, H, 0, H, j->g + b0 * 4 * H, j->bias,
                            j->c_prev + b0 * H, j->c + b0 * H, j->h + b0 * H);
}

/// Below this many units (B * H, ~4.4 ns each with AVX2: 3 sigmoids and 2 tanh) one thread.
#define RK_CELLS_MT_MIN_UNITS 2048L

void rk_lstm_forward_f32_mt(long B, long H, float *g, const float *bias, const float *c_prev,
                            float *c, float *h) {
  int nt = rk_get_num_threads();
  if (nt > B) nt = (int)B;
  if (nt <= 1 || B * H < RK_CELLS_MT_MIN_UNITS) {
    rk_lstm_forward_f32(B, H, g, bias, c_prev, c, h);
    return;
  }
  const int avx2 = rk_cells_use_avx2();
  rk_lstm_forward_job job = {.B = B, .H = H, .g = g, .bias = bias, .c_prev = c_prev,
                             .c = c, .h = h, .avx2 = avx2};
  // A worker joins only within ~1/8 of the single-thread time (as the GEMM does).
  long join_wait_ns = B * H / 2;
  if (join_wait_ns > 1000000L) join_wait_ns = 1000000L;
  rk_pool_run(rk_lstm_forward_task, &job, nt, join_wait_ns);
}

static void rk_lstm_forward_f32_portable(long B, long H, long u0, long u1, float *g,
                                         const float *bias, const float *c_prev, float *c,
                                         float *h) {
  for (long b = 0; b < B; b++) {
    float *a = g + b * 4 * H;
    const float *cp = c_prev + b * H;
    float *cr = c + b * H, *hr = h + b * H;
    for (long j = u0; j < u1; j++) {
      float i = rkp_sigmoid(a[j] + bias[j]);
      float f = rkp_sigmoid(a[H + j] + bias[H + j]);
      float gg = rkp_tanh(a[2 * H + j] + bias[2 * H + j]);
      float o = rkp_sigmoid(a[3 * H + j] + bias[3 * H + j]);
      a[j] = i;
      a[H + j] = f;
      a[2 * H + j] = gg;
      a[3 * H + j] = o;
      float ct = f * cp[j] + i * gg;  // c_t = f c_{t-1} + i g
      cr[j] = ct;
      hr[j] = o * rkp_tanh(ct);  // h_t = o tanh(c_t)
    }
  }
}

void rk_lstm_backward_f32(long B, long H, const float *g, const float *c_prev, const float *c,
                          const float *dh, float *dc, float *dg, float *db) {
  rk_lstm_backward_units_f32(rk_cells_use_avx2(), B, H, 0, H, g, c_prev, c, dh, dc, dg, db);
}

static void rk_lstm_backward_f32_portable(long B, long H, long u0, long u1, const float *g,
                                          const float *c_prev, const float *c, const float *dh,
                                          float *dc, float *dg, float *db) {
  for (long b = 0; b < B; b++) {
    const float *a = g + b * 4 * H;
    const float *cp = c_prev + b * H, *cr = c + b * H, *dhr = dh + b * H;
    float *dcr = dc + b * H, *da = dg + b * 4 * H;
    for (long j = u0; j < u1; j++) {
      float i = a[j], f = a[H + j], gg = a[2 * H + j], o = a[3 * H + j], d = dhr[j];
      float tc = rkp_tanh(cr[j]);
      float dO = d * tc;  // reverses h_t = o tanh(c_t)
      float dct = dcr[j] + d * o * (1.0f - tc * tc);
      dcr[j] = dct * f;  // reverses c_t = f c_{t-1} + i g
      da[j] = dct * gg * i * (1.0f - i);
      da[H + j] = dct * cp[j] * f * (1.0f - f);
      da[2 * H + j] = dct * i * (1.0f - gg * gg);
      da[3 * H + j] = dO * o * (1.0f - o);
    }
    if (db)
      for (long q = 0; q < 4; q++)
        for (long j = q * H + u0; j < q * H + u1; j++) db[j] += da[j];
  }
}

// ---- GRU ----

void rk_gru_forward_rows_f32(int avx2, long B, long H, float *g, const float *rec,
                             const float *bih, const float *bhh, const float *h_prev, float *hn,
                             float *h) {
#if defined(__x86_64__)
  if (avx2) {
    rk_gru_forward_f32_avx2(B, H, g, rec, bih, bhh, h_prev, hn, h);
    return;
  }
#else
  (void)avx2;
#endif
  for (long b = 0; b < B; b++) {
    float *a = g + b * 3 * H;
    const float *r = rec + b * 3 * H, *hp = h_prev + b * H;
    float *hnr = hn + b * H, *hr = h + b * H;
    for (long j = 0; j < H; j++) {
      float rg = rkp_sigmoid((a[j] + bih[j]) + (r[j] + bhh[j]));
      float zg = rkp_sigmoid((a[H + j] + bih[H + j]) + (r[H + j] + bhh[H + j]));
      float hnv = r[2 * H + j] + bhh[2 * H + j];
      float n = rkp_tanh(rg * hnv + (a[2 * H + j] + bih[2 * H + j]));
      a[j] = rg;
      a[H + j] = zg;
      a[2 * H + j] = n;
      hnr[j] = hnv;
      hr[j] = zg * (hp[j] - n) + n;
    }
  }
}

void rk_gru_forward_f32(long B, long H, float *g, const float *rec, const float *bih,
                        const float *bhh, const float *h_prev, float *hn, float *h) {
  rk_gru_forward_rows_f32(rk_cells_use_avx2(), B, H, g, rec, bih, bhh, h_prev, hn, h);
}

// Rows split between the pool's threads, as rk_lstm_forward_f32_mt.
typedef struct {
  long B, H;
  float *g, *hn, *h;
  const float *rec, *bih, *bhh, *h_prev;
  int avx2;
} rk_gru_forward_job;

static void rk_gru_forward_task(void *ctx, int tid, int nthreads) {
  const rk_gru_forward_job *j = ctx;
  const long b0 = j->B * tid / nthreads, b1 = j->B * (tid + 1) / nthreads, H = j->H;
  if (b1 <= b0) return;
  rk_gru_forward_rows_f32(j->avx2, b1 - b0, H, j->g + b0 * 3 * H, j->rec + b0 * 3 * H, j->bih,
                          j->bhh, j->h_prev + b0 * H, j->hn + b0 * H, j->h + b0 * H);
}

void rk_gru_forward_f32_mt(long B, long H, float *g, const float *rec, const float *bih,
                           const float *bhh, const float *h_prev, float *hn, float *h) {
  int nt = rk_get_num_threads();
  if (nt > B) nt = (int)B;
  const int avx2 = rk_cells_use_avx2();
  if (nt <= 1 || B * H < RK_CELLS_MT_MIN_UNITS) {
    rk_gru_forward_rows_f32(avx2, B, H, g, rec, bih, bhh, h_prev, hn, h);
    return;
  }
  rk_gru_forward_job job = {.B = B, .H = H, .g = g, .hn = hn, .h = h, .rec = rec, .bih = bih,
                            .bhh = bhh, .h_prev = h_prev, .avx2 = avx2};
  long join_wait_ns = B * H / 4;  // ~1/8 of the single-thread time (~2.5 ns per unit)
  if (join_wait_ns > 1000000L) join_wait_ns = 1000000L;
  rk_pool_run(rk_gru_forward_task, &job, nt, join_wait_ns);
}

void rk_gru_backward_units_f32(int avx2, long B, long H, long u0, long u1, const float *g,
                               const float *hn, const float *h_prev, const float *dh,
                               float *dh_prev, float *dgx, float *dgh, float *dbx, float *dbh) {
#if defined(__x86_64__)
  if (avx2) {
    rk_gru_backward_f32_avx2(B, H, u0, u1, g, hn, h_prev, dh, dh_prev, dgx, dgh, dbx, dbh);
    return;
  }
#endif
  (void)avx2;
  for (long b = 0; b < B; b++) {
    const float *a = g + b * 3 * H, *hnr = hn + b * H, *hp = h_prev + b * H, *dhr = dh + b * H;
    float *dhp = dh_prev + b * H, *dx = dgx + b * 3 * H, *dr = dgh + b * 3 * H;
    for (long j = u0; j < u1; j++) {
      float r = a[j], z = a[H + j], n = a[2 * H + j], d = dhr[j];
      float dZ = d * (hp[j] - n);
      float dN = d * (1.0f - z);
      dhp[j] += d * z;
      float dAn = dN * (1.0f - n * n);
      float dAr = dAn * hnr[j] * (r * (1.0f - r));
      float dAz = dZ * (z * (1.0f - z));
      dx[j] = dAr;
      dx[H + j] = dAz;
      dx[2 * H + j] = dAn;
      dr[j] = dAr;
      dr[H + j] = dAz;
      dr[2 * H + j] = dAn * r;
    }
    for (long q = 0; dbx && q < 3; q++)
      for (long j = q * H + u0; j < q * H + u1; j++) dbx[j] += dx[j];
    for (long q = 0; dbh && q < 3; q++)
      for (long j = q * H + u0; j < q * H + u1; j++) dbh[j] += dr[j];
  }
}

void rk_gru_backward_f32(long B, long H, const float *g, const float *hn, const float *h_prev,
                         const float *dh, float *dh_prev, float *dgx, float *dgh, float *dbx,
                         float *dbh) {
  rk_gru_backward_units_f32(rk_cells_use_avx2(), B, H, 0, H, g, hn, h_prev, dh, dh_prev, dgx, dgh,
                            dbx, dbh);
}

// ---- SimpleRNN ----

void rk_rnn_forward_f32(long B, long H, int relu, const float *a, const float *bias, float *h) {
  RK_CELLS_DISPATCH(rk_rnn_forward_f32_avx2(B, H, relu, a, bias, h));
  for (long b = 0; b < B; b++) {
    const float *ar = a + b * H;
    float *hr = h + b * H;
    for (long j = 0; j < H; j++) {
      float v = ar[j] + bias[j];
      hr[j] = relu ? (v > 0.0f ? v : (v != v ? v : 0.0f)) : rkp_tanh(v);
    }
  }
}

void rk_rnn_backward_f32(long B, long H, int relu, const float *h, const float *dh, float *da,
                         float *db) {
  RK_CELLS_DISPATCH(rk_rnn_backward_f32_avx2(B, H, relu, h, dh, da, db));
  for (long k = 0; k < B * H; k++)
    da[k] = relu ? (h[k] > 0.0f ? dh[k] : 0.0f) : dh[k] * (1.0f - h[k] * h[k]);
  if (db)
    for (long k = 0; k < B * H; k++) db[k % H] += da[k];
}

// ---- activations, for tests ----

void rk_cells_tanh_f32(long n, const float *x, float *y) {
  RK_CELLS_DISPATCH(rk_cells_tanh_f32_avx2(n, x, y));
  for (long k = 0; k < n; k++) y[k] = rkp_tanh(x[k]);
}

void rk_cells_sigmoid_f32(long n, const float *x, float *y) {
  RK_CELLS_DISPATCH(rk_cells_sigmoid_f32_avx2(n, x, y));
  for (long k = 0; k < n; k++) y[k] = rkp_sigmoid(x[k]);
}

// ---- driver helpers ----

#define RK_HELPERS(TY, SFX)                                                              \
  void rk_add_##SFX(long n, const TY *x, TY *y) {                                        \
    for (long k = 0; k < n; k++) y[k] += x[k];                                           \
  }                                                                                      \
  void rk_mul_##SFX(long n, const TY *x, const TY *m, TY *y) {                           \
    for (long k = 0; k < n; k++) y[k] = x[k] * m[k];                                     \
  }                                                                                      \
  void rk_add_mul_##SFX(long n, const TY *x, const TY *m, TY *y) {                       \
    for (long k = 0; k < n; k++) y[k] += x[k] * m[k];                                    \
  }                                                                                      \
  void rk_colsum_add_##SFX(long rows, long cols, const TY *a, TY *out) {                 \
    for (long i = 0; i < rows; i++) {                                                    \
      const TY *r = a + i * cols;                                                        \
      for (long j = 0; j < cols; j++) out[j] += r[j];                                    \
    }                                                                                    \
  }                                                                                      \
  void rk_add_row_vector_##SFX(long rows, long cols, const TY *v, TY *a) {               \
    for (long i = 0; i < rows; i++) {                                                    \
      TY *r = a + i * cols;                                                              \
      for (long j = 0; j < cols; j++) r[j] += v[j];                                      \
    }                                                                                    \
  }                                                                                      \
  void rk_swap_batch_time_##SFX(long B, long T, long F, int reversed, int to_time_major, \
                              const TY *src, TY *dst) {                                  \
    for (long b = 0; b < B; b++)                                                         \
      for (long t = 0; t < T; t++) {                                                     \
        long tt = reversed ? T - 1 - t : t;                                              \
        long bf = (b * T + tt) * F, tm = (t * B + b) * F;                                \
        if (to_time_major)                                                               \
          memcpy(dst + tm, src + bf, (size_t)F * sizeof(TY));                            \
        else                                                                             \
          memcpy(dst + bf, src + tm, (size_t)F * sizeof(TY));                            \
      }                                                                                  \
  }

RK_HELPERS(float, f32)
RK_HELPERS(double, f64)

// AVX2+FMA variants of the fused cell kernels (see include/rk_cells.h), 8 units per step.
// Compiled for AVX2+FMA per function with __attribute__((target)); rk_cells.c calls them only
// when rk_active_isa() says the CPU has both. The H % 8 tail of each row goes through masked
// loads and stores, so every unit is computed by the same vector code.
//
// Activations (own inline copies, so a kernel is one pass with no calls):
//   sigmoid(x) = (x >= 0 ? 1 : e) / (1 + e), e = exp(-|x|): no cancellation in either tail.
//     exp(y), y <= 0: y clamped to >= -87.6 (exp(-87.6) = 9.9e-39 < FLT_MIN), n =
//     round(y log2e) by one FMA into a magic constant whose low mantissa bits then hold the
//     biased exponent n + 127 (so 2^n is one shift), y - n ln2 with ln2 split in two
//     (Cody-Waite), exp(r) by the degree-5 Cephes expf polynomial.
//   tanh(x): the odd/even rational p(x)/q(x) of degree 13/6 on x clamped to +-7.9053 (Eigen's
//     fast tanh; tanh(7.9053) rounds to within 3e-7 of 1).
// Max relative error <= 1e-6 wherever the result is a normal float (measured: tanh 2.9e-7,
// sigmoid 1.8e-7; CellKernelTests checks against libm in Double). sigmoid(x < -87.6) returns
// sigmoid(-87.6) = 9.9e-39 (a denormal) instead of a smaller denormal. The clamps put x second in min/max, so a NaN
// input propagates to a NaN output.
#if defined(__x86_64__)

#include <immintrin.h>

#define RK_CELLS_AVX2 __attribute__((target("avx2,fma")))
#define RK_CELLS_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// exp(y) for y <= 0 (y > 0 is not handled: callers pass -|x|).
RK_CELLS_INLINE __m256 rkc_exp_nonpositive(__m256 y) {
  const __m256 magic = _mm256_set1_ps(12583039.0f);  // 1.5 * 2^23 + 127
  y = _mm256_max_ps(_mm256_set1_ps(-87.6f), y);  // NaN in y propagates (second operand)
  __m256 t = _mm256_fmadd_ps(y, _mm256_set1_ps(1.44269504088896341f), magic);
  __m256 n = _mm256_sub_ps(t, magic);  // round(y log2e), exactly
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), y);  // exact
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  // p5 r^5 + ... + p0 in Estrin's scheme (pairs in r, then in r^2): a dependency chain of 4
  // FMAs instead of Horner's 6; the gate kernels are latency-bound on these chains.
  __m256 r2 = _mm256_mul_ps(r, r);
  __m256 q01 = _mm256_fmadd_ps(_mm256_set1_ps(1.9875691500e-4f), r, _mm256_set1_ps(1.3981999507e-3f));
  __m256 q23 = _mm256_fmadd_ps(_mm256_set1_ps(8.3334519073e-3f), r, _mm256_set1_ps(4.1665795894e-2f));
  __m256 q45 = _mm256_fmadd_ps(_mm256_set1_ps(1.6666665459e-1f), r, _mm256_set1_ps(5.0000001201e-1f));
  __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(q01, r2, q23), r2, q45);
  p = _mm256_fmadd_ps(p, r2, r);  // exp(r) - 1 = r + r^2 p(r)
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  // t's low mantissa bits hold n + 127 in [1, 127] (n >= round(-87.6 log2e) = -126): shifted
  // into the exponent field, that is 2^n.
  __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
  return _mm256_mul_ps(p, scale);
}

RK_CELLS_INLINE __m256 rkc_sigmoid(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e = rkc_exp_nonpositive(_mm256_or_ps(x, _mm256_set1_ps(-0.0f)));  // exp(-|x|) in (0, 1]
  __m256 num = _mm256_blendv_ps(e, one, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

RK_CELLS_INLINE __m256 rkc_tanh(__m256 x) {
  const __m256 lim = _mm256_set1_ps(7.90531110763549805f);
  x = _mm256_min_ps(lim, _mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), lim), x));  // NaN stays
  __m256 z = _mm256_mul_ps(x, x);
  // p (degree 6 in z) and q (degree 3) in Estrin's scheme: chains of 4 and 2 FMAs, not 6 and 3.
  __m256 z2 = _mm256_mul_ps(z, z), z3 = _mm256_mul_ps(z2, z);
  __m256 p65 = _mm256_fmadd_ps(_mm256_set1_ps(-2.76076847742355e-16f), z, _mm256_set1_ps(2.00018790482477e-13f));
  __m256 p43 = _mm256_fmadd_ps(_mm256_set1_ps(-8.60467152213735e-11f), z, _mm256_set1_ps(5.12229709037114e-08f));
  __m256 p21 = _mm256_fmadd_ps(_mm256_set1_ps(1.48572235717979e-05f), z, _mm256_set1_ps(6.37261928875436e-04f));
  __m256 p210 = _mm256_fmadd_ps(p21, z, _mm256_set1_ps(4.89352455891786e-03f));
  __m256 p = _mm256_fmadd_ps(_mm256_fmadd_ps(p65, z2, p43), z3, p210);
  __m256 q32 = _mm256_fmadd_ps(_mm256_set1_ps(1.19825839466702e-06f), z, _mm256_set1_ps(1.18534705686654e-04f));
  __m256 q10 = _mm256_fmadd_ps(_mm256_set1_ps(2.26843463243900e-03f), z, _mm256_set1_ps(4.89352518554385e-03f));
  __m256 q = _mm256_fmadd_ps(q32, z2, q10);
  // x * (p / q), not (x p) / q: x p would underflow into the denormals for tiny x.
  return _mm256_mul_ps(x, _mm256_div_ps(p, q));
}

/// Lane mask for the first `n` (0..8) lanes.
RK_CELLS_INLINE __m256i rkc_tail_mask(long n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
}

// Load / store 8 lanes, or the first `n` of them under `m` when `tail` is set.
#define LD(p) (tail ? _mm256_maskload_ps((p), m) : _mm256_loadu_ps(p))
#define ST(p, v) (tail ? _mm256_maskstore_ps((p), m, (v)) : _mm256_storeu_ps((p), (v)))

// Exported only to rk_cells.c (declared there); callers must have checked for AVX2 and FMA.
// The public entry points and their semantics are in include/rk_cells.h.

/// One row's 8 units at j (if `tail`, only the lanes set in the mask m).
RK_CELLS_INLINE void rkc_lstm_forward8(long H, long j, int tail, __m256i m, float *a,
                                       const float *bias, const float *cp, float *cr, float *hr) {
  // a = x W_ih^T + h W_hh^T + (b_ih + b_hh);  i, f, o = σ(.), g = tanh(.)
  __m256 i = rkc_sigmoid(_mm256_add_ps(LD(a + j), LD(bias + j)));
  __m256 f = rkc_sigmoid(_mm256_add_ps(LD(a + H + j), LD(bias + H + j)));
  __m256 gg = rkc_tanh(_mm256_add_ps(LD(a + 2 * H + j), LD(bias + 2 * H + j)));
  __m256 o = rkc_sigmoid(_mm256_add_ps(LD(a + 3 * H + j), LD(bias + 3 * H + j)));
  ST(a + j, i);
  ST(a + H + j, f);
  ST(a + 2 * H + j, gg);
  ST(a + 3 * H + j, o);
  // c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)
  __m256 ct = _mm256_fmadd_ps(f, LD(cp + j), _mm256_mul_ps(i, gg));
  ST(cr + j, ct);
  ST(hr + j, _mm256_mul_ps(o, rkc_tanh(ct)));
}

// Units [u0, u1) of every row (the whole row: 0, H). Each unit's arithmetic is the same
// whatever the range, so splitting rows or units between threads gives the same bits.
RK_CELLS_AVX2 void rk_lstm_forward_f32_avx2(long B, long H, long u0, long u1, float *g,
                                            const float *bias, const float *c_prev, float *c,
                                            float *h) {
  const __m256i all = _mm256_set1_epi32(-1);
  for (long b = 0; b < B; b++) {
    float *a = g + b * 4 * H;
    const float *cp = c_prev + b * H;
    float *cr = c + b * H, *hr = h + b * H;
    long j = u0;
    // 16 units per iteration: two independent chains of activations in flight. With the
    // Estrin polynomials: 3.83 -> 3.45 ns per unit (harness, B 16, H 128; BENCHMARKS.md, 24).
    for (; j + 16 <= u1; j += 16) {
      rkc_lstm_forward8(H, j, 0, all, a, bias, cp, cr, hr);
      rkc_lstm_forward8(H, j + 8, 0, all, a, bias, cp, cr, hr);
    }
    for (; j < u1; j += 8) rkc_lstm_forward8(H, j, u1 - j < 8, rkc_tail_mask(u1 - j), a, bias, cp, cr, hr);
  }
}

// Units [u0, u1) of every row; db's columns are summed over rows in row order either way.
RK_CELLS_AVX2 void rk_lstm_backward_f32_avx2(long B, long H, long u0, long u1, const float *g,
                                             const float *c_prev, const float *c, const float *dh,
                                             float *dc, float *dg, float *db) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (long b = 0; b < B; b++) {
    const float *a = g + b * 4 * H;
    const float *cp = c_prev + b * H, *cr = c + b * H, *dhr = dh + b * H;
    float *dcr = dc + b * H, *da = dg + b * 4 * H;
    for (long j = u0; j < u1; j += 8) {
      const int tail = u1 - j < 8;
      const __m256i m = rkc_tail_mask(u1 - j);
      __m256 i = LD(a + j), f = LD(a + H + j), gg = LD(a + 2 * H + j), o = LD(a + 3 * H + j);
      __m256 d = LD(dhr + j);
      __m256 tc = rkc_tanh(LD(cr + j));  // recompute tanh(c_t)
      // reverses h_t = o * tanh(c_t): do = dh tanh(c_t); dc_t += dh o (1 - tanh^2 c_t)
      __m256 dO = _mm256_mul_ps(d, tc);
      __m256 dct = _mm256_fmadd_ps(_mm256_mul_ps(d, o), _mm256_fnmadd_ps(tc, tc, one), LD(dcr + j));
      // reverses c_t = f c_{t-1} + i g
      ST(dcr + j, _mm256_mul_ps(dct, f));  // dc_{t-1}
      // reverses the activations: σ' = s (1 - s), tanh' = 1 - t^2
      __m256 dai = _mm256_mul_ps(_mm256_mul_ps(dct, gg), _mm256_mul_ps(i, _mm256_sub_ps(one, i)));
      __m256 daf =
          _mm256_mul_ps(_mm256_mul_ps(dct, LD(cp + j)), _mm256_mul_ps(f, _mm256_sub_ps(one, f)));
      __m256 dag = _mm256_mul_ps(_mm256_mul_ps(dct, i), _mm256_fnmadd_ps(gg, gg, one));
      __m256 dao = _mm256_mul_ps(dO, _mm256_mul_ps(o, _mm256_sub_ps(one, o)));
      ST(da + j, dai);
      ST(da + H + j, daf);
      ST(da + 2 * H + j, dag);
      ST(da + 3 * H + j, dao);
      if (db) {  // bias gradient: column sums of da
        ST(db + j, _mm256_add_ps(LD(db + j), dai));
        ST(db + H + j, _mm256_add_ps(LD(db + H + j), daf));
        ST(db + 2 * H + j, _mm256_add_ps(LD(db + 2 * H + j), dag));
        ST(db + 3 * H + j, _mm256_add_ps(LD(db + 3 * H + j), dao));
      }
    }
  }
}

RK_CELLS_AVX2 void rk_gru_forward_f32_avx2(long B, long H, float *g, const float *rec,
                                           const float *bih, const float *bhh,
                                           const float *h_prev, float *hn, float *h) {
  for (long b = 0; b < B; b++) {
    float *a = g + b * 3 * H;
    const float *r = rec + b * 3 * H, *hp = h_prev + b * H;
    float *hnr = hn + b * H, *hr = h + b * H;
    for (long j = 0; j < H; j += 8) {
      const int tail = H - j < 8;
      const __m256i m = rkc_tail_mask(H - j);
      // r, z = σ(x W_i^T + b_i + h W_h^T + b_h)
      __m256 rg = rkc_sigmoid(_mm256_add_ps(_mm256_add_ps(LD(a + j), LD(bih + j)),
                                            _mm256_add_ps(LD(r + j), LD(bhh + j))));
      __m256 zg = rkc_sigmoid(_mm256_add_ps(_mm256_add_ps(LD(a + H + j), LD(bih + H + j)),
                                            _mm256_add_ps(LD(r + H + j), LD(bhh + H + j))));
      // hn = W_hn h + b_hn;  n = tanh(x W_in^T + b_in + r * hn)
      __m256 hnv = _mm256_add_ps(LD(r + 2 * H + j), LD(bhh + 2 * H + j));
      __m256 n = rkc_tanh(
          _mm256_fmadd_ps(rg, hnv, _mm256_add_ps(LD(a + 2 * H + j), LD(bih + 2 * H + j))));
      ST(a + j, rg);
      ST(a + H + j, zg);
      ST(a + 2 * H + j, n);
      ST(hnr + j, hnv);
      // h_t = n + z (h_{t-1} - n)
      ST(hr + j, _mm256_fmadd_ps(zg, _mm256_sub_ps(LD(hp + j), n), n));
    }
  }
}

/// Units [u0, u1) of every row (gate columns q * H + [u0, u1)); each unit's arithmetic is the
/// same whatever the range (u0 a multiple of 8 keeps the vectors where a whole-row call has them).
RK_CELLS_AVX2 void rk_gru_backward_f32_avx2(long B, long H, long u0, long u1, const float *g,
                                            const float *hn, const float *h_prev, const float *dh,
                                            float *dh_prev, float *dgx, float *dgh, float *dbx,
                                            float *dbh) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (long b = 0; b < B; b++) {
    const float *a = g + b * 3 * H, *hnr = hn + b * H, *hp = h_prev + b * H, *dhr = dh + b * H;
    float *dhp = dh_prev + b * H, *dx = dgx + b * 3 * H, *dr = dgh + b * 3 * H;
    for (long j = u0; j < u1; j += 8) {
      const int tail = u1 - j < 8;
      const __m256i m = rkc_tail_mask(u1 - j);
      __m256 r = LD(a + j), z = LD(a + H + j), n = LD(a + 2 * H + j), d = LD(dhr + j);
      // reverses h_t = (1 - z) n + z h_{t-1}
      __m256 dZ = _mm256_mul_ps(d, _mm256_sub_ps(LD(hp + j), n));
      __m256 dN = _mm256_mul_ps(d, _mm256_sub_ps(one, z));
      ST(dhp + j, _mm256_fmadd_ps(d, z, LD(dhp + j)));
      // reverses n = tanh(a_n)
      __m256 dAn = _mm256_mul_ps(dN, _mm256_fnmadd_ps(n, n, one));
      // reverses a_n = x W_in^T + b_in + r hn, then r, z = σ(.)
      __m256 dAr = _mm256_mul_ps(_mm256_mul_ps(dAn, LD(hnr + j)), _mm256_mul_ps(r, _mm256_sub_ps(one, r)));
      __m256 dAz = _mm256_mul_ps(dZ, _mm256_mul_ps(z, _mm256_sub_ps(one, z)));
      __m256 dHn = _mm256_mul_ps(dAn, r);  // d(hn) = dAn r
      ST(dx + j, dAr);
      ST(dx + H + j, dAz);
      ST(dx + 2 * H + j, dAn);
      ST(dr + j, dAr);
      ST(dr + H + j, dAz);
      ST(dr + 2 * H + j, dHn);
      if (dbx) {  // bias gradients: column sums of dgx and dgh
        ST(dbx + j, _mm256_add_ps(LD(dbx + j), dAr));
        ST(dbx + H + j, _mm256_add_ps(LD(dbx + H + j), dAz));
        ST(dbx + 2 * H + j, _mm256_add_ps(LD(dbx + 2 * H + j), dAn));
      }
      if (dbh) {
        ST(dbh + j, _mm256_add_ps(LD(dbh + j), dAr));
        ST(dbh + H + j, _mm256_add_ps(LD(dbh + H + j), dAz));
        ST(dbh + 2 * H + j, _mm256_add_ps(LD(dbh + 2 * H + j), dHn));
      }
    }
  }
}

RK_CELLS_AVX2 void rk_rnn_forward_f32_avx2(long B, long H, int relu, const float *pre,
                                           const float *bias, float *h) {
  for (long b = 0; b < B; b++) {
    const float *a = pre + b * H;
    float *hr = h + b * H;
    for (long j = 0; j < H; j += 8) {
      const int tail = H - j < 8;
      const __m256i m = rkc_tail_mask(H - j);
      __m256 v = _mm256_add_ps(LD(a + j), LD(bias + j));
      // max(0, v) with v second: NaN propagates
      ST(hr + j, relu ? _mm256_max_ps(_mm256_setzero_ps(), v) : rkc_tanh(v));
    }
  }
}

RK_CELLS_AVX2 void rk_rnn_backward_f32_avx2(long B, long H, int relu, const float *h,
                                            const float *dh, float *da, float *db) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  for (long b = 0; b < B; b++) {
    const float *hr = h + b * H, *dhr = dh + b * H;
    float *dar = da + b * H;
    for (long j = 0; j < H; j += 8) {
      const int tail = H - j < 8;
      const __m256i m = rkc_tail_mask(H - j);
      __m256 hv = LD(hr + j), d = LD(dhr + j);
      // tanh: da = dh (1 - h^2);  relu: da = dh [h > 0]
      __m256 a = relu ? _mm256_and_ps(d, _mm256_cmp_ps(hv, zero, _CMP_GT_OQ))
                      : _mm256_mul_ps(d, _mm256_fnmadd_ps(hv, hv, one));
      ST(dar + j, a);
      if (db) ST(db + j, _mm256_add_ps(LD(db + j), a));
    }
  }
}

/// y = tanh(x) and y = sigmoid(x) over n floats: the inline activations, exposed for tests.
RK_CELLS_AVX2 void rk_cells_tanh_f32_avx2(long n, const float *x, float *y) {
  for (long j = 0; j < n; j += 8) {
    const int tail = n - j < 8;
    const __m256i m = rkc_tail_mask(n - j);
    ST(y + j, rkc_tanh(LD(x + j)));
  }
}

RK_CELLS_AVX2 void rk_cells_sigmoid_f32_avx2(long n, const float *x, float *y) {
  for (long j = 0; j < n; j += 8) {
    const int tail = n - j < 8;
    const __m256i m = rkc_tail_mask(n - j);
    ST(y + j, rkc_sigmoid(LD(x + j)));
  }
}

#undef LD
#undef ST

#endif  // __x86_64__

// Private to CRecurrentKernels: the float approximations shared by the portable path
// (rk_vmath.c) and the AVX2+FMA path (rk_vmath_avx2.c). Both paths evaluate the same
// formulas with the same constants, so they are equally accurate (<= 1e-6 relative).
//
// exp(x):  x = n*ln2 + r, n = round(x*log2e), |r| <= ln2/2, ln2 split Cody-Waite style into
//          ln2_hi (8 significant bits, so n*ln2_hi is exact for |n| <= 255) + ln2_lo.
//          exp(r) ~= 1 + r + r^2 * P(r), P of degree 5 (Cephes expf minimax coefficients).
//          2^n is applied as two exact power-of-two factors 2^(n>>1) * 2^(n - (n>>1)), so
//          n = 128 (x just below ln(FLT_MAX)) stays finite and results in the denormal range
//          are rounded once. x is clamped to [RK_EXP_LO, RK_EXP_HI] first (keeps n small;
//          beyond the clamp the result is already 0 or +inf).
// sigmoid(x): e = exp(-|x|) in [0, 1];  x >= 0: 1 / (1 + e);  x < 0: e / (1 + e).
//          Never forms 1 - something, so tiny results keep their relative accuracy.
// tanh(x): sign(x) * tanh(a), a = |x|.  a < 0.625: a + a*z*Q(z), z = a^2, Q of degree 4
//          (Cephes tanhf coefficients): no cancellation near 0.  Otherwise
//          1 - 2 / (exp(2a) + 1): no cancellation there either (the result is >= 0.55 and
//          2/(e+1) <= 0.45); exp(2a) = +inf for large a gives exactly 1. The sign is ORed in
//          last, so tanh(-0) = -0.
// NaN in gives NaN out (an explicit final select, independent of min/max NaN rules).
#ifndef RK_INTERNAL_VMATH_H
#define RK_INTERNAL_VMATH_H

#include <stdint.h>
#include <string.h>

#define RK_LOG2EF 1.44269504088896341f
#define RK_LN2_HIF 0.693359375f        // 0x3f318000
#define RK_LN2_LOF (-2.12194440e-4f)   // ln2 - RK_LN2_HIF
#define RK_EXP_HI 100.0f               // exp(100) overflows: n = 144, 2^72 * 2^72
#define RK_EXP_LO (-110.0f)            // exp(-110) underflows to 0: n = -159, 2^-80 * 2^-79
#define RK_ROUND_MAGIC 12582912.0f     // 1.5 * 2^23: x + magic - magic rounds to nearest int

#define RK_EXP_P0 1.9875691500e-4f
#define RK_EXP_P1 1.3981999507e-3f
#define RK_EXP_P2 8.3334519073e-3f
#define RK_EXP_P3 4.1665795894e-2f
#define RK_EXP_P4 1.6666665459e-1f
#define RK_EXP_P5 5.0000001201e-1f

#define RK_TANH_SMALL 0.625f
#define RK_TANH_Q0 (-5.70498872745e-3f)
#define RK_TANH_Q1 2.06390887954e-2f
#define RK_TANH_Q2 (-5.37397155531e-2f)
#define RK_TANH_Q3 1.33314422036e-1f
#define RK_TANH_Q4 (-3.33332819422e-1f)

static inline float rk_bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static inline uint32_t rk_float_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/// exp(x) for one float, without the NaN fix-up (callers select x back for NaN inputs).
static inline float rk_expf_core(float x) {
  x = x < RK_EXP_HI ? x : RK_EXP_HI;
  x = x > RK_EXP_LO ? x : RK_EXP_LO;
  float n = (x * RK_LOG2EF + RK_ROUND_MAGIC) - RK_ROUND_MAGIC;  // round to nearest
  float r = x - n * RK_LN2_HIF;  // exact
  r = r - n * RK_LN2_LOF;
  float p = RK_EXP_P0;
  p = p * r + RK_EXP_P1;
  p = p * r + RK_EXP_P2;
  p = p * r + RK_EXP_P3;
  p = p * r + RK_EXP_P4;
  p = p * r + RK_EXP_P5;
  p = (p * (r * r) + r) + 1.0f;
  int32_t ni = (int32_t)n;
  int32_t n1 = ni >> 1;  // arithmetic shift (floor), same as _mm256_srai_epi32
  int32_t n2 = ni - n1;
  float s1 = rk_bits_to_float((uint32_t)(n1 + 127) << 23);
  float s2 = rk_bits_to_float((uint32_t)(n2 + 127) << 23);
  return (p * s1) * s2;  // p * s1 is exact; one rounding at the end
}

static inline float rk_expf_portable(float x) {
  float y = rk_expf_core(x);
  return x != x ? x : y;
}

static inline float rk_sigmoidf_portable(float x) {
  float a = rk_bits_to_float(rk_float_to_bits(x) & 0x7fffffffu);
  float e = rk_expf_core(-a);  // in [0, 1]
  float num = x >= 0.0f ? 1.0f : e;
  float y = num / (1.0f + e);
  return x != x ? x : y;
}

static inline float rk_tanhf_portable(float x) {
  uint32_t ux = rk_float_to_bits(x);
  float a = rk_bits_to_float(ux & 0x7fffffffu);
  // tanh(|x|), then the sign of x (also keeps tanh(-0) = -0)
  // small |x|: odd polynomial a + a*z*Q(z), z = a^2
  float z = a * a;
  float q = RK_TANH_Q0;
  q = q * z + RK_TANH_Q1;
  q = q * z + RK_TANH_Q2;
  q = q * z + RK_TANH_Q3;
  q = q * z + RK_TANH_Q4;
  float small = (a * z) * q + a;
  // large |x|: 1 - 2 / (exp(2|x|) + 1)
  float e = rk_expf_core(a + a);
  float big = 1.0f - 2.0f / (e + 1.0f);
  float t = a < RK_TANH_SMALL ? small : big;
  float y = rk_bits_to_float(rk_float_to_bits(t) | (ux & 0x80000000u));
  return x != x ? x : y;
}

#if defined(__x86_64__)
// AVX2+FMA kernels (rk_vmath_avx2.c); call only when the CPU has AVX2 and FMA.
void rk_vsexp_avx2(long n, const float *x, float *y);
void rk_vssigmoid_avx2(long n, const float *x, float *y);
void rk_vstanh_avx2(long n, const float *x, float *y);
#endif

#endif

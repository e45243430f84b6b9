// AVX2+FMA float exp / sigmoid / tanh, 8 lanes per step. Same formulas and constants as the
// portable path (see rk_internal_vmath.h). Compiled for AVX2+FMA per function via
// __attribute__((target)), so no package-wide compiler flags are needed; rk_vmath.c only calls
// these after checking the CPU. The n % 8 tail goes through masked loads and stores, so every
// element is computed by the same vector code.
#if defined(__x86_64__)

#include <immintrin.h>

#include "rk_internal_vmath.h"

#define RK_AVX2 __attribute__((target("avx2,fma")))
#define RK_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// exp on 8 lanes, without the NaN fix-up.
RK_AVX2_INLINE __m256 rk_exp8_core(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(RK_EXP_HI));
  x = _mm256_max_ps(x, _mm256_set1_ps(RK_EXP_LO));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(RK_LOG2EF)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(RK_LN2_HIF), x);  // exact
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(RK_LN2_LOF), r);
  __m256 p = _mm256_set1_ps(RK_EXP_P0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RK_EXP_P1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RK_EXP_P2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RK_EXP_P3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RK_EXP_P4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(RK_EXP_P5));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  // 2^n as 2^n1 * 2^n2, n1 = n >> 1, n2 = n - n1: both factors are normal floats.
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1);
  __m256i n2 = _mm256_sub_epi32(ni, n1);
  __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/// Lanes where x is NaN get x back.
RK_AVX2_INLINE __m256 rk_keep_nan8(__m256 x, __m256 y) {
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

RK_AVX2_INLINE __m256 rk_exp8(__m256 x) { return rk_keep_nan8(x, rk_exp8_core(x)); }

RK_AVX2_INLINE __m256 rk_sigmoid8(__m256 x) {
  __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 a = _mm256_andnot_ps(sign, x);
  __m256 e = rk_exp8_core(_mm256_or_ps(a, sign));  // exp(-|x|) in [0, 1]
  __m256 one = _mm256_set1_ps(1.0f);
  // x >= 0: 1 / (1 + e); x < 0: e / (1 + e)
  __m256 num = _mm256_blendv_ps(e, one, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  __m256 y = _mm256_div_ps(num, _mm256_add_ps(one, e));
  return rk_keep_nan8(x, y);
}

RK_AVX2_INLINE __m256 rk_tanh8(__m256 x) {
  // tanh(|x|), then the sign of x (also keeps tanh(-0) = -0)
  __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 a = _mm256_andnot_ps(sign, x);
  __m256 is_small = _mm256_cmp_ps(a, _mm256_set1_ps(RK_TANH_SMALL), _CMP_LT_OQ);
  int small_bits = _mm256_movemask_ps(is_small);
  __m256 t;
  if (small_bits == 0xff) {
    t = _mm256_setzero_ps();
  } else {
    // 1 - 2 / (exp(2a) + 1)
    __m256 e = rk_exp8_core(_mm256_add_ps(a, a));
    __m256 one = _mm256_set1_ps(1.0f);
    t = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  }
  if (small_bits != 0) {
    // a + a*z*Q(z), z = a^2
    __m256 z = _mm256_mul_ps(a, a);
    __m256 q = _mm256_set1_ps(RK_TANH_Q0);
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(RK_TANH_Q1));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(RK_TANH_Q2));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(RK_TANH_Q3));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(RK_TANH_Q4));
    t = _mm256_blendv_ps(t, _mm256_fmadd_ps(_mm256_mul_ps(a, z), q, a), is_small);
  }
  return rk_keep_nan8(x, _mm256_or_ps(t, _mm256_and_ps(x, sign)));
}

/// Mask selecting the first `rem` lanes (0 < rem < 8).
RK_AVX2_INLINE __m256i rk_tail_mask8(long rem) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// One driver per function: full 8-lane blocks (unrolled by two for the out-of-order core),
// then the masked tail. Loads precede stores in each block, so y == x is fine.
#define RK_DEFINE_AVX2_MAP(name, op)                                        \
  RK_AVX2 void name(long n, const float *x, float *y) {                     \
    long i = 0;                                                             \
    for (; i + 16 <= n; i += 16) {                                          \
      __m256 a = _mm256_loadu_ps(x + i);                                    \
      __m256 b = _mm256_loadu_ps(x + i + 8);                                \
      a = op(a);                                                            \
      b = op(b);                                                            \
      _mm256_storeu_ps(y + i, a);                                           \
      _mm256_storeu_ps(y + i + 8, b);                                       \
    }                                                                       \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, op(_mm256_loadu_ps(x + i))); \
    if (i < n) {                                                            \
      __m256i m = rk_tail_mask8(n - i);                                     \
      _mm256_maskstore_ps(y + i, m, op(_mm256_maskload_ps(x + i, m)));      \
    }                                                                       \
  }

RK_DEFINE_AVX2_MAP(rk_vsexp_avx2, rk_exp8)
RK_DEFINE_AVX2_MAP(rk_vssigmoid_avx2, rk_sigmoid8)
RK_DEFINE_AVX2_MAP(rk_vstanh_avx2, rk_tanh8)

#else
typedef int rk_vmath_avx2_unused;  // keeps the translation unit non-empty off x86-64
#endif  // __x86_64__

// Elementwise exp / sigmoid / tanh over contiguous buffers (y may alias x).
//
// Float: the AVX2+FMA kernels (rk_vmath_avx2.c) when the active ISA is RK_ISA_AVX2_FMA and the
// CPU really has AVX2 and FMA, otherwise the portable loops below. Both evaluate the same
// approximations (rk_internal_vmath.h): max relative error <= 1e-6 over the whole float line.
// The ISA is read at every call, so rk_force_isa (ComputeSettings.forcePortableKernels) takes
// effect immediately.
//
// Double: scalar libm loops (used for gradient checks), with sigmoid written so that neither
// tail loses relative accuracy.
#include "rk_vmath.h"

#include <math.h>
#include <stdatomic.h>

#include "rk_cpu.h"
#include "rk_internal_vmath.h"

#if defined(__x86_64__)
/// cpuid result for AVX2 and FMA: -1 not checked yet, else 0 or 1 (racing first callers
/// store the same value).
static atomic_int rk_vmath_cpu_has_avx2_fma = -1;

/// True when the AVX2+FMA kernels should run: the ISA selection asks for them (read at every
/// call, so forcing the portable path takes effect at once) and cpuid confirms the CPU has both
/// features (guards against ever running AVX2 code on a CPU without it).
static int rk_vmath_use_avx2(void) {
  if (rk_active_isa() != RK_ISA_AVX2_FMA) return 0;
  int has = atomic_load_explicit(&rk_vmath_cpu_has_avx2_fma, memory_order_relaxed);
  if (has < 0) {
    __builtin_cpu_init();
    has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    atomic_store_explicit(&rk_vmath_cpu_has_avx2_fma, has, memory_order_relaxed);
  }
  return has;
}
#endif

void rk_vsexp(long n, const float *x, float *y) {
#if defined(__x86_64__)
  if (rk_vmath_use_avx2()) {
    rk_vsexp_avx2(n, x, y);
    return;
  }
#endif
  for (long i = 0; i < n; i++) y[i] = rk_expf_portable(x[i]);
}

void rk_vssigmoid(long n, const float *x, float *y) {
#if defined(__x86_64__)
  if (rk_vmath_use_avx2()) {
    rk_vssigmoid_avx2(n, x, y);
    return;
  }
#endif
  for (long i = 0; i < n; i++) y[i] = rk_sigmoidf_portable(x[i]);
}

void rk_vstanh(long n, const float *x, float *y) {
#if defined(__x86_64__)
  if (rk_vmath_use_avx2()) {
    rk_vstanh_avx2(n, x, y);
    return;
  }
#endif
  for (long i = 0; i < n; i++) y[i] = rk_tanhf_portable(x[i]);
}

void rk_vdexp(long n, const double *x, double *y) {
  for (long i = 0; i < n; i++) y[i] = exp(x[i]);
}

void rk_vdsigmoid(long n, const double *x, double *y) {
  for (long i = 0; i < n; i++) {
    double v = x[i];
    if (v >= 0.0) {
      y[i] = 1.0 / (1.0 + exp(-v));
    } else {
      double e = exp(v);  // NaN input lands here and propagates
      y[i] = e / (1.0 + e);
    }
  }
}

void rk_vdtanh(long n, const double *x, double *y) {
  for (long i = 0; i < n; i++) y[i] = tanh(x[i]);
}

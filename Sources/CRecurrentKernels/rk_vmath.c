// PLACEHOLDER scalar libm math (to be replaced by the vectorised, accurate version).
#include "rk_vmath.h"
#include <math.h>
void rk_vsexp(long n, const float *x, float *y) { for (long i = 0; i < n; i++) y[i] = expf(x[i]); }
void rk_vssigmoid(long n, const float *x, float *y) { for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i])); }
void rk_vstanh(long n, const float *x, float *y) { for (long i = 0; i < n; i++) y[i] = tanhf(x[i]); }
void rk_vdexp(long n, const double *x, double *y) { for (long i = 0; i < n; i++) y[i] = exp(x[i]); }
void rk_vdsigmoid(long n, const double *x, double *y) { for (long i = 0; i < n; i++) y[i] = 1.0 / (1.0 + exp(-x[i])); }
void rk_vdtanh(long n, const double *x, double *y) { for (long i = 0; i < n; i++) y[i] = tanh(x[i]); }

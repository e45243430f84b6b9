// Vectorised elementwise math over contiguous buffers. y may alias x (in place).
// Float: max relative error <= 1e-6 against libm over the whole range; stable at the extremes
// (+-88, +-89, +-inf give no NaN; sigmoid stays in [0, 1], tanh in [-1, 1]; NaN in gives NaN out).
// Double versions are accurate to ~1e-15 relative.
#ifndef RK_VMATH_H
#define RK_VMATH_H

#ifdef __cplusplus
extern "C" {
#endif

void rk_vsexp(long n, const float *x, float *y);
void rk_vssigmoid(long n, const float *x, float *y);
void rk_vstanh(long n, const float *x, float *y);

void rk_vdexp(long n, const double *x, double *y);
void rk_vdsigmoid(long n, const double *x, double *y);
void rk_vdtanh(long n, const double *x, double *y);

#ifdef __cplusplus
}
#endif
#endif

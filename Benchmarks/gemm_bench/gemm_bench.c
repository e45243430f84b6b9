// Times one rk_sgemm / rk_dgemm shape; see Benchmarks/BENCHMARKS.md, section GEMM.
//
//   gemm_bench s|d transA transB M N K threads reps [portable]
//
// Links the C kernel objects of a release build:
//   swift build -c release
//   O=.build/release/CRecurrentKernels.build
//   clang -O2 -ISources/CRecurrentKernels/include Benchmarks/gemm_bench/gemm_bench.c \
//     $O/rk_cpu.c.o $O/rk_pool.c.o $O/rk_gemm.c.o $O/rk_gemm_avx2.c.o $O/rk_gemm_portable.c.o \
//     -lpthread -lm -o /tmp/gemm_bench
// Row-major, alpha = 1, beta = 0, minimal leading dimensions, values uniform in [-0.5, 0.5).
// Checks 256 sampled entries against a Double dot product first (exits 1 on a wrong answer),
// then 2 warm-up calls, then `reps` timed calls; prints the best and the median as GFLOP/s
// (2*M*N*K / seconds, wall clock).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rk_cpu.h"
#include "rk_gemm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr, "usage: %s s|d transA transB M N K threads reps [portable]\n", argv[0]);
    return 2;
  }
  const int dbl = argv[1][0] == 'd', ta = atoi(argv[2]), tb = atoi(argv[3]);
  const long M = atol(argv[4]), N = atol(argv[5]), K = atol(argv[6]);
  const int reps = atoi(argv[8]);
  rk_set_num_threads(atoi(argv[7]));
  if (argc > 9 && !strcmp(argv[9], "portable")) rk_force_isa(RK_ISA_PORTABLE);
  const long es = dbl ? 8 : 4, lda = ta ? M : K, ldb = tb ? K : N;
  void *A = malloc(es * M * K), *B = malloc(es * K * N), *C = malloc(es * M * N);
  srand(1);
  for (long i = 0; i < M * K; i++) {
    double v = rand() / ((double)RAND_MAX + 1) - 0.5;
    if (dbl) ((double *)A)[i] = v; else ((float *)A)[i] = (float)v;
  }
  for (long i = 0; i < K * N; i++) {
    double v = rand() / ((double)RAND_MAX + 1) - 0.5;
    if (dbl) ((double *)B)[i] = v; else ((float *)B)[i] = (float)v;
  }
#define CALL()                                                                 \
  do {                                                                         \
    if (dbl) rk_dgemm(ta, tb, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, N);       \
    else rk_sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);         \
  } while (0)
  CALL();
  double worst = 0;
  for (int q = 0; q < 256; q++) {
    const long i = rand() % M, j = rand() % N;
    double ref = 0, mag = 0;
    for (long p = 0; p < K; p++) {
      const long ia = ta ? p * lda + i : i * lda + p, ib = tb ? j * ldb + p : p * ldb + j;
      const double a = dbl ? ((double *)A)[ia] : ((float *)A)[ia];
      const double b = dbl ? ((double *)B)[ib] : ((float *)B)[ib];
      ref += a * b;
      mag += fabs(a * b);
    }
    const double got = dbl ? ((double *)C)[i * N + j] : ((float *)C)[i * N + j];
    const double e = fabs(got - ref) / (mag + 1e-300);
    if (!(e <= worst)) worst = e;
  }
  if (!(worst <= (dbl ? 1e-12 : 1e-5))) {
    printf("WRONG ANSWER: relative error %g\n", worst);
    return 1;
  }
  CALL();
  double *t = malloc(sizeof(double) * reps);
  for (int r = 0; r < reps; r++) {
    const double t0 = now();
    CALL();
    t[r] = now() - t0;
  }
  qsort(t, reps, sizeof(double), by_value);
  const double flop = 2.0 * M * N * K;
  printf("rk %sgemm %s%s %ldx%ldx%ld threads=%d isa=%s: best %.1f GFLOP/s  median %.1f\n",
         dbl ? "d" : "s", ta ? "T" : "N", tb ? "T" : "N", M, N, K, rk_get_num_threads(),
         rk_active_isa() == RK_ISA_AVX2_FMA ? "avx2+fma" : "portable", flop / t[0] / 1e9,
         flop / t[reps / 2] / 1e9);
  return 0;
}

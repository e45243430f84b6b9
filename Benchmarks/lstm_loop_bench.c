// The LSTM forward time loop alone, fused (rk_lstm_forward_sequence_f32: one parallel region,
// one barrier per step, or none when it splits the batch rows) against the step loop it replaced (rk_sgemm + rk_lstm_forward_f32_mt per
// step), interleaved, on the C kernel target without Swift. A development tool (not built by
// SwiftPM, not run by CI); tuning log entries 5 and 6 in BENCHMARKS.md quote it.
//
//   S=Sources/CRecurrentKernels
//   clang -O2 -I$S/include -I$S $S/*.c Benchmarks/lstm_loop_bench.c -o /tmp/lstm_loop_bench -lpthread -lm
//   /tmp/lstm_loop_bench B T H RUNS [THREADS]      e.g. 32 64 128 300 2  (config S's loop)
//
// Prints per mode the min, 10th percentile and median wall time of RUNS runs (ms) and GFLOP/s of
// the recurrent GEMM at the minimum (2 * T * B * 4H * H flops). Gates start from the same random
// input projection every run.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rk_cells.h"
#include "rk_cpu.h"
#include "rk_gemm.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s B T H RUNS [THREADS]\n", argv[0]);
    return 64;
  }
  const long B = atol(argv[1]), T = atol(argv[2]), H = atol(argv[3]), G = 4 * H;
  const int runs = atoi(argv[4]);
  if (B < 1 || T < 1 || H < 1 || runs < 1) return 64;
  rk_set_num_threads(argc > 5 ? atoi(argv[5]) : 2);
  float *x = malloc(sizeof(float) * T * B * G), *g = malloc(sizeof(float) * T * B * G);
  float *w = malloc(sizeof(float) * G * H), *bias = calloc((size_t)G, sizeof(float));
  float *hs = calloc((size_t)((T + 1) * B * H), sizeof(float));
  float *cs = calloc((size_t)((T + 1) * B * H), sizeof(float));
  double *ms[2] = {malloc(sizeof(double) * runs), malloc(sizeof(double) * runs)};
  if (!x || !g || !w || !bias || !hs || !cs || !ms[0] || !ms[1]) return 74;
  srand(1);
  for (long i = 0; i < T * B * G; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  for (long i = 0; i < G * H; i++) w[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * 0.1f;
  for (int r = 0; r < runs; r++) {
    for (int mode = 0; mode < 2; mode++) {
      memcpy(g, x, sizeof(float) * T * B * G);
      const double t0 = now_s();
      if (mode == 0 && rk_lstm_forward_sequence_f32(T, B, H, g, bias, w, hs, cs) == 0) {
        // fused
      } else {
        for (long t = 0; t < T; t++) {
          rk_sgemm(0, 1, B, G, H, 1, hs + t * B * H, H, w, H, 1, g + t * B * G, G);
          rk_lstm_forward_f32_mt(B, H, g + t * B * G, bias, cs + t * B * H, cs + (t + 1) * B * H,
                                 hs + (t + 1) * B * H);
        }
      }
      ms[mode][r] = (now_s() - t0) * 1e3;
    }
  }
  const char *names[2] = {"fused", "steps"};
  for (int mode = 0; mode < 2; mode++) {
    qsort(ms[mode], (size_t)runs, sizeof(double), by_value);
    printf("%s B%ld T%ld H%ld: min %.2f p10 %.2f p50 %.2f ms, %.1f GFLOP/s at the min\n", names[mode],
           B, T, H, ms[mode][0], ms[mode][runs / 10], ms[mode][runs / 2],
           2.0 * T * B * G * H / (ms[mode][0] * 1e-3) / 1e9);
  }
  return 0;
}

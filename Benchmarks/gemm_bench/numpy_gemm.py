# Times one numpy (OpenBLAS) matmul shape, the counterpart of gemm_bench.c:
#   python3 numpy_gemm.py s|d transB M N K reps
# transB = 1 times a @ b.T with b stored [N, K] (the recurrent step's x . W^T).
# 2 warm-up calls, then `reps` timed calls; prints the best and the median as GFLOP/s.
import sys, time
import numpy as np

kind, tb, m, n, k, reps = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:7])
dt = np.float64 if kind == "d" else np.float32
rng = np.random.default_rng(1)
a = rng.uniform(-0.5, 0.5, (m, k)).astype(dt)
b = rng.uniform(-0.5, 0.5, (n, k) if tb else (k, n)).astype(dt)
f = (lambda: a @ b.T) if tb else (lambda: a @ b)
f(); f()
ts = []
for _ in range(reps):
    t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
ts.sort()
fl = 2.0 * m * n * k
print("np %sgemm N%s %dx%dx%d: best %.1f GFLOP/s  median %.1f"
      % (kind, "T" if tb else "N", m, n, k, fl / ts[0] / 1e9, fl / ts[len(ts) // 2] / 1e9))

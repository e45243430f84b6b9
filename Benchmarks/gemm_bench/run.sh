#!/bin/sh
# The GEMM comparison protocol of Benchmarks/BENCHMARKS.md: every (library, shape, threads) is
# its own process under `chrt -f 10` (real-time FIFO: the other jobs of a shared machine cannot
# preempt it; needs root), 1 s apart so the kernel's real-time throttling (95% per second)
# never cuts in, 3 rounds alternating numpy and ours. Run from the package root after building
# /tmp/gemm_bench (see gemm_bench.c).
#   sh Benchmarks/gemm_bench/run.sh > /tmp/gemm_runs.log
D=$(dirname "$0")
NP="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 $D/numpy_gemm.py"
RK=${RK:-/tmp/gemm_bench}
run() { timeout 120 chrt -f 10 "$@"; sleep 1; }
for round in 1 2 3; do
  for t in 2 1; do
    np1=""; [ $t = 1 ] && np1="env OPENBLAS_NUM_THREADS=1"
    # M N K transB reps
    for s in "256 256 256 0 50" "512 512 512 0 20" "1024 1024 1024 0 10" "2048 2048 2048 0 3" \
             "64 2048 512 1 200" "1024 1024 1024 1 10"; do
      set -- $s
      if [ $t = 1 ] && [ "$1" != 1024 ] && [ "$1" != 64 ]; then continue; fi
      echo "threads=$t $(run $np1 $NP s $4 $1 $2 $3 $5)"
      echo "threads=$t $(run $RK s 0 $4 $1 $2 $3 $t $5)"
    done
    echo "threads=$t $(run $np1 $NP d 0 1024 1024 1024 5)"
    echo "threads=$t $(run $RK d 0 0 1024 1024 1024 $t 5)"
  done
done

// CPU feature detection, ISA selection and the persistent worker pool.
#ifndef RK_CPU_H
#define RK_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels the kernels can run at.
typedef enum {
  RK_ISA_PORTABLE = 0,  ///< plain C, any CPU
  RK_ISA_AVX2_FMA = 1,  ///< x86-64 with AVX2 and FMA
} rk_isa;

/// The best ISA this CPU supports (cpuid, checked once).
rk_isa rk_cpu_best_isa(void);
/// The ISA the kernels currently use: the best one, unless forced lower with rk_force_isa.
rk_isa rk_active_isa(void);
/// Forces the kernels called from the calling thread to `isa` (clamped to what the CPU
/// supports; other threads are unaffected, and a GEMM passes the choice to its workers); used by
/// tests to check the portable fallback on an AVX2 machine. Pass rk_cpu_best_isa() to restore.
void rk_force_isa(rk_isa isa);

/// Number of threads GEMM may use (default: the number of online CPUs, at most 8).
int rk_get_num_threads(void);
/// Sets the number of threads (1 = single-threaded). Safe to call between kernel calls.
void rk_set_num_threads(int n);

#ifdef __cplusplus
}
#endif
#endif

// PLACEHOLDER (to be replaced by the real cpuid dispatch and worker pool).
#include "rk_cpu.h"
static int rk_threads = 1;
static rk_isa rk_forced = RK_ISA_PORTABLE;
rk_isa rk_cpu_best_isa(void) { return RK_ISA_PORTABLE; }
rk_isa rk_active_isa(void) { return rk_forced; }
void rk_force_isa(rk_isa isa) { rk_forced = isa > rk_cpu_best_isa() ? rk_cpu_best_isa() : isa; }
int rk_get_num_threads(void) { return rk_threads; }
void rk_set_num_threads(int n) { rk_threads = n < 1 ? 1 : n; }

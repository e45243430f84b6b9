// Umbrella header of the C kernel target. Raw buffers only: no model types live here.
#ifndef C_RECURRENT_KERNELS_H
#define C_RECURRENT_KERNELS_H

#include "rk_cpu.h"
#include "rk_gemm.h"
#include "rk_vmath.h"
#include "rk_cells.h"

#endif

// The units split of the fused time loops (semantics: include/rk_cells.h): the LSTM forward
// when the rows split (rk_seq_rows.c) does not apply, and the backward of the LSTM and the GRU.
// Per step the step-by-step driver ran two thread hand-offs (the step GEMM, then the gate
// kernel) on the whole [B, G] slab; here every thread owns a range of hidden units [u0, u1)
// (whole 16-column micro-panels) for all T steps:
//
//   forward, step t:   G[t][:, q*H + u] += h_{t-1} . W_hh[q*H + u, :]^T   (q = i, f, g, o)
//                      gate kernel on units u of every row  -> c_t[:, u], h_t[:, u]
//                      barrier (step t + 1 reads all of h_t)
//   backward, step t:  gate backward on units u  -> dA[t][:, q*H + u]; LSTM: dc[:, u];
//                                                   GRU: dh_{t-1}[:, u] += dh_t z
//                      barrier (the GEMM reads all of dA[t])
//                      dh_{t-1}[:, u] += dA[t] . W_hh[:, u]
//                      (step t - 1 reads only dh_{t-1}[:, u], which this thread wrote)
//
// dA is the gradient of the recurrent product: the LSTM's dG, the GRU's dG_h (reset-after: it
// differs from dG_x in the n block, dAn r against dAn). One barrier per step instead of two
// fork/joins, and the thread's slice of W_hh is packed into micro-panels once, not at every
// step. The GEMM pieces are rk_sgemm's (rk_sgemm_macro over the same K blocks in the same order),
// and the gate kernels compute each unit independently, so the bits equal the step-by-step
// driver's (rk_sgemm + the step kernels of include/rk_cells.h) for any number of threads.
#include "rk_cells.h"
#include "rk_cpu.h"
#include "rk_gemm.h"
#include "rk_internal_cells.h"
#include "rk_internal_seq.h"

/// Largest slice of packed W_hh a thread keeps (floats): 4 MiB. Beyond it (H > ~1000 on two
/// threads) the panels are packed per step into an L1-sized buffer, as rk_sgemm does.
#define RK_SEQ_MAX_PACKED (1L << 20)

/// One thread's share of a loop: its hidden units [u0, u1) (whole micro-panels; padded width
/// wpad), its scratch, and whether its slice of W_hh is packed once (else per panel, per step).
typedef struct {
  long u0, u1, w, wpad;
  float *Ap, *Bp;
  int prepacked;
} rk_seq_share;

/// Sets up member `tid`'s share; every member learns whether anyone's scratch failed before any
/// write. Returns 0, or -1 if the loop must not run.
static int rk_seq_begin(rk_seq_job *jb, int tid, int n, rk_seq_share *sh) {
  const long nr = jb->ks->nr, mr = jb->ks->mr, panels = (jb->H + nr - 1) / nr;
  const long p0 = panels * tid / n, p1 = panels * (tid + 1) / n;
  sh->u0 = p0 * nr;
  sh->u1 = p1 * nr < jb->H ? p1 * nr : jb->H;
  sh->w = sh->u1 - sh->u0;
  sh->wpad = (p1 - p0) * nr;
  const long mc_pad = (jb->mc_max + mr - 1) / mr * mr;
  sh->prepacked = jb->G * sh->wpad <= RK_SEQ_MAX_PACKED;
  const long bfloats = sh->prepacked ? jb->G * sh->wpad : nr * jb->kc_max;
  sh->Ap = rk_scratch(0, (size_t)(mc_pad * jb->kc_max + RK_PACK_SLACK) * sizeof(float));
  sh->Bp = rk_scratch(1, (size_t)(bfloats + RK_PACK_SLACK) * sizeof(float));
  if (!sh->Ap || !sh->Bp) atomic_store(&jb->failed, 1);
  rk_pool_barrier(n);
  return atomic_load(&jb->failed) ? -1 : 0;
}

/// C[mc x w] += Ap . op(B)[pc block, the share's columns], one K block of width kc: from the
/// share's packed slice at `packed`, or (not prepacked) packing each micro-panel of op(B) just
/// before use from `src` = op(B)[pc, u0] (rk_sgemm's small-M path).
static void rk_seq_multiply(const rk_skernels *ks, const rk_seq_share *sh, long mc, long kc,
                            const float *packed, int transB, const float *src, long ldb, float *C,
                            long ldc) {
  if (sh->prepacked) {
    rk_sgemm_macro(ks, mc, sh->w, kc, sh->Ap, packed, C, ldc, 1, 1);
    return;
  }
  for (long jr = 0; jr < sh->w; jr += ks->nr) {
    const long nn = sh->w - jr < ks->nr ? sh->w - jr : ks->nr;
    ks->pack_b(transB, kc, nn, transB ? src + jr * ldb : src + jr, ldb, sh->Bp);
    rk_sgemm_macro(ks, mc, nn, kc, sh->Ap, sh->Bp, C + jr, ldc, 1, 1);
  }
}

// ---- forward ----

/// LSTM only. Packed W_hh slice, forward operand op(B) = W_hh^T [H, 4H] restricted to the
/// thread's gate columns: K block pc at Bp + pc * 4 * wpad, gate q at + q * wpad * kc, panel j
/// at + j * kc.
static void rk_seq_forward_task(void *ctx, int tid, int n) {
  rk_seq_job *jb = ctx;
  const rk_skernels *ks = jb->ks;
  const long T = jb->T, B = jb->B, H = jb->H, G = 4 * H;
  rk_seq_share sh;
  if (rk_seq_begin(jb, tid, n, &sh) != 0) return;
  const long u0 = sh.u0, w = sh.w, wpad = sh.wpad;
  if (sh.prepacked && w > 0)
    for (long pc = 0; pc < H; pc += jb->kc_max) {
      const long kc = H - pc < jb->kc_max ? H - pc : jb->kc_max;
      for (int q = 0; q < 4; q++)
        ks->pack_b(1, kc, w, jb->whh + (q * H + u0) * H + pc, H, sh.Bp + pc * 4 * wpad + q * wpad * kc);
    }
  for (long t = 0; t < T; t++) {
    const float *hPrev = jb->hs + t * B * H;
    float *g = jb->gates + t * B * G;
    if (w > 0) {
      // G[t][:, q*H + u] += h_{t-1} . W_hh^T[:, q*H + u]   (rk_sgemm(0, 1, B, 4H, H, 1, ...))
      for (long pc = 0; pc < H; pc += jb->kc_max) {
        const long kc = H - pc < jb->kc_max ? H - pc : jb->kc_max;
        for (long ic = 0; ic < B; ic += jb->mc_max) {
          const long mc = B - ic < jb->mc_max ? B - ic : jb->mc_max;
          ks->pack_a(0, mc, kc, hPrev + ic * H + pc, H, sh.Ap);
          for (int q = 0; q < 4; q++)
            rk_seq_multiply(ks, &sh, mc, kc, sh.Bp + pc * 4 * wpad + q * wpad * kc, 1,
                            jb->whh + (q * H + u0) * H + pc, H, g + ic * G + q * H + u0, G);
        }
      }
      // c_t, h_t on our units (adds the biases, activates the gates in place)
      rk_lstm_forward_units_f32(jb->avx2, B, H, u0, sh.u1, g, jb->bias, jb->cs + t * B * H,
                                jb->cs + (t + 1) * B * H, jb->hs + (t + 1) * B * H);
      rk_seq_copy_out(jb, t, 0, B, u0, sh.u1);
    }
    rk_pool_barrier(n);  // h_t complete before step t + 1 packs it
  }
}

/// Whole 16-unit micro-panels of H: the most threads the units split can use.
static long rk_seq_panels(const rk_seq_job *jb) {
  return (jb->H + jb->ks->nr - 1) / jb->ks->nr;
}

int rk_seq_forward_units(rk_seq_job *jb) {
  return rk_seq_run(rk_seq_forward_task, jb, rk_seq_threads(jb, rk_seq_panels(jb)));
}

// ---- backward ----

/// Packed W_hh slice, backward operand op(B) = W_hh [G, H] restricted to the thread's columns
/// u: K block pc (rows of W_hh) at Bp + pc * wpad, panel j at + j * kc.
static void rk_seq_backward_task(void *ctx, int tid, int n) {
  rk_seq_job *jb = ctx;
  const rk_skernels *ks = jb->ks;
  const long T = jb->T, B = jb->B, H = jb->H, G = jb->G;
  rk_seq_share sh;
  if (rk_seq_begin(jb, tid, n, &sh) != 0) return;
  const long u0 = sh.u0, w = sh.w, wpad = sh.wpad;
  if (sh.prepacked && w > 0)
    for (long pc = 0; pc < G; pc += jb->kc_max) {
      const long kc = G - pc < jb->kc_max ? G - pc : jb->kc_max;
      ks->pack_b(0, kc, w, jb->whh + pc * H + u0, H, sh.Bp + pc * wpad);
    }
  for (long t = T - 1; t >= 0; t--) {
    // the recurrent product's gradient: the LSTM's dG[t], the GRU's dG_h[t]
    const float *dA = (jb->gru ? jb->dGh : jb->dG) + t * B * G;
    float *dhPrev = t > 0 ? jb->dHs + (t - 1) * B * H : jb->dh0;
    // reverses the gate kernel on our units: dG[t][:, q*H + u] (GRU: and dG_h[t]), db[q*H + u];
    // LSTM: dc[:, u]; GRU: dh_{t-1}[:, u] += dh_t z (the direct path)
    if (w > 0 && jb->gru)
      rk_gru_backward_units_f32(jb->avx2, B, H, u0, sh.u1, jb->g + t * B * G, jb->hn + t * B * H,
                                jb->hs + t * B * H, jb->dHs + t * B * H, dhPrev, jb->dG + t * B * G,
                                jb->dGh + t * B * G, jb->db, jb->dbh);
    else if (w > 0)
      rk_lstm_backward_units_f32(jb->avx2, B, H, u0, sh.u1, jb->g + t * B * G, jb->ccs + t * B * H,
                                 jb->ccs + (t + 1) * B * H, jb->dHs + t * B * H, jb->dc,
                                 jb->dG + t * B * G, jb->db);
    rk_pool_barrier(n);  // dG[t] complete before anyone multiplies it
    if (w == 0) continue;
    // reverses G[t] += h_{t-1} . W_hh^T (GRU: R = ...):  dh_{t-1}[:, u] += dA[t] . W_hh[:, u]
    // (rk_sgemm(0, 0, B, H, G, 1, dA, G, W_hh, H, 1, dh_{t-1}, H))
    for (long pc = 0; pc < G; pc += jb->kc_max) {
      const long kc = G - pc < jb->kc_max ? G - pc : jb->kc_max;
      for (long ic = 0; ic < B; ic += jb->mc_max) {
        const long mc = B - ic < jb->mc_max ? B - ic : jb->mc_max;
        ks->pack_a(0, mc, kc, dA + ic * G + pc, G, sh.Ap);
        rk_seq_multiply(ks, &sh, mc, kc, sh.Bp + pc * wpad, 0, jb->whh + pc * H + u0, H,
                        dhPrev + ic * H + u0, H);
      }
    }
  }
}

int rk_seq_backward_units(rk_seq_job *jb) {
  return rk_seq_run(rk_seq_backward_task, jb, rk_seq_threads(jb, rk_seq_panels(jb)));
}

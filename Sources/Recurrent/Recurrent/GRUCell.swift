/// The gated recurrent unit, in either of its two forms.
///
/// Gate order r | z | n (Keras stores z | r | h: a documented permutation on import).
///
/// Reset-after (`resetAfter: true`, the default; PyTorch `nn.GRU`, cuDNN, Keras `GRU` with
/// `reset_after=True`): the reset gate scales the recurrent projection *after* the matrix product,
/// so all three blocks come from one GEMM per step:
///
///     r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
///     z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
///     n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))
///     h_t = (1 - z) * n + z * h_{t-1}
///
/// Reset-before (`resetAfter: false`; Cho et al. 2014, Keras `reset_after=False`): the reset
/// gate scales h_{t-1} *before* the candidate's recurrent product:
///
///     r, z as above
///     n = tanh(W_in x_t + b_in + W_hn (r * h_{t-1}) + b_hn)
///     h_t = (1 - z) * n + z * h_{t-1}
///
/// Here b_in and b_hn only ever appear as their sum (Keras keeps a single bias [3H] in this
/// form: it maps to `bias_ih`, with `bias_hh` = 0). The candidate's recurrent product needs r
/// first, so the BPTT driver runs two GEMMs per step for this form: h_{t-1} W_h{r,z}^T
/// ([B, H] x [H, 2H]), then (r * h_{t-1}) W_hn^T ([B, H] x [H, H]); together the same
/// multiply-adds as reset-after's one [B, H] x [H, 3H] GEMM, but two dependent calls.
///
/// Weights: `weight_ih` [3H, I], `weight_hh` [3H, H], `bias_ih` [3H], `bias_hh` [3H] (both forms).
/// Saved per step for backward: r, z, n [B, 3H] and one [B, H] extra: reset-after keeps
/// `W_hn h_{t-1} + b_hn`, reset-before keeps `r * h_{t-1}`.
public struct GRUCell: RecurrentCell {
  /// Whether the reset gate applies after the recurrent matrix product (PyTorch, cuDNN, Keras's
  /// default) or before it (`false`: the original form, Keras `reset_after=False`).
  public var resetAfter: Bool

  public init(resetAfter: Bool = true) { self.resetAfter = resetAfter }

  public static var gateCount: Int { 3 }
  public static var hasCellState: Bool { false }
  public static var extraSavedPerUnit: Int { 1 }
  public static var splitsRecurrentGradient: Bool { true }
  public var kindName: String { "gru" }

  /// One reset-after step (the protocol's single-GEMM step). Reset-before steps need a second
  /// GEMM between the gates and the candidate: `RecurrentLayer` runs them with the
  /// `resetBefore...` kernels below.
  public func forward<S: TensorScalar>(_ s: CellForwardStep<S>) {
    precondition(resetAfter, "GRUCell(resetAfter: false) steps through its resetBefore kernels, not forward(_:)")
    let H = s.hidden, G = 3 * H
    let bhh = s.recurrentBias, extra = s.extra!
    for b in 0..<s.batch {
      let a = s.gates + b * G, r = s.recurrent + b * G
      let hp = s.hPrev + b * H, h = s.h + b * H, hn = extra + b * H
      // a_r, a_z = (x W_i^T + b_i) + (h_{t-1} W_h^T + b_h)   for the r and z blocks
      for j in 0..<(2 * H) { a[j] += r[j] + bhh[j] }
      // r, z = σ(a_r, a_z)   (in place)
      S.sigmoid(count: 2 * H, a, into: a)
      // hn = W_hn h_{t-1} + b_hn  (saved);  a_n = x W_in^T + b_in + r * hn
      for j in 0..<H {
        hn[j] = r[2 * H + j] + bhh[2 * H + j]
        a[2 * H + j] += a[j] * hn[j]
      }
      // n = tanh(a_n)
      S.tanh(count: H, a + 2 * H, into: a + 2 * H)
      // h_t = (1 - z) * n + z * h_{t-1} = n + z * (h_{t-1} - n)
      let z = a + H, n = a + 2 * H
      for j in 0..<H { h[j] = n[j] + z[j] * (hp[j] - n[j]) }
    }
  }

  /// The reverse of `forward` (reset-after only).
  public func backward<S: TensorScalar>(_ s: CellBackwardStep<S>) {
    precondition(resetAfter, "GRUCell(resetAfter: false) steps through its resetBefore kernels, not backward(_:)")
    let H = s.hidden, G = 3 * H
    let extra = s.extra!
    for b in 0..<s.batch {
      let a = s.gates + b * G
      let r = a, z = a + H, n = a + 2 * H
      let hp = s.hPrev + b * H, hn = extra + b * H, dh = s.dh + b * H
      let dhp = s.dhPrev + b * H
      let dx = s.dGatesInput + b * G, dr = s.dGatesRecurrent + b * G
      for j in 0..<H {
        // reverses h_t = (1 - z) * n + z * h_{t-1}
        let dZ = dh[j] * (hp[j] - n[j])
        let dN = dh[j] * (1 - z[j])
        dhp[j] += dh[j] * z[j]
        // reverses n = tanh(a_n)
        let dAn = dN * (1 - n[j] * n[j])
        // reverses a_n = x W_in^T + b_in + r * hn
        let dR = dAn * hn[j]
        // reverses r, z = σ(a_r, a_z)
        let dAr = dR * r[j] * (1 - r[j])
        let dAz = dZ * z[j] * (1 - z[j])
        dx[j] = dAr; dx[H + j] = dAz; dx[2 * H + j] = dAn
        dr[j] = dAr; dr[H + j] = dAz; dr[2 * H + j] = dAn * r[j]  // d(hn) = dAn * r
      }
    }
  }
}

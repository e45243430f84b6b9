/// The long short-term memory cell (Hochreiter & Schmidhuber, with a forget gate).
///
/// Gate order i | f | g | o (PyTorch `nn.LSTM`, Keras `LSTM`'s i | f | c | o):
///
///     [a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh      each [H]
///     i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
///     c_t = f * c_{t-1} + i * g
///     h_t = o * tanh(c_t)
///
/// Weights: `weight_ih` [4H, I], `weight_hh` [4H, H], `bias_ih` [4H], `bias_hh` [4H].
/// Saved per step for backward: the activated gates [B, 4H] and c_t.
public struct LSTMCell: RecurrentCell {
  public init() {}

  public static var gateCount: Int { 4 }
  public static var hasCellState: Bool { true }
  public static var extraSavedPerUnit: Int { 0 }
  public static var splitsRecurrentGradient: Bool { false }
  public var kindName: String { "lstm" }

  public func forward<S: TensorScalar>(_ s: CellForwardStep<S>) {
    let H = s.hidden, G = 4 * H
    let cPrev = s.cPrev!, cOut = s.c!
    for b in 0..<s.batch {
      let a = s.gates + b * G, r = s.recurrent + b * G
      let cp = cPrev + b * H, c = cOut + b * H, h = s.h + b * H
      // a = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh                      a: [4H]
      for j in 0..<G { a[j] += r[j] + s.recurrentBias[j] }
      // i, f = σ(a_i, a_f);  g = tanh(a_g);  o = σ(a_o)   (in place: a becomes [i, f, g, o])
      S.sigmoid(count: 2 * H, a, into: a)
      S.tanh(count: H, a + 2 * H, into: a + 2 * H)
      S.sigmoid(count: H, a + 3 * H, into: a + 3 * H)
      let i = a, f = a + H, g = a + 2 * H, o = a + 3 * H
      // c_t = f * c_{t-1} + i * g
      for j in 0..<H { c[j] = f[j] * cp[j] + i[j] * g[j] }
      // h_t = o * tanh(c_t)
      S.tanh(count: H, c, into: h)
      for j in 0..<H { h[j] *= o[j] }
    }
  }

  public func backward<S: TensorScalar>(_ s: CellBackwardStep<S>) {
    let H = s.hidden, G = 4 * H
    let cPrev = s.cPrev!, cAll = s.c!, dcAll = s.dc!
    for b in 0..<s.batch {
      let a = s.gates + b * G
      let i = a, f = a + H, g = a + 2 * H, o = a + 3 * H
      let cp = cPrev + b * H, c = cAll + b * H, dh = s.dh + b * H, dc = dcAll + b * H
      let da = s.dGatesInput + b * G
      let tc = s.scratch + b * H
      S.tanh(count: H, c, into: tc)  // recompute tanh(c_t)
      for j in 0..<H {
        // reverses h_t = o * tanh(c_t): do = dh * tanh(c_t), dc_t += dh * o * (1 - tanh^2(c_t))
        let dO = dh[j] * tc[j]
        let dcT = dc[j] + dh[j] * o[j] * (1 - tc[j] * tc[j])
        // reverses c_t = f * c_{t-1} + i * g
        let dI = dcT * g[j], dF = dcT * cp[j], dG = dcT * i[j]
        dc[j] = dcT * f[j]  // dc_{t-1}
        // reverses the activations: σ' = s(1-s), tanh' = 1 - t^2
        da[j] = dI * i[j] * (1 - i[j])
        da[H + j] = dF * f[j] * (1 - f[j])
        da[2 * H + j] = dG * (1 - g[j] * g[j])
        da[3 * H + j] = dO * o[j] * (1 - o[j])
      }
    }
  }
}

/// The Elman (vanilla) recurrent cell.
///
///     h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)      act = tanh (default) or relu
///
/// Weights: `weight_ih` [H, I], `weight_hh` [H, H], `bias_ih` [H], `bias_hh` [H] (PyTorch
/// `nn.RNN`; Keras `SimpleRNN` has one bias = `bias_ih + bias_hh` and kernels transposed).
public struct SimpleRNNCell: RecurrentCell {
  /// The nonlinearity applied to the pre-activation.
  public enum Activation: String, Sendable, CaseIterable { case tanh, relu }

  public var activation: Activation
  public init(activation: Activation = .tanh) { self.activation = activation }

  public static var gateCount: Int { 1 }
  public static var hasCellState: Bool { false }
  public static var extraSavedPerUnit: Int { 0 }
  public static var splitsRecurrentGradient: Bool { false }
  public var kindName: String { activation == .tanh ? "rnn" : "rnn_relu" }

  public func forward<S: TensorScalar>(_ s: CellForwardStep<S>) {
    let H = s.hidden
    for b in 0..<s.batch {
      let a = s.gates + b * H, r = s.recurrent + b * H, h = s.h + b * H
      // a = x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh          a: [H]
      for j in 0..<H { a[j] += r[j] + s.recurrentBias[j] }
      // h_t = act(a); saved: h_t itself (act' is a function of it)
      switch activation {
      case .tanh: S.tanh(count: H, a, into: a)
      case .relu: for j in 0..<H { a[j] = max(a[j], 0) }
      }
      h.update(from: a, count: H)
    }
  }

  public func backward<S: TensorScalar>(_ s: CellBackwardStep<S>) {
    let H = s.hidden
    for b in 0..<s.batch {
      let h = s.gates + b * H, dh = s.dh + b * H, da = s.dGatesInput + b * H
      switch activation {
      // reverses h_t = tanh(a): da = dh * (1 - h^2)
      case .tanh: for j in 0..<H { da[j] = dh[j] * (1 - h[j] * h[j]) }
      // reverses h_t = relu(a): da = dh * [h > 0]
      case .relu: for j in 0..<H { da[j] = h[j] > 0 ? dh[j] : 0 }
      }
    }
  }
}

import Recurrent
import RecurrentTestSupport
import Testing

/// Gradient checks (Double, central differences) of a stateful layer's second chunk: the state
/// carried from chunk 1 is a constant (detached), so dL/dθ of chunk 2 is the derivative of
/// L(θ) = sum(forward(chunk 2 from the carried state; θ) * R), which is what truncated BPTT
/// (`fit(truncatedBPTT:)`) steps on.
@Suite struct StatefulGradientTests {
  static func check<Cell: RecurrentCell>(_ cell: Cell, seed: UInt64) throws -> Double {
    let B = 2, T = 4, I = 3, H = 3
    var rng = SeededGenerator(seed: seed)
    let store = ParameterStore<Double>()
    let layer = RNN<Cell, Double>(cell, units: H, returnSequences: true, stateful: true)
    _ = try layer.build(inputShape: [T, I], store: store, name: "l", generator: &rng)
    for i in store.params.indices { store.params[i] += rng.nextUnit() - 0.5 }
    let chunk1 = Tensor<Double>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let chunk2 = Tensor<Double>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let R = Tensor<Double>(shape: [B, T, H], uniformIn: -1...1, using: &rng)
    func dot(_ a: Tensor<Double>) -> Double { zip(a.scalars, R.scalars).reduce(0) { $0 + $1.0 * $1.1 } }

    // Analytic: chunk 1, then chunk 2 from the carried state, backward through chunk 2 only.
    _ = layer.forward(chunk1, context: LayerContext())
    let carried = try #require(layer.lastState)
    _ = layer.forward(chunk2, context: LayerContext())
    store.zeroGradients()
    let dx = layer.backward(R)
    let analytic = store.grads

    // Numeric: chunk 2 from the same carried state, every time.
    layer.initialState = carried
    func loss() -> Double {
      layer.resetStates()  // the next forward starts from `initialState` = the carried state
      return dot(layer.forward(chunk2, context: LayerContext()))
    }
    var worst = 0.0
    func compare(_ a: Double, _ perturb: (Double) -> Void) {
      let eps = 1e-5
      perturb(eps)
      let lp = loss()
      perturb(-2 * eps)
      let lm = loss()
      perturb(eps)
      let n = (lp - lm) / (2 * eps)
      worst = max(worst, abs(a - n) / max(abs(a), abs(n), 1e-2))
    }
    for i in store.params.indices { compare(analytic[i]) { store.params[i] += $0 } }
    var x = chunk2
    func lossX() -> Double {
      layer.resetStates()
      return dot(layer.forward(x, context: LayerContext()))
    }
    for i in x.scalars.indices {
      let eps = 1e-5, x0 = x.scalars[i]
      x.scalars[i] = x0 + eps
      let lp = lossX()
      x.scalars[i] = x0 - eps
      let lm = lossX()
      x.scalars[i] = x0
      let n = (lp - lm) / (2 * eps)
      worst = max(worst, abs(dx.scalars[i] - n) / max(abs(dx.scalars[i]), abs(n), 1e-2))
    }
    return worst
  }

  @Test func everyCellKind() throws {
    let errors = [
      ("rnn", try Self.check(SimpleRNNCell(), seed: 1)),
      ("lstm", try Self.check(LSTMCell(), seed: 2)),
      ("gru", try Self.check(GRUCell(), seed: 3)),
      ("gru reset-before", try Self.check(GRUCell(resetAfter: false), seed: 4)),
    ]
    for (kind, e) in errors { #expect(e < 1e-6, "\(kind): max relative error \(e)") }
  }
}

import Foundation
import Recurrent
import RecurrentTestSupport
import Testing

/// Per-step states and gates from the tape, gate statistics and the spectral norm.
@Suite struct RecurrentTraceTests {
  /// The LSTM trace reproduces the equations step by step (Double reference path and the fused
  /// Float path agree with a hand-written recomputation).
  @Test(arguments: [false, true])
  func lstmTraceMatchesTheEquations(fused: Bool) {
    var rng = SeededGenerator(seed: 21)
    let B = 2, T = 4, I = 3, H = 5
    let store = ParameterStore<Float>()
    let layer = RecurrentLayer<LSTMCell, Float>(
      LSTMCell(), inputSize: I, hiddenSize: H, store: store,
      initialization: RecurrentInitialization(bias: .uniform(-0.5, 0.5)), generator: &rng)
    layer.usesFusedKernels = fused
    let x = Tensor<Float>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let out = layer.forward(x)
    let tr = layer.trace()
    #expect(tr.gateNames == ["input", "forget", "cell", "output"])
    #expect(maxAbsoluteDifference(tr.hidden, out.sequence) == 0)
    let W = store.value(of: layer.weightIH), U = store.value(of: layer.weightHH)
    let bi = store.value(of: layer.biasIH), bh = store.value(of: layer.biasHH)
    func sig(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
    for b in 0..<B {
      var h = [Double](repeating: 0, count: H), c = h
      for t in 0..<T {
        var a = [Double](repeating: 0, count: 4 * H)
        for g in 0..<(4 * H) {
          a[g] = Double(bi[g] + bh[g])
          for i in 0..<I { a[g] += Double(W[g, i] * x[b, t, i]) }
          for j in 0..<H { a[g] += Double(U[g, j]) * h[j] }
        }
        for j in 0..<H {
          let iG = sig(a[j]), fG = sig(a[H + j]), gG = tanh(a[2 * H + j]), oG = sig(a[3 * H + j])
          c[j] = fG * c[j] + iG * gG
          h[j] = oG * tanh(c[j])
          #expect(abs(Double(tr.gates["input"]![b, t, j]) - iG) < 1e-5)
          #expect(abs(Double(tr.gates["forget"]![b, t, j]) - fG) < 1e-5)
          #expect(abs(Double(tr.gates["cell"]![b, t, j]) - gG) < 1e-5)
          #expect(abs(Double(tr.gates["output"]![b, t, j]) - oG) < 1e-5)
          #expect(abs(Double(tr.cell![b, t, j]) - c[j]) < 1e-5)
          #expect(abs(Double(tr.hidden[b, t, j]) - h[j]) < 1e-5)
        }
      }
    }
  }

  /// A forget-gate bias of +20 pins the gate open: the statistics say so.
  @Test func gateStatisticsSeeSaturation() {
    var rng = SeededGenerator(seed: 22)
    let store = ParameterStore<Float>()
    let layer = RecurrentLayer<LSTMCell, Float>(
      LSTMCell(), inputSize: 3, hiddenSize: 4, store: store,
      initialization: RecurrentInitialization(forgetGateBias: 20), generator: &rng)
    _ = layer.forward(Tensor<Float>(shape: [3, 6, 3], uniformIn: -1...1, using: &rng))
    let stats = layer.gateStatistics()
    let forget = stats.first { $0.gate == "forget" }!
    #expect(forget.saturatedHigh == 1 && forget.saturatedLow == 0 && forget.mean > 0.99)
    let input = stats.first { $0.gate == "input" }!
    #expect(input.saturatedHigh < 0.5)
    #expect(stats.map(\.gate) == ["input", "forget", "cell", "output"])
    #expect(stats.first { $0.gate == "cell" }!.isTanh)
  }

  @Test func gruGateNames() {
    var rng = SeededGenerator(seed: 23)
    let layer = RecurrentLayer<GRUCell, Double>(GRUCell(), inputSize: 2, hiddenSize: 3, generator: &rng)
    _ = layer.forward(Tensor<Double>(shape: [1, 2, 2], uniformIn: -1...1, using: &rng))
    #expect(layer.trace().gateNames == ["reset", "update", "new"])
    #expect(layer.trace().cell == nil)
  }

  /// σ_max of a scaled orthogonal matrix is the scale; of a diagonal matrix, the largest entry.
  @Test func spectralNorm() {
    var rng = SeededGenerator(seed: 24)
    let q = Initializer.orthogonal(gain: 0.7).values(rows: 8, cols: 8, fanIn: 8, fanOut: 8, using: &rng)
    #expect(abs(largestSingularValue(q, rows: 8, cols: 8) - 0.7) < 1e-9)
    let d: [Double] = [3, 0, 0, 0, -5, 0]  // [2, 3]
    #expect(abs(largestSingularValue(d, rows: 2, cols: 3) - 5) < 1e-9)
    let layer = RecurrentLayer<SimpleRNNCell, Double>(
      SimpleRNNCell(), inputSize: 2, hiddenSize: 6,
      initialization: RecurrentInitialization(recurrentWeights: .orthogonal(gain: 1.3)), generator: &rng)
    #expect(abs(layer.recurrentSpectralNorm - 1.3) < 1e-9)
  }
}

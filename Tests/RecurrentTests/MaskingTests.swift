import Recurrent
import RecurrentTestSupport
import Testing

/// A padded row in a masked batch behaves exactly like that row run alone at its own length.
@Suite struct MaskingTests {
  static func run<Cell: RecurrentCell>(_ cell: Cell) {
    let B = 3, T = 6, I = 4, H = 5
    let lengths = [6, 2, 4]
    var rng = SeededGenerator(seed: 11)
    let store = ParameterStore<Double>()
    let layer = RecurrentLayer<Cell, Double>(cell, inputSize: I, hiddenSize: H, store: store, generator: &rng)
    let x = Tensor<Double>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let dY = Tensor<Double>(shape: [B, T, H], uniformIn: -1...1, using: &rng)
    var mask = Tensor<Double>(shape: [B, T])
    for b in 0..<B { for t in 0..<lengths[b] { mask[b, t] = 1 } }

    store.zeroGradients()
    let out = layer.forward(x, mask: mask)
    let g = layer.backward(sequenceGradient: dY)
    let batchedGrads = store.grads

    var summedGrads = [Double](repeating: 0, count: store.count)
    for b in 0..<B {
      let L = lengths[b]
      var xb = Tensor<Double>(shape: [1, L, I]), dyb = Tensor<Double>(shape: [1, L, H])
      for t in 0..<L {
        for i in 0..<I { xb[0, t, i] = x[b, t, i] }
        for j in 0..<H { dyb[0, t, j] = dY[b, t, j] }
      }
      store.zeroGradients()
      let o = layer.forward(xb)
      let gb = layer.backward(sequenceGradient: dyb)
      for j in 0..<H {
        #expect(abs(o.finalState.h[0, j] - out.finalState.h[b, j]) < 1e-12)  // own last step
        for t in 0..<T {
          let want = t < L ? o.sequence[0, t, j] : 0  // padded outputs are zero
          #expect(abs(out.sequence[b, t, j] - want) < 1e-12)
        }
      }
      for t in 0..<T {
        for i in 0..<I { #expect(abs(g.input[b, t, i] - (t < L ? gb.input[0, t, i] : 0)) < 1e-12) }
      }
      for k in 0..<store.count { summedGrads[k] += store.grads[k] }
    }
    #expect(maxAbsoluteDifference(batchedGrads, summedGrads) < 1e-12)
  }

  @Test func simpleRNN() { Self.run(SimpleRNNCell()) }
  @Test func lstm() { Self.run(LSTMCell()) }
  @Test func gru() { Self.run(GRUCell()) }
}

import Recurrent
import RecurrentTestSupport
import Testing

/// T single-step calls carrying the state equal one T-step call: outputs, final state and
/// every gradient (the step-by-step backward chains dL/dh0 of step t+1 into step t).
@Suite struct SequentialEquivalenceTests {
  static func run<Cell: RecurrentCell>(_ cell: Cell, goBackwards: Bool) {
    let B = 3, T = 7, I = 5, H = 4
    var rng = SeededGenerator(seed: 42)
    let store = ParameterStore<Double>()
    let layer = RecurrentLayer<Cell, Double>(
      cell, inputSize: I, hiddenSize: H, store: store, name: "l",
      initialization: RecurrentInitialization(bias: .uniform(-0.3, 0.3)), generator: &rng)
    let x = Tensor<Double>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let s0 = RecurrentState(
      h: Tensor<Double>(shape: [B, H], uniformIn: -1...1, using: &rng),
      c: Cell.hasCellState ? Tensor<Double>(shape: [B, H], uniformIn: -1...1, using: &rng) : nil)
    let dY = Tensor<Double>(shape: [B, T, H], uniformIn: -1...1, using: &rng)
    let dS = RecurrentState(
      h: Tensor<Double>(shape: [B, H], uniformIn: -1...1, using: &rng),
      c: Cell.hasCellState ? Tensor<Double>(shape: [B, H], uniformIn: -1...1, using: &rng) : nil)
    // Processing order: step k of the scan reads input step order[k].
    let order = goBackwards ? Array((0..<T).reversed()) : Array(0..<T)

    // Batched: one T-step call.
    layer.goBackwards = goBackwards
    store.zeroGradients()
    let full = layer.forward(x, initialState: s0)
    let fullGrad = layer.backward(sequenceGradient: dY, finalStateGradient: dS)
    let fullParamGrads = store.grads

    // Sequential: T one-step calls, each with its own tape, state carried.
    layer.goBackwards = false
    store.zeroGradients()
    func slice(_ t: Tensor<Double>, step: Int) -> Tensor<Double> {
      let F = t.shape[2]
      var out = Tensor<Double>(shape: [B, 1, F])
      for b in 0..<B { for f in 0..<F { out[b, 0, f] = t[b, step, f] } }
      return out
    }
    var state = s0
    var tapes = [RecurrentTape<Double>]()
    var outs = [Tensor<Double>]()
    for k in 0..<T {
      let tape = RecurrentTape<Double>()
      let o = layer.forward(slice(x, step: order[k]), initialState: state, tape: tape)
      tapes.append(tape)
      outs.append(o.sequence)
      state = o.finalState
    }
    // Outputs and final state.
    for k in 0..<T {
      for b in 0..<B { for j in 0..<H { #expect(abs(outs[k][b, 0, j] - full.sequence[b, k, j]) < 1e-12) } }
    }
    #expect(maxAbsoluteDifference(state.h, full.finalState.h) < 1e-12)
    if let c = state.c { #expect(maxAbsoluteDifference(c, full.finalState.c!) < 1e-12) }

    // Backward, last step first, chaining the state gradient.
    var carry = dS
    var dx = Tensor<Double>(shape: [B, T, I])
    for k in stride(from: T - 1, through: 0, by: -1) {
      let g = layer.backward(sequenceGradient: slice(dY, step: k), finalStateGradient: carry, tape: tapes[k])
      for b in 0..<B { for f in 0..<I { dx[b, order[k], f] = g.input[b, 0, f] } }
      carry = g.initialState
    }
    #expect(maxAbsoluteDifference(dx, fullGrad.input) < 1e-12)
    #expect(maxAbsoluteDifference(carry.h, fullGrad.initialState.h) < 1e-12)
    if let c = carry.c { #expect(maxAbsoluteDifference(c, fullGrad.initialState.c!) < 1e-12) }
    #expect(maxAbsoluteDifference(store.grads, fullParamGrads) < 1e-12)
  }

  @Test(arguments: [false, true]) func simpleRNN(goBackwards: Bool) { Self.run(SimpleRNNCell(), goBackwards: goBackwards) }
  @Test(arguments: [false, true]) func simpleRNNRelu(goBackwards: Bool) { Self.run(SimpleRNNCell(activation: .relu), goBackwards: goBackwards) }
  @Test(arguments: [false, true]) func lstm(goBackwards: Bool) { Self.run(LSTMCell(), goBackwards: goBackwards) }
  @Test(arguments: [false, true]) func gru(goBackwards: Bool) { Self.run(GRUCell(), goBackwards: goBackwards) }
}

/// The same layer in Float and Double agrees to 1e-5 on outputs (and gradients to 1e-4).
@Suite struct PrecisionAgreementTests {
  static func run<Cell: RecurrentCell>(_ cell: Cell) {
    let B = 4, T = 20, I = 9, H = 17
    var rng = SeededGenerator(seed: 3)
    let storeD = ParameterStore<Double>()
    let layerD = RecurrentLayer<Cell, Double>(cell, inputSize: I, hiddenSize: H, store: storeD, generator: &rng)
    var rngF = SeededGenerator(seed: 3)
    let storeF = ParameterStore<Float>()
    let layerF = RecurrentLayer<Cell, Float>(cell, inputSize: I, hiddenSize: H, store: storeF, generator: &rngF)
    // Use exactly the same (Float-representable) weights in both.
    storeD.params = storeF.params.map { Double($0) }
    let x = Tensor<Float>(shape: [B, T, I], uniformIn: -2...2, using: &rng)
    let dY = Tensor<Float>(shape: [B, T, H], uniformIn: -1...1, using: &rng)
    let outF = layerF.forward(x)
    let outD = layerD.forward(x.converted(to: Double.self))
    #expect(maxAbsoluteDifference(outF.sequence.scalars.map(Double.init), outD.sequence.scalars) < 1e-5)
    #expect(maxAbsoluteDifference(outF.finalState.h.scalars.map(Double.init), outD.finalState.h.scalars) < 1e-5)
    let gF = layerF.backward(sequenceGradient: dY)
    let gD = layerD.backward(sequenceGradient: dY.converted(to: Double.self))
    #expect(maxAbsoluteDifference(gF.input.scalars.map(Double.init), gD.input.scalars) < 1e-4)
    #expect(maxAbsoluteDifference(storeF.grads.map(Double.init), storeD.grads) < 1e-4)
  }

  @Test func simpleRNN() { Self.run(SimpleRNNCell()) }
  @Test func lstm() { Self.run(LSTMCell()) }
  @Test func gru() { Self.run(GRUCell()) }
}

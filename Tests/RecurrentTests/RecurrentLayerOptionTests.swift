import Recurrent
import RecurrentTestSupport
import Testing

/// The Keras-level recurrent layers (`RNN`, `Bidirectional`) and every option, gradient-checked
/// in Double through the generic layer checker.
@Suite struct RecurrentLayerOptionTests {
  static func mask(_ lengths: [Int], steps: Int) -> Tensor<Double> {
    var m = Tensor<Double>(shape: [lengths.count, steps])
    for (b, l) in lengths.enumerated() { for t in 0..<l { m[b, t] = 1 } }
    return m
  }

  @Test func returnSequencesAndLastStep() {
    for rs in [false, true] {
      for back in [false, true] {
        let l = checkLayerGradients(RNN<LSTMCell, Double>(units: 3, returnSequences: rs, goBackwards: back), inputShape: [2, 5, 4], seed: 1)
        #expect(l.maxRelativeError < 1e-6, "lstm rs=\(rs) back=\(back): \(l)")
        let g = checkLayerGradients(RNN<GRUCell, Double>(units: 3, returnSequences: rs, goBackwards: back), inputShape: [2, 5, 4], seed: 2)
        #expect(g.maxRelativeError < 1e-6, "gru rs=\(rs) back=\(back): \(g)")
        let r = checkLayerGradients(RNN<SimpleRNNCell, Double>(units: 3, activation: .relu, returnSequences: rs, goBackwards: back), inputShape: [2, 5, 4], seed: 3)
        #expect(r.maxRelativeError < 1e-6, "rnn rs=\(rs) back=\(back): \(r)")
      }
    }
  }

  @Test func maskedLastStepIsEachRowsOwn() {
    let m = Self.mask([5, 2, 0], steps: 5)
    let l = checkLayerGradients(RNN<LSTMCell, Double>(units: 4), inputShape: [3, 5, 2], seed: 4, mask: m)
    #expect(l.maxRelativeError < 1e-6, "\(l)")
    let g = checkLayerGradients(RNN<GRUCell, Double>(units: 4, returnSequences: true), inputShape: [3, 5, 2], seed: 5, mask: m)
    #expect(g.maxRelativeError < 1e-6, "\(g)")
  }

  @Test func trainableInitialState() {
    for rs in [false, true] {
      let l = checkLayerGradients(RNN<LSTMCell, Double>(units: 3, returnSequences: rs, trainableInitialState: true), inputShape: [3, 4, 2], seed: 6)
      #expect(l.maxRelativeError < 1e-6, "\(l)")
      let g = checkLayerGradients(RNN<GRUCell, Double>(units: 3, returnSequences: rs, trainableInitialState: true), inputShape: [3, 4, 2], seed: 7)
      #expect(g.maxRelativeError < 1e-6, "\(g)")
    }
  }

  @Test func inputAndRecurrentDropoutInTraining() {
    let l = checkLayerGradients(
      RNN<LSTMCell, Double>(units: 4, returnSequences: true, dropout: 0.3, recurrentDropout: 0.3),
      inputShape: [3, 5, 3], seed: 8, training: true)
    #expect(l.maxRelativeError < 1e-6, "\(l)")
    let g = checkLayerGradients(
      RNN<GRUCell, Double>(units: 4, dropout: 0.5, recurrentDropout: 0.2), inputShape: [3, 5, 3], seed: 9, training: true)
    #expect(g.maxRelativeError < 1e-6, "\(g)")
  }

  @Test(arguments: Bidirectional<LSTMCell, Double>.MergeMode.allCases)
  func bidirectionalEveryMergeMode(mode: Bidirectional<LSTMCell, Double>.MergeMode) {
    for rs in [false, true] {
      let m = Self.mask([4, 1, 3], steps: 4)
      let l = checkLayerGradients(
        Bidirectional(RNN<LSTMCell, Double>(units: 3, returnSequences: rs), mergeMode: mode),
        inputShape: [3, 4, 2], seed: 10, mask: m)
      #expect(l.maxRelativeError < 1e-6, "lstm \(mode) rs=\(rs): \(l)")
      let g = checkLayerGradients(
        Bidirectional(RNN<GRUCell, Double>(units: 3, returnSequences: rs), mergeMode: .init(rawValue: mode.rawValue)!),
        inputShape: [3, 4, 2], seed: 11)
      #expect(g.maxRelativeError < 1e-6, "gru \(mode) rs=\(rs): \(g)")
    }
  }

  /// Bidirectional with returnSequences: the backward half is aligned to input time.
  @Test func bidirectionalAlignsTime() throws {
    var rng = SeededGenerator(seed: 12)
    let store = ParameterStore<Double>()
    let bi = Bidirectional(RNN<GRUCell, Double>(units: 2, returnSequences: true), mergeMode: .concat)
    _ = try bi.build(inputShape: [5, 3], store: store, name: "layers.0", generator: &rng)
    #expect(store["layers.0.weight_ih_reverse"] != nil)
    let x = Tensor<Double>(shape: [1, 5, 3], uniformIn: -1...1, using: &rng)
    let y = bi.forward(x, context: LayerContext())
    // Backward half's output at input step 0 is its final state (it saw step 0 last).
    let last = bi.backwardLayer.lastState!.h
    #expect(abs(y[0, 0, 2] - last[0, 0]) < 1e-15 && abs(y[0, 0, 3] - last[0, 1]) < 1e-15)
  }

  /// A stateful layer over chunks equals one pass over the whole sequence; reset clears it.
  @Test func statefulChunksEqualTheWholeSequence() throws {
    var rng = SeededGenerator(seed: 13)
    let store = ParameterStore<Double>()
    let layer = RNN<LSTMCell, Double>(units: 4, returnSequences: true, stateful: true)
    _ = try layer.build(inputShape: [9, 3], store: store, name: "l", generator: &rng)
    let x = Tensor<Double>(shape: [2, 9, 3], uniformIn: -1...1, using: &rng)
    let whole = layer.forward(x, context: LayerContext())
    layer.resetStates()
    var pieces = [Tensor<Double>]()
    for start in stride(from: 0, to: 9, by: 3) {
      var chunk = Tensor<Double>(shape: [2, 3, 3])
      for b in 0..<2 { for t in 0..<3 { for f in 0..<3 { chunk[b, t, f] = x[b, start + t, f] } } }
      pieces.append(layer.forward(chunk, context: LayerContext()))
    }
    for b in 0..<2 {
      for t in 0..<9 {
        for j in 0..<4 { #expect(abs(pieces[t / 3][b, t % 3, j] - whole[b, t, j]) < 1e-12) }
      }
    }
    layer.resetStates()
    let again = layer.forward(x, context: LayerContext())
    #expect(maxAbsoluteDifference(again, whole) == 0)
  }

  /// A truncated-BPTT chunk: gradients given the carried (detached) state, via a user-supplied
  /// initial state, are checked like any other.
  @Test func truncatedChunkWithCarriedState() throws {
    var rng = SeededGenerator(seed: 14)
    let layer = RNN<LSTMCell, Double>(units: 3, returnSequences: true)
    layer.initialState = RecurrentState(
      h: Tensor(shape: [2, 3], uniformIn: -0.9...0.9, using: &rng), c: Tensor(shape: [2, 3], uniformIn: -0.9...0.9, using: &rng))
    let r = checkLayerGradients(layer, inputShape: [2, 4, 2], seed: 15)
    #expect(r.maxRelativeError < 1e-6, "\(r)")
    #expect(layer.initialStateGradient?.c != nil)
  }
}

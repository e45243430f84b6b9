import Recurrent
import RecurrentTestSupport
import Testing

/// Keras 3's recurrent-layer tests use constant weights: kernel 0.01, recurrent kernel 0.02,
/// bias 0.03. Keras keeps one bias for SimpleRNN and LSTM (so bias_hh = 0 here); GRU with
/// reset_after has both, each 0.03; LSTM's unit_forget_bias sets the forget block to 1.0.
/// Figures: Keras 3 on TensorFlow 2.21, last output of each batch row.
@Suite struct KerasConstantWeightTests {
  static func layer<Cell: RecurrentCell>(
    _ cell: Cell, input: Int, units: Int, goBackwards: Bool, recurrentBias: Double, forgetBias: Double?
  ) -> RecurrentLayer<Cell, Float> {
    var rng = SeededGenerator(seed: 1)
    return RecurrentLayer<Cell, Float>(
      cell, inputSize: input, hiddenSize: units, goBackwards: goBackwards,
      initialization: RecurrentInitialization(
        inputWeights: .constant(0.01), recurrentWeights: .constant(0.02), bias: .constant(0.03),
        forgetGateBias: nil),
      generator: &rng
    ).withBiases(recurrent: recurrentBias, forget: forgetBias)
  }

  static func arange(_ shape: [Int]) -> Tensor<Float> {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) })
  }

  static func lastOutputs<Cell: RecurrentCell>(_ layer: RecurrentLayer<Cell, Float>, _ x: Tensor<Float>) -> [Float] {
    let out = layer.forward(x).last
    let H = layer.hiddenSize
    for b in 0..<out.shape[0] {  // every unit of a row is equal with constant weights
      for j in 0..<H { #expect(out[b, j] == out[b, 0]) }
    }
    return (0..<out.shape[0]).map { out[$0, 0] }
  }

  static func expectClose(_ got: [Float], _ want: [Float]) {
    #expect(maxAbsoluteDifference(got, want) <= 1e-5, "got \(got), want \(want)")
  }

  @Test func simpleRNN() {
    let x = Self.arange([2, 3, 4])
    for (back, want) in [(false, [0.40543202, 0.7360534]), (true, [0.1114473, 0.55288875])] as [(Bool, [Float])] {
      let l = Self.layer(SimpleRNNCell(), input: 4, units: 4, goBackwards: back, recurrentBias: 0, forgetBias: nil)
      Self.expectClose(Self.lastOutputs(l, x), want)
    }
  }

  @Test func lstm() {
    let x = Self.arange([3, 6, 4])
    let cases: [(Bool, Double?, [Float])] = [
      (false, 1.0, [0.6288687, 0.86899143, 0.9460773]),
      (true, 1.0, [0.35622156, 0.7478952, 0.8872726]),
      (false, nil, [0.570197, 0.86619145, 0.9459622]),  // unit_forget_bias off
    ]
    for (back, forget, want) in cases {
      let l = Self.layer(LSTMCell(), input: 4, units: 3, goBackwards: back, recurrentBias: 0, forgetBias: forget)
      Self.expectClose(Self.lastOutputs(l, x), want)
    }
  }

  @Test func gru() {
    let x = Self.arange([3, 6, 4])
    for (back, want) in [(false, [0.5217289, 0.63716596, 0.39384967]), (true, [0.24406254, 0.611516, 0.39288083])] as [(Bool, [Float])] {
      let l = Self.layer(GRUCell(), input: 4, units: 3, goBackwards: back, recurrentBias: 0.03, forgetBias: nil)
      Self.expectClose(Self.lastOutputs(l, x), want)
    }
  }
}

extension RecurrentLayer {
  /// Sets `bias_hh` to `recurrent` everywhere and, for LSTM, the forget block of `bias_ih` to
  /// `forget` (Keras `unit_forget_bias`).
  func withBiases(recurrent: Double, forget: Double?) -> Self {
    for j in 0..<biasHH.count { store.params[biasHH.offset + j] = Scalar(recurrent) }
    if let forget {
      for j in hiddenSize..<(2 * hiddenSize) { store.params[biasIH.offset + j] = Scalar(forget) }
    }
    return self
  }
}

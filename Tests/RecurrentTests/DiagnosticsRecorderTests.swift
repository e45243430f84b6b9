import Foundation
import Recurrent
import Testing

/// `DiagnosticsRecorder` during `fit`: when it records, the shapes of what it records, that its
/// fast measurements equal the slow reference ones, and known answers through the whole path.
@Suite struct DiagnosticsRecorderTests {
  static func data(n: Int = 20, steps: Int = 7, features: Int = 3, seed: UInt64 = 5) -> (Tensor<Float>, Tensor<Float>) {
    var rng = SeededGenerator(seed: seed)
    return (
      Tensor(shape: [n, steps, features], uniformIn: -1...1, using: &rng), Tensor(shape: [n, 1], uniformIn: -1...1, using: &rng)
    )
  }

  /// 20 samples in batches of 8 = 3 steps per epoch; 4 epochs = 12 steps.
  @Test func recordsEveryNEpochsWithTheRightShapes() throws {
    let (x, y) = Self.data()
    let model = Sequential<Float>([LSTM(units: 5), Dense(units: 1)], seed: 3)
    model.compile(optimizer: Adam(learningRate: 0.01), loss: MeanSquaredError())
    let recorder = DiagnosticsRecorder(every: .epochs(2))
    try model.fit(x, y, epochs: 4, batchSize: 8, callbacks: [recorder], verbose: 0)
    #expect(recorder.records.map(\.step) == [1, 6, 12])
    #expect(recorder.records.map(\.epoch) == [0, 1, 3])
    #expect(recorder.stepLosses.count == 12)
    #expect(recorder.history.epochs.count == 4)
    #expect(recorder.secondsMeasuring > 0)
    for r in recorder.records {
      #expect(r.layers.count == 1)
      let l = r.layers[0]
      #expect(l.name == "layers.0 lstm")
      #expect(l.gradientNorms.count == 8)  // t = 0 ... 7
      #expect(l.gradientNorms.allSatisfy { $0.isFinite && $0 >= 0 } && l.gradientNorms.last! > 0)
      #expect(l.gates.map(\.gate) == ["input", "forget", "cell", "output"])
      #expect(l.gates.allSatisfy { (0...1).contains($0.saturatedLow) && (0...1).contains($0.saturatedHigh) })
      #expect(l.cellRange != nil && l.hiddenRange.lowerBound >= -1 && l.hiddenRange.upperBound <= 1)
      #expect(l.spectralNorm > 0)
      #expect(r.parameters.map(\.name) == model.store.parameters.map(\.name))
      #expect(r.layerNorms.map(\.name) == ["layers.0", "layers.1"])
      #expect(r.loss == recorder.stepLosses[r.step - 1])
    }
    // The last batch of an epoch of 20 = 8 + 8 + 4 has 4 rows: the record is of that batch.
    // Weight norms move as training goes; the gradient is not all zero.
    #expect(recorder.records[0].parameters != recorder.records[2].parameters)
    #expect(recorder.records[2].layerNorms.allSatisfy { $0.gradient > 0 })
  }

  @Test func recordsEveryNSteps() throws {
    let (x, y) = Self.data()
    let model = Sequential<Float>([GRU(units: 4, returnSequences: true), GRU(units: 3), Dense(units: 1)], seed: 4)
    model.compile(optimizer: SGD(learningRate: 0.01), loss: MeanSquaredError())
    let recorder = DiagnosticsRecorder(every: .steps(5), recordsFirstStep: false)
    try model.fit(x, y, epochs: 4, batchSize: 8, callbacks: [recorder], verbose: 0)
    #expect(recorder.records.map(\.step) == [5, 10])
    #expect(recorder.records[0].layers.map(\.name) == ["layers.0 gru", "layers.1 gru"])
    #expect(recorder.records[0].layers.allSatisfy { $0.gradientNorms.count == 8 && $0.cellRange == nil })
    // A second fit starts over.
    try model.fit(x, y, epochs: 2, batchSize: 8, callbacks: [recorder], verbose: 0)
    #expect(recorder.records.map(\.step) == [5])
    #expect(recorder.stepLosses.count == 6)
  }

  /// The recorder's single-pass figures equal the reference ones (trace copies, a cold 2000-step
  /// power iteration, norms computed here) on a masked, bidirectional batch.
  @Test func fastMeasurementsEqualTheReference() throws {
    var rng = SeededGenerator(seed: 9)
    let x = Tensor<Float>(shape: [5, 6, 3], uniformIn: -1...1, using: &rng)
    let bi = Bidirectional(LSTM(units: 4, returnSequences: true))
    let model = Sequential<Float>([bi, GRU(units: 3), Dense(units: 2)], seed: 2)
    let lengths = [6, 3, 5, 1, 6]
    var mask = Tensor<Float>(shape: [5, 6])
    for (b, l) in lengths.enumerated() { for t in 0..<l { mask[b, t] = 1 } }
    let out = try model.forward(x, context: LayerContext(training: true, mask: mask))
    model.store.zeroGradients()
    model.backward(out)
    let recorder = DiagnosticsRecorder(powerIterations: 2000)
    recorder.record(model: model)
    let layers = recorder.records[0].layers
    #expect(layers.map(\.name) == ["layers.0 lstm", "layers.0 lstm (reverse)", "layers.1 gru"])
    let engines: [(RecurrentLayerDiagnosis, [Double], [GateStatistics], RecurrentTrace<Float>, Double)] = [
      (layers[0], bi.forwardLayer.engine!.hiddenGradientNorms(), bi.forwardLayer.engine!.gateStatistics(),
       bi.forwardLayer.engine!.trace(), bi.forwardLayer.engine!.recurrentSpectralNorm),
      (layers[1], bi.backwardLayer.engine!.hiddenGradientNorms(), bi.backwardLayer.engine!.gateStatistics(),
       bi.backwardLayer.engine!.trace(), bi.backwardLayer.engine!.recurrentSpectralNorm),
    ]
    for (d, norms, gates, trace, sigma) in engines {
      #expect(d.gradientNorms == norms)
      for (a, b) in zip(d.gates, gates) {
        #expect(a.gate == b.gate && a.isTanh == b.isTanh)
        #expect(abs(a.mean - b.mean) < 1e-6 && abs(a.saturatedLow - b.saturatedLow) < 1e-12 && abs(a.saturatedHigh - b.saturatedHigh) < 1e-12)
      }
      let h = trace.hidden.scalars.map(Double.init), c = trace.cell!.scalars.map(Double.init)
      #expect(d.hiddenRange == h.min()!...h.max()!)
      #expect(d.cellRange == c.min()!...c.max()!)
      #expect(abs(d.spectralNorm - sigma) < 1e-6 * sigma)
    }
    for (p, n) in zip(model.store.parameters, recorder.records[0].parameters) {
      let w = model.store.params[p.range].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
      let g = model.store.grads[p.range].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
      #expect(n.name == p.name && abs(n.weight - w) <= 1e-9 * w && abs(n.gradient - g) <= 1e-9 * g)
    }
  }

  /// Known answer through fit: a SimpleRNN with zero input weights and biases keeps h = 0, so
  /// tanh' = 1 and dL/dh_{t-1} = W_hhᵀ dL/dh_t; with W_hh orthogonal times 0.6 every row's
  /// norm shrinks by exactly 0.6 per step, and σ_max(W_hh) = 0.6. Learning rate 0: every
  /// record sees the same weights.
  @Test func simpleRNNRecordsGeometricDecay() throws {
    var rng = SeededGenerator(seed: 11)
    let T = 9, gain = 0.6
    let rnn = RNN<SimpleRNNCell, Double>(
      SimpleRNNCell(), units: 6,
      initialization: RecurrentInitialization(inputWeights: .zeros, recurrentWeights: .orthogonal(gain: gain)))
    let model = Sequential<Double>([rnn, DenseLayer<Double>(units: 1)], seed: 1)
    model.compile(optimizer: SGD(learningRate: 0), loss: MeanSquaredError())
    let x = Tensor<Double>(shape: [12, T, 2], uniformIn: -1...1, using: &rng)
    let y = Tensor<Double>(shape: [12, 1], uniformIn: -1...1, using: &rng)
    let recorder = DiagnosticsRecorder(every: .steps(1))
    try model.fit(x, y, epochs: 2, batchSize: 4, callbacks: [recorder], verbose: 0)
    #expect(recorder.records.count == 6)
    for r in recorder.records {
      let norms = r.layers[0].gradientNorms
      #expect(norms.count == T + 1)
      for t in 0..<T { #expect(abs(norms[t] / norms[t + 1] - gain) < 1e-12, "step \(r.step), t \(t)") }
      #expect(abs(r.layers[0].spectralNorm - gain) < 1e-9)
      #expect(r.layers[0].hiddenRange == 0...0 && r.layers[0].gates.isEmpty)
    }
  }

  /// Known answer: an LSTM with input, forget and output gates pinned open (bias +30) carries
  /// dL/dc unchanged: the recorded forget gate is saturated open everywhere, and the gradient
  /// reaching step 1 is within an order of magnitude of the last step's, where a SimpleRNN with
  /// the same recurrent gain 0.5 keeps 0.5^(T-1).
  @Test func openForgetGateRecordsFlatFlow() throws {
    var rng = SeededGenerator(seed: 12)
    let T = 30, H = 6
    let lstm = RNN<LSTMCell, Double>(
      LSTMCell(), units: H,
      initialization: RecurrentInitialization(inputWeights: .zeros, recurrentWeights: .orthogonal(gain: 0.5), forgetGateBias: nil))
    let model = Sequential<Double>([lstm, DenseLayer<Double>(units: 1)], seed: 1)
    try model.build(inputShape: [T, 2])
    let bias = lstm.engine!.biasIH
    for block in [0, 1, 3] { for j in 0..<H { model.store.params[bias.offset + block * H + j] = 30 } }
    model.compile(optimizer: SGD(learningRate: 0), loss: MeanSquaredError())
    let x = Tensor<Double>(shape: [8, T, 2], uniformIn: -1...1, using: &rng)
    let y = Tensor<Double>(shape: [8, 1], uniformIn: -1...1, using: &rng)
    let recorder = DiagnosticsRecorder(every: .epochs(1))
    try model.fit(x, y, epochs: 1, batchSize: 8, callbacks: [recorder], verbose: 0)
    let l = try #require(recorder.records.last?.layers.first)
    let forget = try #require(l.gates.first { $0.gate == "forget" })
    #expect(forget.saturatedHigh == 1 && forget.mean > 0.999)
    let ratio = l.gradientNorms[1] / l.gradientNorms[T]
    #expect(ratio > 0.1 && ratio < 10, "\(l.gradientNorms)")
    #expect(l.firstToLastGradientRatio > 1000 * pow(0.5, Double(T - 1)))
  }
}

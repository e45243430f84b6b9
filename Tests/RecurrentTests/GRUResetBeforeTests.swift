import Foundation
import Recurrent
import RecurrentTestSupport
import Testing

/// The reset-before GRU (`GRUCell(resetAfter: false)`, Keras `reset_after=False`): gradient
/// checks in Double, Keras values, agreement with an independent scalar reference, the
/// sequential/batched and Float/Double equivalences, and the model-level plumbing.
@Suite struct GRUResetBeforeTests {
  static let cell = GRUCell(resetAfter: false)

  // MARK: - Gradient checks (Double, central differences)

  @Test func gradientCheckOnFiftyRandomShapes() {
    var rng = SeededGenerator(seed: 0xBEEF)
    var worst = 0.0
    for trial in 0..<50 {
      let b = Int.random(in: 1...4, using: &rng), t = Int.random(in: 1...8, using: &rng)
      let i = Int.random(in: 1...6, using: &rng), h = Int.random(in: 1...6, using: &rng)
      let r = GradientCheck.run(Self.cell, batch: b, steps: t, inputSize: i, hiddenSize: h, seed: UInt64(trial) &+ 3000)
      worst = max(worst, r.maxRelativeError)
      #expect(r.passed(tolerance: 1e-6), "\(r)")
    }
    #expect(worst < 1e-6)
  }

  @Test func gradientCheckStackedBackwardsMaskedAndDropout() {
    let reports = [
      GradientCheck.run(Self.cell, batch: 3, steps: 6, inputSize: 4, hiddenSize: 5, layers: 2, seed: 7),
      GradientCheck.run(Self.cell, batch: 2, steps: 5, inputSize: 3, hiddenSize: 4, goBackwards: true, seed: 8),
      GradientCheck.run(Self.cell, batch: 4, steps: 6, inputSize: 3, hiddenSize: 4, layers: 2, lengths: [6, 3, 0, 1], seed: 9),
      GradientCheck.run(Self.cell, batch: 3, steps: 5, inputSize: 3, hiddenSize: 4, goBackwards: true, lengths: [2, 5, 4], seed: 10),
      GradientCheck.run(Self.cell, batch: 3, steps: 5, inputSize: 3, hiddenSize: 4, layers: 2, recurrentDropout: 0.4, seed: 11),
      GradientCheck.run(Self.cell, batch: 3, steps: 5, inputSize: 3, hiddenSize: 4, goBackwards: true, lengths: [3, 5, 1], recurrentDropout: 0.4, seed: 12),
    ]
    for r in reports { #expect(r.passed(), "\(r)") }
  }

  /// The Keras-level layer with every option, through the generic layer checker.
  @Test func layerOptionsGradientCheck() {
    typealias L = RNN<GRUCell, Double>
    let mask = RecurrentLayerOptionTests.mask([4, 1, 3], steps: 4)
    let cases: [(String, any Layer<Double>, Tensor<Double>?, Bool)] = [
      ("returnSequences goBackwards", L(units: 3, resetAfter: false, returnSequences: true, goBackwards: true), nil, false),
      ("masked last step", L(units: 3, resetAfter: false), mask, false),
      ("trainable initial state", L(units: 3, resetAfter: false, returnSequences: true, trainableInitialState: true), nil, false),
      ("dropout + recurrent dropout", L(units: 3, resetAfter: false, dropout: 0.3, recurrentDropout: 0.3), nil, true),
    ] + Bidirectional<GRUCell, Double>.MergeMode.allCases.map { mode in
      ("bidirectional \(mode)", Bidirectional(L(units: 3, resetAfter: false, returnSequences: true), mergeMode: mode), mask, false)
    }
    for (name, layer, m, training) in cases {
      let r = checkLayerGradients(layer, inputShape: [3, 4, 2], seed: 17, training: training, mask: m)
      #expect(r.maxRelativeError < 1e-6, "\(name): \(r)")
    }
  }

  /// The check can fail: a wrong analytic gradient is caught.
  @Test func gradientCheckDetectsAWrongGradient() {
    let r = GradientCheck.run(Self.cell, batch: 2, steps: 3, inputSize: 2, hiddenSize: 3, seed: 9, corruptAnalytic: 1e-3)
    #expect(!r.passed(tolerance: 1e-6), "\(r)")
  }

  // MARK: - Forward against Keras and a scalar reference

  /// Keras 3 constant weights (kernel 0.01, recurrent 0.02, single bias 0.03 -> bias_ih 0.03,
  /// bias_hh 0), GRU(3, reset_after=False) on arange(72) reshaped [3, 6, 4]: last outputs
  /// 0.5144775, 0.6426879, 0.4020829 (Tests/RecurrentTests/Fixtures/keras_constant_weights.json).
  @Test func kerasConstantWeights() {
    let x = KerasConstantWeightTests.arange([3, 6, 4])
    let layer = KerasConstantWeightTests.layer(
      Self.cell, input: 4, units: 3, goBackwards: false, recurrentBias: 0, forgetBias: nil)
    KerasConstantWeightTests.expectClose(
      KerasConstantWeightTests.lastOutputs(layer, x), [0.5144775, 0.6426879, 0.4020829])
    // (With constant weights and bias_hh = 0 every unit's r is equal, so r * (W_hn h) equals
    // W_hn (r * h) and both forms give these figures; the random-weight fixtures below and the
    // scalar reference are what tell the forms apart.)
  }

  /// The two forms differ as soon as the units differ: same random weights, other outputs.
  @Test func theFormsDifferOnRandomWeights() {
    var rng = SeededGenerator(seed: 5)
    let before = RecurrentLayer<GRUCell, Float>(Self.cell, inputSize: 3, hiddenSize: 4, generator: &rng)
    rng = SeededGenerator(seed: 5)
    let after = RecurrentLayer<GRUCell, Float>(GRUCell(), inputSize: 3, hiddenSize: 4, generator: &rng)
    #expect(before.store.params == after.store.params)
    let x = Tensor<Float>(shape: [2, 5, 3], uniformIn: -1...1, using: &rng)
    #expect(maxAbsoluteDifference(before.forward(x).sequence, after.forward(x).sequence) > 1e-3)
  }

  /// One step-by-step scalar loop of the equations in `GRUCell`'s documentation.
  static func reference(
    x: Tensor<Double>, h0: Tensor<Double>, wih: [Double], whh: [Double], bih: [Double], bhh: [Double]
  ) -> Tensor<Double> {
    let B = x.shape[0], T = x.shape[1], I = x.shape[2], H = h0.shape[1]
    func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
    var out = Tensor<Double>(shape: [B, T, H])
    for b in 0..<B {
      var h = (0..<H).map { h0[b, $0] }
      for t in 0..<T {
        func inp(_ row: Int) -> Double { bih[row] + (0..<I).reduce(0) { $0 + wih[row * I + $1] * x[b, t, $1] } }
        func rec(_ row: Int, _ v: [Double]) -> Double { bhh[row] + (0..<H).reduce(0) { $0 + whh[row * H + $1] * v[$1] } }
        let r = (0..<H).map { sigmoid(inp($0) + rec($0, h)) }
        let z = (0..<H).map { sigmoid(inp(H + $0) + rec(H + $0, h)) }
        let rh = (0..<H).map { r[$0] * h[$0] }
        let n = (0..<H).map { Foundation.tanh(inp(2 * H + $0) + rec(2 * H + $0, rh)) }
        h = (0..<H).map { (1 - z[$0]) * n[$0] + z[$0] * h[$0] }
        for j in 0..<H { out[b, t, j] = h[j] }
      }
    }
    return out
  }

  @Test func forwardMatchesAScalarReference() {
    let B = 3, T = 5, I = 4, H = 6
    var rng = SeededGenerator(seed: 21)
    let store = ParameterStore<Double>()
    let layer = RecurrentLayer<GRUCell, Double>(
      Self.cell, inputSize: I, hiddenSize: H, store: store,
      initialization: RecurrentInitialization(bias: .uniform(-0.5, 0.5)), generator: &rng)
    let x = Tensor<Double>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let h0 = Tensor<Double>(shape: [B, H], uniformIn: -1...1, using: &rng)
    let out = layer.forward(x, initialState: RecurrentState(h: h0))
    let want = Self.reference(
      x: x, h0: h0, wih: store.value(of: layer.weightIH).scalars, whh: store.value(of: layer.weightHH).scalars,
      bih: store.value(of: layer.biasIH).scalars, bhh: store.value(of: layer.biasHH).scalars)
    #expect(maxAbsoluteDifference(out.sequence, want) < 1e-13)
  }

  // MARK: - Equivalences

  @Test(arguments: [false, true])
  func sequentialEqualsBatched(goBackwards: Bool) {
    SequentialEquivalenceTests.run(Self.cell, goBackwards: goBackwards)
  }

  @Test func floatAgreesWithDouble() {
    PrecisionAgreementTests.run(Self.cell)
  }

  /// The Float path (Swift kernels, two GEMMs per step) gives what Double gives on a masked,
  /// dropped-out batch, gradients included; and a padded row equals that row run alone.
  @Test func maskedFloatBatchMatchesRowsRunAlone() {
    let B = 3, T = 6, I = 3, H = 5
    var rng = SeededGenerator(seed: 4)
    let layer = RecurrentLayer<GRUCell, Float>(Self.cell, inputSize: I, hiddenSize: H, generator: &rng)
    let x = Tensor<Float>(shape: [B, T, I], uniformIn: -1...1, using: &rng)
    let lengths = [6, 2, 4]
    var mask = Tensor<Float>(shape: [B, T])
    for b in 0..<B { for t in 0..<lengths[b] { mask[b, t] = 1 } }
    let all = layer.forward(x, mask: mask)
    for b in 0..<B {
      var row = Tensor<Float>(shape: [1, lengths[b], I])
      for t in 0..<lengths[b] { for i in 0..<I { row[0, t, i] = x[b, t, i] } }
      let alone = layer.forward(row)
      for j in 0..<H { #expect(abs(alone.finalState.h[0, j] - all.finalState.h[b, j]) < 1e-6) }
    }
  }

  // MARK: - Models and checkpoints

  @Test func layerOptionReachesTheCell() {
    #expect(GRU(units: 3).cell.resetAfter)
    #expect(!GRU(units: 3, resetAfter: false).cell.resetAfter)
    let bi = Bidirectional(GRU(units: 3, resetAfter: false))
    #expect(!bi.backwardLayer.cell.resetAfter)
  }

  @Test func architectureAndCheckpointRoundTrip() throws {
    let model = Sequential(seed: 31) {
      GRU(units: 4, resetAfter: false, returnSequences: true, recurrentDropout: 0.2, trainableInitialState: true)
      Bidirectional(GRU(units: 3, resetAfter: false), mergeMode: .sum)
      Dense(units: 2)
    }
    try CheckpointTests.roundTrip(model, CheckpointTests.sequences([3, 5, 2]), lengths: [5, 2, 4])
    let arch = try ModelArchitecture(of: model)
    #expect(arch.layers[0].config["resetAfter"] == .bool(false))
    let inner = try #require(arch.layers[1].config["layer"]?.object?["config"]?.object)
    #expect(inner["resetAfter"] == .bool(false))
    // The same weights in a reset-after model predict something else: the flag is load-bearing.
    let x = CheckpointTests.sequences([2, 5, 2], seed: 3)
    var json = arch.json.description
    json = json.replacingOccurrences(of: "\"resetAfter\":false", with: "\"resetAfter\":true")
    let other: Sequential<Float> = try ModelArchitecture(json: json).makeModel()
    #expect(try ModelArchitecture(of: other).layers[0].config["resetAfter"] == .bool(true))
    other.store.params = model.store.params
    #expect(try other.predict(x) != model.predict(x))
  }

  @Test func architectureDefaultsAndErrors() throws {
    // A checkpoint written before the option existed has no key: reset-after, as then.
    let old = try ModelArchitecture(json: #"{"inputShape": [4, 2], "seed": 1, "layers": [{"kind": "gru", "config": {"units": 3}}]}"#)
    let model: Sequential<Float> = try old.makeModel()
    let gru = try #require(model.layers[0] as? GRU)
    #expect(gru.cell.resetAfter)
    let bad = try ModelArchitecture(json: #"{"inputShape": [4, 2], "seed": 1, "layers": [{"kind": "gru", "config": {"units": 3, "resetAfter": "no"}}]}"#)
    #expect {
      let _: Sequential<Float> = try bad.makeModel(source: "m.safetensors")
    } throws: { error in
      "\(error)".contains("resetAfter") && "\(error)".contains("true or false") && "\(error)".contains("m.safetensors")
    }
    // Only GRU layers know the key.
    let lstm = try ModelArchitecture(json: #"{"inputShape": [4, 2], "seed": 1, "layers": [{"kind": "lstm", "config": {"units": 3, "resetAfter": false}}]}"#)
    #expect(throws: RecurrentError.self) { let _: Sequential<Float> = try lstm.makeModel() }
  }

  /// A reset-before GRU learns: sum-of-inputs regression falls well below its starting loss.
  @Test func learnsASmallTask() throws {
    var rng = SeededGenerator(seed: 8)
    let N = 128, T = 8
    let x = Tensor<Float>(shape: [N, T, 1], uniformIn: -1...1, using: &rng)
    var y = Tensor<Float>(shape: [N, 1])
    for n in 0..<N { y[n, 0] = (0..<T).reduce(0) { $0 + x[n, $1, 0] } / 4 }
    let model = Sequential(seed: 2) {
      GRU(units: 8, resetAfter: false)
      Dense(units: 1)
    }
    model.compile(optimizer: Adam(learningRate: 0.02), loss: MeanSquaredError())
    let losses = try model.fit(x, y, epochs: 30, batchSize: 16, verbose: 0)["loss"]
    #expect(losses.last! < 0.05 * losses.first!, "losses \(losses)")
  }
}

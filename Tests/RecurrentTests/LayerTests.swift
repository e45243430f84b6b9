import Recurrent
import RecurrentTestSupport
import Testing

/// Shapes (Keras's formulas), build errors, parameter names and initialisation, Dropout
/// statistics, masks, Embedding validation and TimeDistributed equivalence.
@Suite struct LayerTests {
  /// Builds `layer` for `inputShape` (no batch) in a fresh store.
  @discardableResult
  static func build<L: Layer>(
    _ layer: L, _ inputShape: [Int], store: ParameterStore<L.Scalar> = ParameterStore(), name: String = "layers.0",
    seed: UInt64 = 1
  ) throws -> [Int] {
    var rng = SeededGenerator(seed: seed)
    return try layer.build(inputShape: inputShape, store: store, name: name, generator: &rng)
  }

  static func random(_ shape: [Int], seed: UInt64 = 3) -> Tensor<Float> {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape, uniformIn: -1...1, using: &rng)
  }

  static func expectShapeMismatch(_ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
      _ = try body()
      Issue.record("expected RecurrentError.shapeMismatch", sourceLocation: sourceLocation)
    } catch let RecurrentError.shapeMismatch(message) {
      #expect(!message.isEmpty, sourceLocation: sourceLocation)
    } catch {
      Issue.record("expected shapeMismatch, got \(error)", sourceLocation: sourceLocation)
    }
  }

  // MARK: - Shapes

  struct ConvCase: CustomTestStringConvertible, Sendable {
    var T, K, s, d: Int
    var padding: Padding1D
    var expected: Int
    var testDescription: String { "T\(T) K\(K) s\(s) d\(d) \(padding) -> \(expected)" }
  }

  /// Output lengths as Keras computes them (values checked against keras.layers.Conv1D).
  static let convCases: [ConvCase] = [
    .init(T: 10, K: 3, s: 1, d: 1, padding: .valid, expected: 8),
    .init(T: 10, K: 3, s: 1, d: 2, padding: .valid, expected: 6),
    .init(T: 10, K: 3, s: 2, d: 1, padding: .valid, expected: 4),
    .init(T: 9, K: 3, s: 2, d: 1, padding: .valid, expected: 4),
    .init(T: 3, K: 3, s: 1, d: 1, padding: .valid, expected: 1),
    .init(T: 10, K: 4, s: 1, d: 1, padding: .same, expected: 10),
    .init(T: 9, K: 4, s: 2, d: 1, padding: .same, expected: 5),
    .init(T: 10, K: 3, s: 3, d: 1, padding: .same, expected: 4),
    .init(T: 10, K: 3, s: 1, d: 2, padding: .causal, expected: 10),
    .init(T: 9, K: 3, s: 2, d: 1, padding: .causal, expected: 5),
    .init(T: 1, K: 5, s: 1, d: 3, padding: .causal, expected: 1),
  ]

  @Test(arguments: convCases)
  func conv1DOutputLength(c: ConvCase) throws {
    let layer = Conv1D(filters: 4, kernelSize: c.K, strides: c.s, padding: c.padding, dilation: c.d)
    #expect(try Self.build(layer, [c.T, 3]) == [c.expected, 4])
    let y = layer.forward(Self.random([2, c.T, 3]), context: LayerContext())
    #expect(y.shape == [2, c.expected, 4])
    // a different T at run time works too
    #expect(layer.forward(Self.random([1, c.T + 5, 3]), context: LayerContext()).shape[1]
      == c.padding.geometry(length: c.T + 5, window: (c.K - 1) * c.d + 1, stride: c.s).outputLength)
  }

  @Test func outputShapes() throws {
    #expect(try Self.build(Dense(units: 7), [5]) == [7])
    #expect(try Self.build(Dense(units: 7), [4, 5]) == [4, 7])
    #expect(try Self.build(Embedding(vocabularySize: 10, dimension: 3), [6]) == [6, 3])
    #expect(try Self.build(Dropout(rate: 0.5), [4, 5]) == [4, 5])
    #expect(try Self.build(RepeatVector(count: 3), [5]) == [3, 5])
    #expect(try Self.build(Flatten(), [4, 5]) == [20])
    #expect(try Self.build(TimeDistributed(Dense(units: 2)), [4, 5]) == [4, 2])
    #expect(try Self.build(MaxPool1D(), [7, 3]) == [3, 3])
    #expect(try Self.build(MaxPool1D(poolSize: 3, strides: 2, padding: .same), [8, 3]) == [4, 3])
    #expect(try Self.build(MaxPool1D(poolSize: 3, strides: 1), [6, 2]) == [4, 2])
    #expect(try Self.build(GlobalAveragePooling1D(), [7, 3]) == [3])
    #expect(try Self.build(GlobalMaxPooling1D(), [7, 3]) == [3])
    #expect(try Self.build(LayerNorm(), [4, 5]) == [4, 5])

    let dense = Dense(units: 3)
    try Self.build(dense, [4, 5])
    #expect(dense.forward(Self.random([2, 4, 5]), context: LayerContext()).shape == [2, 4, 3])
    let repeated = RepeatVector(count: 3)
    try Self.build(repeated, [2])
    let r = repeated.forward(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), context: LayerContext())
    #expect(r.shape == [2, 3, 2] && r.scalars == [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4])
  }

  @Test func badInputShapesThrow() {
    Self.expectShapeMismatch { try Self.build(Dense(units: 3), []) }
    Self.expectShapeMismatch { try Self.build(Embedding(vocabularySize: 5, dimension: 2), [3, 4]) }
    Self.expectShapeMismatch { try Self.build(RepeatVector(count: 2), [3, 4]) }
    Self.expectShapeMismatch { try Self.build(TimeDistributed(Dense(units: 2)), [4]) }
    Self.expectShapeMismatch { try Self.build(TimeDistributed(Conv1D(filters: 2, kernelSize: 2)), [4, 5]) }
    Self.expectShapeMismatch { try Self.build(Conv1D(filters: 2, kernelSize: 3), [5]) }
    Self.expectShapeMismatch { try Self.build(Conv1D(filters: 2, kernelSize: 3), [2, 5, 3]) }
    Self.expectShapeMismatch { try Self.build(Conv1D(filters: 2, kernelSize: 3, dilation: 2), [4, 3]) }
    Self.expectShapeMismatch { try Self.build(MaxPool1D(poolSize: 4), [3, 2]) }
    Self.expectShapeMismatch { try Self.build(GlobalAveragePooling1D(), [5]) }
    Self.expectShapeMismatch { try Self.build(GlobalMaxPooling1D(), [5, 3, 2]) }
    Self.expectShapeMismatch { try Self.build(LayerNorm(), []) }
    // the message names the layer, what it expects and what it got
    #expect(throws: RecurrentError.shapeMismatch(
      "Conv1D(filters: 2, kernelSize: 3, strides: 1, padding: .valid, dilation: 1) expects input [batch, steps, channels], got [batch, 5]"
    )) { try Self.build(Conv1D(filters: 2, kernelSize: 3), [5]) }
  }

  @Test func badConfigurationsThrow() {
    func invalid(_ body: () throws -> Any) {
      #expect { _ = try body() } throws: { error in
        if case RecurrentError.invalidArgument = error { return true } else { return false }
      }
    }
    invalid { try Self.build(Dense(units: 0), [3]) }
    invalid { try Self.build(Dropout(rate: 1), [3]) }
    invalid { try Self.build(Dropout(rate: -0.1), [3]) }
    invalid { try Self.build(Conv1D(filters: 2, kernelSize: 0), [5, 3]) }
    invalid { try Self.build(Conv1D(filters: 2, kernelSize: 2, strides: 0), [5, 3]) }
    invalid { try Self.build(MaxPool1D(padding: .causal), [5, 3]) }
    invalid { try Self.build(Embedding(vocabularySize: 5, dimension: 2, maskIndex: 5), [3]) }
    invalid { try Self.build(RepeatVector(count: 0), [3]) }
    invalid { try Self.build(LayerNorm(epsilon: 0), [3]) }
  }

  // MARK: - Parameters

  @Test func parameterNamesLayoutsAndInitialisation() throws {
    let store = ParameterStore<Float>()
    try Self.build(Dense(units: 40), [30], store: store, name: "layers.0")
    try Self.build(Conv1D(filters: 20, kernelSize: 3), [10, 16], store: store, name: "layers.1")
    try Self.build(Embedding(vocabularySize: 50, dimension: 8), [6], store: store, name: "layers.2")
    try Self.build(LayerNorm(), [4, 6], store: store, name: "layers.3")
    try Self.build(Dense(units: 3, useBias: false), [4], store: store, name: "layers.4")
    try Self.build(TimeDistributed(Dense(units: 2)), [4, 5], store: store, name: "layers.5")
    #expect(store.parameters.map(\.name) == [
      "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.2.weight",
      "layers.3.weight", "layers.3.bias", "layers.4.weight", "layers.5.weight", "layers.5.bias",
    ])
    #expect(store.parameters.map(\.shape) == [[40, 30], [40], [20, 16, 3], [20], [50, 8], [6], [6], [3, 4], [2, 5], [2]])

    func values(_ name: String) -> [Float] { store.value(of: store[name]!).scalars }
    // Glorot-uniform limits with Keras's fans: Dense (in, out); Conv1D (C*K, F*K)
    let denseLimit: Float = (6.0 / 70.0).squareRoot()  // fans 30, 40
    let convLimit: Float = (6.0 / 108.0).squareRoot()  // fans 16 * 3, 20 * 3
    #expect(values("layers.0.weight").allSatisfy { abs($0) <= denseLimit })
    #expect(values("layers.0.weight").map(abs).max()! > 0.9 * denseLimit)
    #expect(values("layers.1.weight").allSatisfy { abs($0) <= convLimit })
    #expect(values("layers.1.weight").map(abs).max()! > 0.9 * convLimit)
    #expect(values("layers.0.bias").allSatisfy { $0 == 0 } && values("layers.1.bias").allSatisfy { $0 == 0 })
    #expect(values("layers.2.weight").allSatisfy { abs($0) <= 0.05 } && values("layers.2.weight").contains { $0 != 0 })
    #expect(values("layers.3.weight").allSatisfy { $0 == 1 } && values("layers.3.bias").allSatisfy { $0 == 0 })
  }

  @Test func kinds() {
    let kinds: [String] = [
      Dense(units: 1).kind, Embedding(vocabularySize: 2, dimension: 1).kind, Dropout(rate: 0.1).kind,
      RepeatVector(count: 1).kind, Flatten().kind, TimeDistributed(Dense(units: 1)).kind,
      Conv1D(filters: 1, kernelSize: 1).kind, MaxPool1D().kind, GlobalAveragePooling1D().kind,
      GlobalMaxPooling1D().kind, LayerNorm().kind,
    ]
    #expect(kinds == [
      "dense", "embedding", "dropout", "repeat_vector", "flatten", "time_distributed", "conv1d",
      "max_pooling1d", "global_average_pooling1d", "global_max_pooling1d", "layer_normalization",
    ])
  }

  // MARK: - Dropout

  @Test func dropoutStatistics() throws {
    for rate in [0.1, 0.5, 0.8] {
      let layer = Dropout(rate: rate)
      try Self.build(layer, [100, 100])
      let x = Tensor<Float>(shape: [4, 100, 100], repeating: 2)
      let y = layer.forward(x, context: LayerContext(training: true, seed: 42))
      let n = Double(x.count), zeros = Double(y.scalars.filter { $0 == 0 }.count)
      // 40,000 Bernoulli draws: the standard deviation of the fraction is <= 0.0025
      #expect(abs(zeros / n - rate) < 0.01, "rate \(rate): zeroed \(zeros / n)")
      let kept = Float(2 / (1 - rate))
      #expect(y.scalars.allSatisfy { $0 == 0 || abs($0 - kept) <= 1e-5 * kept }, "survivors scaled by 1/(1-rate)")
      let mean = y.scalars.reduce(0.0) { $0 + Double($1) } / n
      #expect(abs(mean - 2) < 0.05, "expectation preserved: \(mean)")
      // backward uses the same mask
      let dX = layer.backward(Tensor(shape: x.shape, repeating: 1))
      #expect(zip(dX.scalars, y.scalars).allSatisfy { $0.0 == $0.1 / 2 })
      // inference: the identity, in both directions
      let z = layer.forward(x, context: LayerContext(training: false, seed: 42))
      #expect(z == x)
      let g = Self.random([4, 100, 100])
      #expect(layer.backward(g) == g)
    }
  }

  @Test func dropoutIsReproducibleAndAdvancesTheGenerator() throws {
    let layer = Dropout(rate: 0.5)
    try Self.build(layer, [50])
    let x = Tensor<Float>(shape: [2, 50], repeating: 1)
    let a = layer.forward(x, context: LayerContext(training: true, seed: 7))
    let b = layer.forward(x, context: LayerContext(training: true, seed: 7))
    #expect(a == b)
    let context = LayerContext<Float>(training: true, seed: 7)
    let first = layer.forward(x, context: context), second = layer.forward(x, context: context)
    #expect(first == a && first != second)
  }

  // MARK: - Masks

  @Test func globalPoolingHonoursTheMask() throws {
    // x[b, t, c] = 10 * t + c; padded steps hold large values that must not leak in
    let B = 2, T = 4, C = 2
    var x = Tensor<Float>(shape: [B, T, C])
    for b in 0..<B { for t in 0..<T { for c in 0..<C { x[b, t, c] = Float(10 * t + c) } } }
    x[0, 3, 0] = 1000
    x[0, 3, 1] = 1000
    let mask = Tensor<Float>(shape: [B, T], scalars: [1, 1, 1, 0, 1, 1, 1, 1])

    let average = GlobalAveragePooling1D()
    try Self.build(average, [T, C])
    let context = LayerContext<Float>(mask: mask)
    let ya = average.forward(x, context: context)
    // row 0: mean of steps 0...2 = 10 + c;  row 1: mean of all four = 15 + c
    #expect(ya.scalars == [10, 11, 15, 16])
    #expect(context.mask == nil, "the time axis is gone, so is the mask")
    let dA = average.backward(Tensor(shape: [B, C], repeating: 1))
    #expect(dA[0, 3, 0] == 0 && dA[0, 0, 0] == Float(1) / 3 && dA[1, 3, 1] == 0.25)

    let maximum = GlobalMaxPooling1D()
    try Self.build(maximum, [T, C])
    let context2 = LayerContext<Float>(mask: mask)
    let ym = maximum.forward(x, context: context2)
    #expect(ym.scalars == [20, 21, 30, 31])
    #expect(context2.mask == nil)
    let dM = maximum.backward(Tensor(shape: [B, C], repeating: 1))
    #expect(dM[0, 2, 0] == 1 && dM[0, 3, 0] == 0 && dM[1, 3, 1] == 1)
    #expect(dM.scalars.reduce(0, +) == 4)

    // without a mask every step counts
    #expect(maximum.forward(x, context: LayerContext()).scalars == [1000, 1000, 30, 31])

    // a fully padded row gives zeros, not NaN
    let allPadded = Tensor<Float>(shape: [B, T], scalars: [0, 0, 0, 0, 1, 1, 1, 1])
    let yz = average.forward(x, context: LayerContext(mask: allPadded))
    #expect(yz.scalars[0] == 0 && yz.scalars[1] == 0 && yz.scalars[2] == 15)
    #expect(maximum.forward(x, context: LayerContext(mask: allPadded)).scalars == [0, 0, 30, 31])
  }

  @Test func masksPassThroughPerStepLayersAndAreClearedByOthers() throws {
    let mask = Tensor<Float>(shape: [2, 5], scalars: [1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
    func after<L: Layer>(_ layer: L, _ shape: [Int]) throws -> Tensor<Float>? where L.Scalar == Float {
      try Self.build(layer, Array(shape.dropFirst()))
      let context = LayerContext<Float>(mask: mask)
      _ = layer.forward(Self.random(shape), context: context)
      return context.mask
    }
    #expect(try after(Dense(units: 3), [2, 5, 4]) == mask)
    #expect(try after(LayerNorm(), [2, 5, 4]) == mask)
    #expect(try after(Dropout(rate: 0.5), [2, 5, 4]) == mask)
    #expect(try after(TimeDistributed(Dense(units: 3)), [2, 5, 4]) == mask)
    #expect(try after(Conv1D(filters: 2, kernelSize: 2), [2, 5, 4]) == nil)
    #expect(try after(MaxPool1D(), [2, 5, 4]) == nil)
    #expect(try after(Flatten(), [2, 5, 4]) == nil)
  }

  // MARK: - Embedding

  @Test func embeddingLooksUpRowsAndSetsTheMask() throws {
    let layer = Embedding(vocabularySize: 4, dimension: 2, maskIndex: 0)
    let store = ParameterStore<Float>()
    try Self.build(layer, [3], store: store, name: "emb")
    let w = store["emb.weight"]!
    store.setValue(Tensor(shape: [4, 2], scalars: [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]), for: w)
    let ids = Tensor<Float>(shape: [2, 3], scalars: [1, 3, 0, 2, 0, 0])
    try layer.validate(ids)
    let context = LayerContext<Float>(mask: Tensor(shape: [2, 3], repeating: 1))
    let y = layer.forward(ids, context: context)
    #expect(y.scalars == [1, 1.5, 3, 3.5, 0, 0.5, 2, 2.5, 0, 0.5, 0, 0.5])
    #expect(context.mask?.scalars == [1, 1, 0, 1, 0, 0])
    // scatter-add, repeated ids accumulate; the masked id's row gets gradient too (as Keras)
    let dX = layer.backward(Tensor(shape: [2, 3, 2], scalars: (1...12).map(Float.init)))
    #expect(dX.shape == [2, 3] && dX.scalars.allSatisfy { $0 == 0 })
    let expected: [Float] = [25, 28, 1, 2, 7, 8, 3, 4]  // row 0 = dy[2] + dy[4] + dy[5]
    #expect(store.gradient(of: w).scalars == expected)
    // without maskIndex the context mask is left alone
    let plain = Embedding(vocabularySize: 4, dimension: 2)
    try Self.build(plain, [3])
    let context2 = LayerContext<Float>()
    _ = plain.forward(ids, context: context2)
    #expect(context2.mask == nil)
  }

  @Test func embeddingValidatesIds() throws {
    let layer = Embedding(vocabularySize: 5, dimension: 2)
    try Self.build(layer, [3])
    let validator: any InputValidatingLayer<Float> = layer
    try validator.validate(Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 0]))
    for bad: Float in [5, -1, 1.5, .nan, .infinity] {
      #expect(throws: RecurrentError.self) {
        try layer.validate(Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, bad, 0]))
      }
    }
    #expect(throws: RecurrentError.invalidData(
      "Embedding(vocabularySize: 5, dimension: 2): input[1, 1] = 7.0 is not a token id in 0..<5")) {
      try layer.validate(Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 7, 0]))
    }
    #expect(throws: RecurrentError.self) { try layer.validate(Tensor(shape: [6], repeating: 0)) }
  }

  // MARK: - TimeDistributed

  @Test func timeDistributedEqualsPerStepApplication() throws {
    // TimeDistributed(Dense) == Dense on [B, T, F] (Dense already acts per step), same weights
    let wrapped = TimeDistributed(Dense(units: 3, activation: .tanh))
    let plain = Dense(units: 3, activation: .tanh)
    let s1 = ParameterStore<Float>(), s2 = ParameterStore<Float>()
    try Self.build(wrapped, [4, 5], store: s1, seed: 9)
    try Self.build(plain, [4, 5], store: s2, seed: 9)
    #expect(s1.params == s2.params)
    let x = Self.random([2, 4, 5])
    let a = wrapped.forward(x, context: LayerContext()), b = plain.forward(x, context: LayerContext())
    #expect(a == b)
    let dY = Self.random([2, 4, 3], seed: 4)
    #expect(wrapped.backward(dY) == plain.backward(dY))
    #expect(s1.grads == s2.grads)
  }

  // MARK: - Activations

  @Test func denseMatchesAHandComputation() throws {
    let layer = Dense(units: 2, activation: .relu)
    let store = ParameterStore<Float>()
    try Self.build(layer, [3], store: store, name: "d")
    store.setValue(Tensor(shape: [2, 3], scalars: [1, 2, 3, -1, -2, -3]), for: store["d.weight"]!)
    store.setValue(Tensor(shape: [2], scalars: [0.5, 1]), for: store["d.bias"]!)
    let y = layer.forward(Tensor(shape: [1, 3], scalars: [1, 1, 1]), context: LayerContext())
    #expect(y.scalars == [6.5, 0])
    let softmax = Dense(units: 3, activation: .softmax)
    try Self.build(softmax, [4])
    let p = softmax.forward(Self.random([5, 4]) , context: LayerContext())
    for r in 0..<5 { #expect(abs(p.scalars[(r * 3)..<(r * 3 + 3)].reduce(0, +) - 1) < 1e-6) }
  }
}
